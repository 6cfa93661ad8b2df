"""Seeding an example instance in the demo process, through the same domain services as the web, the API
and the CLI (members, ideas, debates, votes, official answers, reports, moderators' decisions, appeals).

Each seeder is idempotent: a member is recognised by their handle, an idea by its title, a comment by its
author and body, a report by its reporter and target, a decision by its kind and target; a vote already
cast is left alone. Each runs as one unit of work per instance (one commit), and what one entry cannot do
(a refusal of a service) is noted as a problem; the others still go in.

To seed something new (groups, gatherings, ...): read it in `seeds.py` (a new `InstanceSeed` field and
section of seed.toml), write a `seed_<things>(instance) -> SeedReport` here, and add it to `SEEDERS`; the
runner calls every seeder in that order, shows one step of its progress bar for each, and prints its summary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from coopol.demo.instances import Instance
from coopol.demo.seeds import ActionSeed, RemoteSeed, TargetSeed

DEMO_PASSWORD = "federate-with-allies"
# Seed accounts are back-dated so that they have the normal limits, not those of accounts under a day old.
ACCOUNT_AGE = timedelta(days=30)


@dataclass
class SeedReport:
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, what: str, number: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + number

    def get(self, what: str) -> int:
        return self.counts.get(what, 0)

    def attempt(self, what: str) -> contextlib.AbstractContextManager:
        """`with report.attempt("comment c1"):` — a domain refusal is noted and the seeding goes on."""
        return _Attempt(self, what)


class _Attempt(contextlib.AbstractContextManager):
    def __init__(self, report: SeedReport, what: str) -> None:
        self.report, self.what = report, what

    def __exit__(self, kind, error, traceback) -> bool:
        from coopol.core.errors import DomainError

        if isinstance(error, DomainError):
            self.report.problems.append(f"{self.what}: {error.message}")
            return True
        return False


def demo_password_hash(instance: Instance) -> str:
    """The demo password's hash, computed once and given to every seed member of every instance."""
    from coopol.accounts.passwords import hash_password

    with instance.app.app_context():
        return hash_password(DEMO_PASSWORD)


def _member(handle: str):
    from coopol.accounts.services import get_member_by_handle

    return get_member_by_handle(handle)


def seed_members(instance: Instance, password_hash: str) -> SeedReport:
    """The seed members with their roles, all with the demo password, their accounts a month old."""
    from coopol.accounts.models import Member
    from coopol.accounts.services import register_member
    from coopol.core.time import utcnow
    from coopol.extensions import db

    report = SeedReport()
    with instance.unit():
        present = set(db.session.scalars(select(Member.handle).where(Member.host.is_(None))))
        created_at = utcnow() - ACCOUNT_AGE
        for seed in instance.seed.members:
            if seed.handle in present:
                continue
            with report.attempt(f"member '{seed.handle}'"):
                member = register_member(seed.handle, seed.email, DEMO_PASSWORD, role=seed.role,
                                         display_name=seed.name, bypass_policy=True, password_hash=password_hash)
                member.created_at = created_at
                report.add("new")
        report.add("members", len(instance.seed.members))
    return report


def _local_ideas() -> dict[str, Any]:
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    return {idea.title: idea for idea in db.session.scalars(select(Idea).where(Idea.origin_host.is_(None)))}


def _comments_of(idea) -> dict[tuple[str, str], Any]:
    from coopol.extensions import db
    from coopol.ideas.models import Comment

    found = db.session.scalars(select(Comment).where(Comment.idea_id == idea.id).order_by(Comment.id))
    return {(c.author.handle, (c.body or "").strip()): c for c in found}


def seed_ideas(instance: Instance) -> SeedReport:
    """Ideas (published), their threads of comments, votes on ideas and comments, official answers."""
    from coopol.ideas.comments import post_comment
    from coopol.ideas.services import answer_idea, create_idea
    from coopol.ideas.votes import cast_comment_vote, cast_vote, current_comment_vote, my_vote

    report = SeedReport()
    seed = instance.seed
    with instance.unit():
        existing = _local_ideas()
        for idea_seed in seed.ideas:
            idea = existing.get(idea_seed.title)
            if idea is None:
                with report.attempt(f"idea '{idea_seed.key}'"):
                    idea = create_idea(_member(idea_seed.author), title=idea_seed.title, body=idea_seed.body,
                                       tags=list(idea_seed.tags), scope=idea_seed.scope, language=seed.language,
                                       publish=True)
                    report.add("ideas_new")
                if idea is None:
                    continue
            report.add("ideas")
            posted = _comments_of(idea)
            ids: dict[str, int] = {}
            for comment in idea_seed.comments:
                found = posted.get((comment.author, comment.body))
                if found is None:
                    if comment.reply_to and comment.reply_to not in ids:
                        continue  # its parent could not be posted
                    with report.attempt(f"comment '{comment.key}' on '{idea_seed.key}'"):
                        found = post_comment(_member(comment.author), idea, body=comment.body, stance=comment.stance,
                                             parent_id=ids.get(comment.reply_to) if comment.reply_to else None)
                        report.add("comments_new")
                    if found is None:
                        continue
                ids[comment.key] = found.id
                for value, voters in (("up", comment.up), ("down", comment.down)):
                    for voter in voters:
                        member = _member(voter)
                        if current_comment_vote(found, member) is None:  # a second cast would withdraw it
                            with report.attempt(f"{value}-vote by {voter} on comment '{comment.key}'"):
                                cast_comment_vote(member, found, value)
                                report.add("votes")
            for value, voters in (("support", idea_seed.support), ("oppose", idea_seed.oppose)):
                for voter in voters:
                    member = _member(voter)
                    if my_vote(idea, member) is None:  # a vote cast earlier stays (the idea may be locked now)
                        with report.attempt(f"vote by {voter} on '{idea_seed.key}'"):
                            cast_vote(member, idea, value)
                            report.add("votes")
            answer = idea_seed.answer
            if answer and idea.state == "published":
                with report.attempt(f"answer on '{idea_seed.key}'"):
                    answer_idea(_member(answer.by), idea, answer.state, answer.text)
    return report


