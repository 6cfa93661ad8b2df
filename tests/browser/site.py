"""A seeded instance for the page-by-page browser checks (layout, accessibility): members of every role,
ideas of ours and an ally's copy with votes from both parties, threaded comments, a report, a moderation
decision with an appeal, and the ally's record as federation keeps it. `pages()` lists every HTML page
(GET routes of the app, their parameters filled from the seed) with the roles that may open it."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from tests.conftest import TEST_PASSWORD

ROLES = ("visitor", "member", "moderator", "admin")
HANDLES = {"member": "amelie", "moderator": "modmarie", "admin": "adminanne"}
ALLY_HOST = "jardins.example"
ALLY_NAME = "Parti des Jardins"
# Routes that answer no HTML page: machine documents, files, redirects of old links.
NOT_PAGES = {"static", "core.theme", "core.logo", "core.favicon", "accounts.export", "ideas.comment"}
NOT_PAGE_PREFIXES = ("federation.", "federation_content.", "api-docs.", "api.")


@dataclass
class Seed:
    idea_id: int
    ally_idea_id: int
    draft_id: int
    comment_id: int
    action_id: int
    member_ids: dict[str, int]
    event_id: int = 0
    slug: str = ""


def seed(app) -> Seed:
    from coopol.accounts.models import Member
    from coopol.accounts.services import register_member
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.models import Ally
    from coopol.ideas.comments import post_comment
    from coopol.ideas.services import create_idea
    from coopol.ideas.votes import cast_vote
    from coopol.moderation.services import appeal_action, file_report, take_action

    with app.test_request_context(), unit_of_work():
        members = {role: register_member(handle, f"{handle}@example.org", TEST_PASSWORD, role=role,
                                         display_name=handle.capitalize(), bypass_policy=True)
                   for role, handle in HANDLES.items()}
        jean = register_member("jean", "jean@example.org", TEST_PASSWORD, display_name="Jean Dupont-Delacroix",
                               bypass_policy=True)
        db.session.add(Ally(host=ALLY_HOST, base_url=f"https://{ALLY_HOST}", group_id=f"https://{ALLY_HOST}/g/ideas",
                            group_inbox=f"https://{ALLY_HOST}/g/ideas/inbox", name=ALLY_NAME, outgoing="accepted",
                            incoming="accepted", consecutive_failures=0, last_error=""))
        remote = Member(handle=f"rose@{ALLY_HOST}", host=ALLY_HOST, ap_id=f"https://{ALLY_HOST}/u/rose",
                        display_name="Rose", session_token="x")
        db.session.add(remote)
        db.session.flush()
        idea = create_idea(members["member"], title="Free night buses on every main line of the metropolitan area",
                           body="Buses every **night**, from midnight to five.\n\n"
                                "A long link: https://transport.example/very/long/path/that/does/not/wrap/easily/at/all",
                           tags=["transport", "night", "workers"], scope="fr-paris")
        ally_idea = create_idea(remote, title="Community gardens on every roof", body="Green roofs for all.",
                                tags=["ecology"])
        ally_idea.origin_host, ally_idea.origin_name = ALLY_HOST, ALLY_NAME
        ally_idea.ap_id = ally_idea.url = f"https://{ALLY_HOST}/ideas/1"
        draft = create_idea(members["member"], title="A draft about bicycles", body="Later.", publish=False)
        for voter, value in ((jean, "support"), (members["moderator"], "support"), (remote, "oppose")):
            cast_vote(voter, idea, value)
        cast_vote(jean, ally_idea, "support")
        first = post_comment(jean, idea, body="Good for night workers.", stance="for")
        reply = post_comment(remote, idea, body="Chez nous aussi, ça marche.", stance="for", parent_id=first.id)
        post_comment(members["moderator"], idea, body="Costs?", stance="against", parent_id=reply.id)
        spam = post_comment(jean, idea, body="Buy my product", stance="neutral")
        file_report(members["member"], "comment", spam.id, "spam", "An advert.")
        doubtful = post_comment(jean, idea, body="Off topic remark", stance="neutral")
        action = take_action(members["moderator"], "remove", "comment", doubtful.id, "Off topic.")
        appeal_action(jean, action.id, "It was on topic.")
        from datetime import timedelta

        from coopol.core.time import utcnow
        from coopol.events import rsvps
        from coopol.events.services import create_event

        gathering = create_event(members["member"], title="Night bus rally at the town hall, all welcome",
                                 description="Bring **banners**.", starts_at=utcnow() + timedelta(days=3),
                                 ends_at=utcnow() + timedelta(days=3, hours=2), timezone="Europe/Paris",
                                 mode="hybrid", place={"name": "Town hall", "address": "1 Main Street, Paris"},
                                 online_url="https://meet.example.org/rally", capacity=1, scope="fr-paris")
        rsvps.rsvp(gathering, jean, public=True)
        rsvps.rsvp(gathering, members["moderator"])  # waitlisted
        from coopol.groups.memberships import join_group
        from coopol.groups.services import create_group

        group = create_group(members["member"], name="Night workers of the eleventh arrondissement",
                             description="We meet **monthly**.", kind="territorial", scope="fr-paris")
        join_group(jean, group)
        from coopol.notifications.blocks import block_member

        block_member(members["member"], "jean")  # the settings page lists a block
        seeded = Seed(idea.id, ally_idea.id, draft.id, first.id, action.id,
                      {**{role: m.id for role, m in members.items()}, "jean": jean.id}, gathering.id, group.slug)
    return seeded


def _values(s: Seed, role: str) -> dict[str, list[dict]]:
    """Samples for each route parameter, by name."""
    return {
        "idea_id": [{"idea_id": s.idea_id}, {"idea_id": s.ally_idea_id}]
        + ([{"idea_id": s.draft_id}] if role == "member" else []),
        "comment_id": [{"comment_id": s.comment_id}],
        "handle": [{"handle": HANDLES["member"]}],
        "target_type,target_id": [{"target_type": "idea", "target_id": s.idea_id},
                                  {"target_type": "comment", "target_id": s.comment_id},
                                  {"target_type": "member", "target_id": s.member_ids["jean"]}],
        "action_id": [{"action_id": s.action_id}],
        "event_id": [{"event_id": s.event_id}],
        "token": [{"token": "not-a-token"}],
        "slug": [{"slug": s.slug}],  # the reset and confirmation pages say the link is not valid
        "host": [{"host": ALLY_HOST}],  # the confirmation of an alliance's revocation
        "key": [{"key": key} for key in ("allies", "followers", "moderation", "bridging", "participation")],
    }


def pages(app, s: Seed, role: str) -> list[str]:
    """Every HTML page's path (GET routes, parameters from the seed), plus the error pages."""
    paths = []
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if ("GET" not in rule.methods or rule.endpoint in NOT_PAGES or rule.endpoint.startswith(NOT_PAGE_PREFIXES)
                or "_api." in rule.endpoint or rule.rule.endswith((".atom", ".ics", ".json"))):
            continue
        key = ",".join(sorted(rule.arguments, key=lambda a: (a != "target_type", a)))
        if not rule.arguments:
            samples = [{}]
        elif key in _values(s, role):
            samples = _values(s, role)[key]
        else:
            warnings.warn(f"No sample values for {rule.rule}: add them to tests/browser/site.py", stacklevel=2)
            continue
        paths += [adapter.build(rule.endpoint, values) for values in samples]
    # A tag's and a territory's ideas and gatherings (their follow buttons): the list pages with a filter.
    topics = ["/ideas?tag=transport&scope=fr-paris", "/events?scope=fr-paris"]
    return sorted(set(paths)) + topics + ["/no/such/page", "/ideas/999999"]


def log_in(page, role: str) -> None:
    if role == "visitor":
        return
    page.goto("/login")
    page.get_by_label("Handle or e-mail address").fill(HANDLES[role])
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("me").wait_for(state="attached")
