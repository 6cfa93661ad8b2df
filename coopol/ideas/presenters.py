"""What people see of ideas and comments: plain dicts shared by the JSON API (dumped by schemas.py) and
the pages. Lists batch-load tags, tallies and the viewer's votes: a bounded number of queries per page."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.accounts.services import author_view
from coopol.core.parties import party_names
from coopol.extensions import db
from coopol.ideas.extend import idea_fields
from coopol.ideas.guards import content_visible, is_author, is_moderator
from coopol.ideas.in_groups import group_of, load_groups
from coopol.ideas.models import Comment, CommentVote, Idea, IdeaState, IdeaTag, IdeaTally, IdeaVote, Tag
from coopol.ideas.queries import member_votes
from coopol.ideas.scopes import scope_tree
from coopol.ideas.votes import my_vote


def _viewer_id(viewer: Member | None) -> int | None:
    return getattr(viewer, "id", None) if viewer is not None and getattr(viewer, "is_authenticated", False) else None


def tallies_hidden(idea: Idea) -> bool:
    return bool(current_app.config.get("HIDE_TALLIES_WHILE_OPEN")) and idea.state == IdeaState.PUBLISHED


def reached_threshold(idea: Idea) -> bool:
    threshold = int(current_app.config.get("SUPPORT_THRESHOLD") or 0)
    return threshold > 0 and idea.support_count >= threshold


def tally_view(idea: Idea, tallies: list[IdeaTally], my_vote: str | None = None) -> dict[str, Any]:
    if tallies_hidden(idea):
        return {"support": None, "oppose": None, "by_instance": {}, "parties": {}, "hidden": True, "my_vote": my_vote,
                "reached_threshold": None, "threshold": None}
    threshold = int(current_app.config.get("SUPPORT_THRESHOLD") or 0) or None
    counted = [t for t in sorted(tallies, key=lambda t: t.host) if t.support or t.oppose]
    return {
        "support": idea.support_count,
        "oppose": idea.oppose_count,
        "by_instance": {t.host: {"support": t.support, "oppose": t.oppose} for t in counted},
        "parties": party_names(t.host for t in counted),
        "hidden": False,
        "my_vote": my_vote,
        "reached_threshold": reached_threshold(idea),
        "threshold": threshold,
    }


OUTSIDE_VOTES = "coopol.ideas.outside_votes"


def register_outside_votes(app: Any, lookup: Any) -> None:
    """`lookup(target_type, ids) -> {id: {"support": n, "oppose": n}}`: votes from outside the parties (the
    fediverse's likes, kept by federation), shown apart from the tally and never counted in it."""
    app.extensions[OUTSIDE_VOTES] = lookup


def outside_votes(target_type: str, ids: list[int]) -> dict[int, dict[str, int]]:
    lookup = current_app.extensions.get(OUTSIDE_VOTES)
    return lookup(target_type, ids) if lookup is not None and ids else {}


def idea_view(idea: Idea, viewer: Member | None, *, tags: list[str], tallies: list[IdeaTally],
              my_vote: str | None, fediverse: dict[str, int] | None = None) -> dict[str, Any]:
    visible = content_visible(idea, viewer)
    local_url = current_app.config["URL"] + url_for("ideas.show", idea_id=idea.id)
    tally = tally_view(idea, tallies, my_vote)
    return {
        "id": idea.id,
        "ap_id": idea.ap_id or local_url,
        "url": idea.url or local_url,
        "title": idea.title if visible else "",
        "body": idea.body if visible else "",
        "body_html": idea.body_html if visible else "",
        "tags": tags,
        "scope": idea.scope,
        "scope_name": scope_tree().name(idea.scope),
        "group": group_of(idea),
        "language": idea.language,
        "state": idea.state,
        "withdrawn_reason": idea.withdrawn_reason,
        "withdrawn_explanation": idea.withdrawn_explanation,
        "answer": idea.answer,
        "answer_html": idea.answer_html,
        "answered_at": idea.answered_at,
        "author": author_view(idea.author),
        "origin": {"host": idea.origin_host or current_app.config["SERVER_HOST"],
                   "name": idea.origin_name or current_app.config["NAME"]},
        "created_at": idea.created_at,
        "published_at": idea.published_at,
        "updated_at": idea.updated_at,
        "edited": idea.edited_at is not None,
        "edited_at": idea.edited_at,
        "comment_count": idea.comment_count,
        "tally": tally,
        "fediverse_votes": fediverse or {"support": 0, "oppose": 0},
        "my_vote": my_vote,
        "reached_threshold": tally["reached_threshold"],
        "hidden": idea.is_hidden,
        "removed": idea.is_removed,
        "locked": idea.is_locked,
        "pinned": idea.is_pinned,
        "content_visible": visible,
        "is_mine": is_author(idea, viewer),
    }


def idea_views(ideas: list[Idea], viewer: Member | None) -> list[dict[str, Any]]:
    """Views of many ideas: three batch queries whatever their number."""
    if not ideas:
        return []
    ids = [idea.id for idea in ideas]
    load_groups(ideas)
    tags: dict[int, list[str]] = defaultdict(list)
    for idea_id, name in db.session.execute(select(IdeaTag.idea_id, Tag.name).join(Tag)
                                            .where(IdeaTag.idea_id.in_(ids)).order_by(Tag.name)):
        tags[idea_id].append(name)
    tallies: dict[int, list[IdeaTally]] = defaultdict(list)
    for tally in db.session.scalars(select(IdeaTally).where(IdeaTally.idea_id.in_(ids))):
        tallies[tally.idea_id].append(tally)
    mine: dict[int, str] = {}
    viewer_id = _viewer_id(viewer)
    if viewer_id is not None:
        mine = dict(db.session.execute(select(IdeaVote.idea_id, IdeaVote.value)
                                       .where(IdeaVote.idea_id.in_(ids), IdeaVote.member_id == viewer_id)).all())
    party_names([idea.author.host for idea in ideas] + [t.host for ts in tallies.values() for t in ts])  # one batch
    outside = outside_votes("idea", ids)
    views = [idea_view(idea, viewer, tags=tags[idea.id], tallies=tallies[idea.id], my_vote=mine.get(idea.id),
                       fediverse=outside.get(idea.id)) for idea in ideas]
    for name, load in idea_fields().items():  # fields other packages add (extend.py), one batch each
        found = load(ideas, viewer)
        for view in views:
            view[name] = found.get(view["id"])
    return views


def my_part_of_ideas(items: list[dict[str, Any]], member: Member) -> dict[int, dict[str, Any]]:
    """The items of a list of ideas as the API dumps it for visitors (the shared, cached one:
    coopol/core/cache.py) that differ for the member, by position: those they voted on, from one small
    query. That is all a plain member sees differently there (hidden and removed ideas are listed to
    moderators only, who never share; `is_mine` is for pages)."""
    mine = member_votes(member.id, [item["id"] for item in items])
    return {position: {**item, "my_vote": mine[item["id"]], "tally": {**item["tally"], "my_vote": mine[item["id"]]}}
            for position, item in enumerate(items) if item["id"] in mine}


def idea_tally(idea: Idea, viewer: Member | None) -> dict[str, Any]:
    """The tally alone (what a vote answers): two small queries instead of the whole idea's view."""
    tallies = list(db.session.scalars(select(IdeaTally).where(IdeaTally.idea_id == idea.id)))
    return tally_view(idea, tallies, my_vote(idea, viewer))


def one_idea_view(idea: Idea, viewer: Member | None) -> dict[str, Any]:
    view = idea_views([idea], viewer)[0]
    if idea.answered_by_id is not None:
        view["answered_by"] = author_view(idea.answered_by)
    return view


def comment_view(comment: Comment, viewer: Member | None, my_vote: str | None = None) -> dict[str, Any]:
    visible = not comment.is_deleted and content_visible(comment, viewer)
    local_url = current_app.config["URL"] + url_for("ideas.show", idea_id=comment.idea_id) + f"#comment-{comment.id}"
    return {
        "id": comment.id,
        "ap_id": comment.ap_id or current_app.config["URL"] + url_for("ideas.comment", comment_id=comment.id),
        "url": local_url,
        "idea_id": comment.idea_id,
        "parent_id": comment.parent_id,
        "depth": comment.depth,
        "stance": comment.stance,
        "body": comment.body if visible else "",
        "body_html": comment.body_html if visible else "",
        "author": author_view(comment.author) if not comment.is_deleted else None,
        "created_at": comment.created_at,
        "edited": comment.edited_at is not None,
        "edited_at": comment.edited_at,
        "deleted": comment.is_deleted,
        "hidden": comment.is_hidden,
        "removed": comment.is_removed,
        "up": comment.up_count,
        "down": comment.down_count,
        "my_vote": my_vote,
        "content_visible": visible,
        "is_mine": is_author(comment, viewer),
        "can_moderate": is_moderator(viewer),
    }


def comment_views(comments: list[Comment], viewer: Member | None) -> list[dict[str, Any]]:
    mine: dict[int, str] = {}
    viewer_id = _viewer_id(viewer)
    if viewer_id is not None and comments:
        mine = dict(db.session.execute(
            select(CommentVote.comment_id, CommentVote.value)
            .where(CommentVote.comment_id.in_([c.id for c in comments]), CommentVote.member_id == viewer_id)).all())
    party_names(c.author.host for c in comments)  # one batch for the page's authors
    return [comment_view(c, viewer, mine.get(c.id)) for c in comments]