def seed_moderation(instance: Instance) -> SeedReport:
    """The moderation the public log shows: a comment against the charter, reports (one left open for the
    queue), decisions with their reasons (hide, lock, suspend), and the appeal of the member concerned."""
    from coopol.core.time import utcnow
    from coopol.extensions import db
    from coopol.ideas.comments import post_comment
    from coopol.moderation.models import ModerationAction
    from coopol.moderation.services import appeal_action, file_report, take_action

    report = SeedReport({"reports": 0, "actions": 0, "appeals": 0})
    moderation = instance.seed.moderation
    with instance.unit():
        ideas = _local_ideas()
        by_key = {i.key: ideas.get(i.title) for i in instance.seed.ideas}
        flagged: dict[str, Any] = {}
        for comment in moderation.comments:
            idea = by_key.get(comment.idea)
            if idea is None:
                continue
            found = _comments_of(idea).get((comment.author, comment.body))
            if found is None:
                with report.attempt(f"comment '{comment.key}'"):
                    found = post_comment(_member(comment.author), idea, body=comment.body, stance=comment.stance)
            if found is not None:
                flagged[comment.key] = found

        def resolve(target: TargetSeed) -> tuple[str, Any] | None:
            if target.kind == "member":
                return "member", _member(target.member)
            if target.kind == "comment" and target.idea is None:
                found = flagged.get(target.comment)
                return ("comment", found) if found is not None else None
            idea_seed = next(i for i in instance.seed.ideas if i.key == target.idea)
            idea = by_key.get(target.idea)
            if idea is None:
                return None
            if target.kind == "idea":
                return "idea", idea
            body = next(c.body for c in idea_seed.comments if c.key == target.comment)
            author = next(c.author for c in idea_seed.comments if c.key == target.comment)
            found = _comments_of(idea).get((author, body))
            return ("comment", found) if found is not None else None

        from coopol.moderation.models import Report

        for entry in moderation.reports:
            aimed = resolve(entry.target)
            if aimed is None:
                continue
            reporter = _member(entry.by)
            kind, target = aimed
            if db.session.scalar(select(Report.id).where(Report.reporter_id == reporter.id,
                                                         Report.target_type == kind,
                                                         Report.target_id == target.id)):
                continue
            with report.attempt(f"report by {entry.by}"):
                file_report(reporter, kind, target.id, entry.reason, entry.text)
                report.add("reports")
        for entry in moderation.actions:
            aimed = resolve(entry.target)
            if aimed is None:
                continue
            kind, target = aimed
            action = db.session.scalar(select(ModerationAction).where(
                ModerationAction.action == entry.action, ModerationAction.target_type == kind,
                ModerationAction.target_id == target.id).order_by(ModerationAction.id.desc()))
            if action is None:
                with report.attempt(f"{entry.action} by {entry.by}"):
                    until = utcnow() + timedelta(days=entry.days) if entry.days else None
                    action = take_action(_member(entry.by), entry.action, kind, target.id, entry.reason, until=until)
                    report.add("actions")
            if action is not None and entry.appeal and action.appeal is None:
                _appeal(report, entry, action, appeal_action)
    return report


def _appeal(report: SeedReport, entry: ActionSeed, action, appeal_action: Callable) -> None:
    from coopol.accounts.models import Member
    from coopol.extensions import db

    member = db.session.get(Member, action.affected_member_id)
    with report.attempt(f"appeal of the {entry.action}"):
        appeal_action(member, action.id, entry.appeal)
        report.add("appeals")


