"""What people see of the bridging ranking: the `bridging{score, parties}` of an idea's view (API and pages)
and the idea page's section that says why the idea ranks where it does, with its chart per party."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext

from coopol.bridging.chart import bars, render_bars
from coopol.bridging.models import IdeaBridging
from coopol.bridging.services import scores_for
from coopol.bridging.sides import sides_similar
from coopol.core.parties import party_names
from coopol.ideas.presenters import tallies_hidden


def bridging_field(ideas: list, viewer: Any) -> dict[int, dict[str, Any]]:
    """{idea_id: {score, parties}} for the ranked ones (none while the instance hides counts)."""
    rows = scores_for([idea.id for idea in ideas if not tallies_hidden(idea)])
    return {idea_id: {"score": round(row.score, 4), "parties": row.parties} for idea_id, row in rows.items()}


def sort_note() -> str:
    return ngettext("Ideas supported by people on both sides of the main divide and by members of several parties"
                    " first; only ideas with at least %(num)d vote are ranked.",
                    "Ideas supported by people on both sides of the main divide and by members of several parties"
                    " first; only ideas with at least %(num)d votes are ranked.",
                    int(current_app.config["BRIDGING_MIN_VOTES"]))


def explanation(row: IdeaBridging) -> str:
    """"supported by members of 3 parties; support is similar on both sides of the main divide"."""
    if row.parties:
        parts = [ngettext("supported by members of %(num)d party", "supported by members of %(num)d parties",
                          row.parties)]
    else:
        parts = [_("no party's voters mostly support it")]
    (side_support, side_votes) = zip(*row.sides, strict=True)
    similar = sides_similar(side_support, side_votes)
    if similar is True:
        parts.append(_("support is similar on both sides of the main divide"))
    elif similar is False:
        parts.append(_("support differs between the two sides of the main divide"))
    return "; ".join(parts)


def section(idea: Any, view: dict, viewer: Any) -> dict[str, Any] | None:
    """The idea page's "Across parties" section; None when there is nothing to say."""
    if view["tally"]["hidden"] or idea.state == "draft":
        return None
    row = scores_for([idea.id]).get(idea.id)
    minimum = int(current_app.config["BRIDGING_MIN_VOTES"])
    if row is None:
        return {"ranked": False, "minimum": minimum}
    names = party_names(row.party_support)
    ordered = sorted(row.party_support.items(), key=lambda item: (-item[1][1], names[item[0]]))
    shown = bars([(names[host], support, votes) for host, (support, votes) in ordered])
    chart = render_bars(shown, _("Support per party"),
                        lambda bar: _("%(share)d %% of %(votes)d", share=bar.share, votes=bar.votes))
    return {"ranked": True, "minimum": minimum, "row": row, "why": explanation(row), "chart": chart,
            "score": round(100 * row.score)}