# Called in this order for each instance before its servers start (see the module's docstring).
def seed_groups(instance: Instance) -> SeedReport:
    """Local groups: started by their organiser, joined by their members (requests approved), co-organisers
    named. A group is recognised by its name, a membership by its member."""
    from coopol.extensions import db
    from coopol.groups import guards, memberships
    from coopol.groups.models import Group
    from coopol.groups.services import create_group

    report = SeedReport()
    with instance.unit():
        existing = {g.name: g for g in db.session.scalars(select(Group).where(Group.origin_host.is_(None)))}
        for entry in instance.seed.groups:
            group = existing.get(entry.name)
            organiser = _member(entry.organiser)
            if group is None:
                with report.attempt(f"group '{entry.key}'"):
                    group = create_group(organiser, name=entry.name, description=entry.description,
                                         kind=entry.kind, scope=entry.scope, joining=entry.joining)
                    report.add("groups_new")
                if group is None:
                    continue
            for handle in entry.members:
                member = _member(handle)
                membership = guards.membership_of(group, member)
                with report.attempt(f"{handle} in group '{entry.key}'"):
                    if membership is None:
                        membership = memberships.join_group(member, group)
                        report.add("memberships_new")
                    if membership.state == "pending":
                        memberships.approve_membership(organiser, group, member)
                    if handle in entry.organisers and membership.role != "organiser":
                        memberships.name_organiser(organiser, group, member)
    return report


def seed_gatherings(instance: Instance) -> SeedReport:
    """Gatherings, upcoming (people going, a waitlist where the places run out) and past (with a report).
    Dates are counted from today, so the demo always has something coming. A gathering is recognised by
    its title, an RSVP by its person."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from coopol.core.time import utcnow
    from coopol.events import rsvps
    from coopol.events.models import Event
    from coopol.events.services import create_event, file_report
    from coopol.extensions import db
    from coopol.groups.models import Group

    report = SeedReport()
    with instance.unit():
        existing = {e.title: e for e in db.session.scalars(select(Event).where(Event.origin_host.is_(None)))}
        slugs = {g.name: g.slug for g in db.session.scalars(select(Group).where(Group.origin_host.is_(None)))}
        groups = {g.key: slugs.get(g.name) for g in instance.seed.groups}
        for entry in instance.seed.gatherings:
            event = existing.get(entry.title)
            host = _member(entry.host)
            if event is None:
                zone = ZoneInfo(entry.timezone)
                day = (utcnow().astimezone(zone) + timedelta(days=entry.days)).date()
                start = datetime.combine(day, time.fromisoformat(entry.time), tzinfo=zone)
                with report.attempt(f"gathering '{entry.key}'"):
                    event = create_event(
                        host, title=entry.title, description=entry.description, starts_at=start,
                        ends_at=start + timedelta(hours=entry.hours), timezone=entry.timezone, mode=entry.mode,
                        place={"name": entry.place, "address": entry.address}, online_url=entry.online_url,
                        capacity=entry.capacity, group=groups.get(entry.group) if entry.group else None,
                        language=instance.seed.language)
                    report.add("gatherings_new")
                if event is None:
                    continue
            for handle in entry.going:
                member = _member(handle)
                if rsvps.status_of(event, member) is None:
                    with report.attempt(f"RSVP of {handle} to '{entry.key}'"):
                        rsvps.rsvp(event, member, public=True)
                        report.add("rsvps_new")
            if entry.report and event.reported_at is None:
                with report.attempt(f"report of '{entry.key}'"):
                    file_report(host, event, minutes=entry.report, turnout=entry.turnout)
    return report


SEEDERS: tuple[tuple[str, Callable[[Instance], SeedReport]], ...] = (
    ("ideas, debates and votes", seed_ideas),
    ("reports, decisions and appeals", seed_moderation),
    ("groups and their members", seed_groups),
    ("gatherings and RSVPs", seed_gatherings),
)


def copies_of(instance: Instance, host: str) -> dict[str, Any]:
    """Ideas of the ally `host` that reached this instance, by title."""
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    with instance.app.app_context():
        return {idea.title: idea.id for idea in db.session.scalars(select(Idea).where(Idea.origin_host == host))}


def seed_debate(instance: Instance, entries: list[RemoteSeed], parties: dict[str, Instance]) -> SeedReport:
    """Votes and comments of our members, from home, on the copies of allies' ideas (which must be here)."""
    from coopol.extensions import db
    from coopol.ideas.comments import post_comment
    from coopol.ideas.models import Idea
    from coopol.ideas.votes import cast_vote, my_vote

    report = SeedReport()
    with instance.unit():
        for entry in entries:
            party = parties[entry.party]
            title = next(i.title for i in party.seed.ideas if i.key == entry.idea)
            what = f"{entry.author} on {entry.party}'s '{entry.idea}'"
            copy = db.session.scalar(select(Idea).where(Idea.origin_host == party.host, Idea.title == title))
            if copy is None:
                report.problems.append(f"{what}: the idea has not arrived from {party.host} yet")
                continue
            member = _member(entry.author)
            if entry.vote and my_vote(copy, member) is None:
                with report.attempt(f"vote by {what}"):
                    cast_vote(member, copy, entry.vote)
                    report.add("votes")
            if entry.body and (entry.author, entry.body) not in _comments_of(copy):
                with report.attempt(f"comment by {what}"):
                    post_comment(member, copy, body=entry.body, stance=entry.stance)
                    report.add("comments_new")
    return report


def iter_problems(report: SeedReport, limit: int = 10) -> Iterator[str]:
    yield from report.problems[:limit]
