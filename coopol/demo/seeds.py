"""The example parties' seed files (`instances/*/seed.toml`): what each one holds, read and checked.

Every problem is a `SeedError` that names the file and the entry, before anything is created. A seed file
holds the party's settings, members, ideas with their debates and votes, the moderation the demo shows
(a report, decisions with reasons, an appeal), and votes and comments on allies' ideas (`[[remote]]`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

SEED_FILE = "seed.toml"
LANGUAGES = ("en", "fr", "es", "de", "it")
ROLES = ("member", "moderator", "admin")
HANDLE_RE = re.compile(r"^[a-z0-9_]{3,30}$")
TAG_RE = re.compile(r"^[\w-]{1,40}$")  # what the ideas API accepts (we also ask for lowercase)
STANCES = ("for", "against", "neutral")
ANSWER_STATES = ("evaluating", "accepted", "rejected")
REPORT_REASONS = ("spam", "offensive", "off_topic", "illegal", "other")
# The decisions a seed may show; each needs a reason, which the public log prints.
SEED_ACTIONS = {"hide": ("comment", "idea"), "remove": ("comment", "idea"), "lock": ("idea",),
                "pin": ("idea",), "suspend": ("member",)}


class SeedError(ValueError):
    """A seed file that cannot be used, with a message that says where and why."""


class DemoError(click.ClickException):
    """A one-line reason the demo cannot go on (exit status 1)."""


@dataclass(frozen=True)
class MemberSeed:
    handle: str
    name: str
    role: str
    email: str


@dataclass(frozen=True)
class CommentSeed:
    key: str
    author: str
    stance: str
    body: str
    reply_to: str | None = None
    up: tuple[str, ...] = ()
    down: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnswerSeed:
    by: str
    state: str
    text: str


@dataclass(frozen=True)
class IdeaSeed:
    key: str
    author: str
    title: str
    body: str
    tags: tuple[str, ...]
    scope: str | None
    support: tuple[str, ...] = ()
    oppose: tuple[str, ...] = ()
    comments: tuple[CommentSeed, ...] = ()
    answer: AnswerSeed | None = None


@dataclass(frozen=True)
class RemoteSeed:
    """A member's vote and/or comment, from home, on an idea of another example party."""

    party: str  # the other party's folder name
    idea: str  # the idea's key in that party's seed file
    author: str
    vote: str | None
    stance: str
    body: str | None


@dataclass(frozen=True)
class TargetSeed:
    """What a report or a decision is about: an idea (by key), a comment (`idea` + `comment` key, or the
    key of a moderation comment) or a member (by handle)."""

    kind: str  # idea | comment | member
    idea: str | None = None
    comment: str | None = None
    member: str | None = None


@dataclass(frozen=True)
class FlaggedCommentSeed:
    """A comment posted for the moderation example (it is the one reported and hidden)."""

    key: str
    idea: str
    author: str
    body: str
    stance: str = "neutral"


@dataclass(frozen=True)
class ReportSeed:
    by: str
    target: TargetSeed
    reason: str
    text: str = ""


@dataclass(frozen=True)
class ActionSeed:
    by: str
    action: str
    target: TargetSeed
    reason: str
    days: int | None = None  # a suspension's length
    appeal: str | None = None  # the affected member appeals with this text


@dataclass(frozen=True)
class ModerationSeed:
    comments: tuple[FlaggedCommentSeed, ...] = ()
    reports: tuple[ReportSeed, ...] = ()
    actions: tuple[ActionSeed, ...] = ()


@dataclass(frozen=True)
class GroupSeed:
    """A local group: its organiser starts it, `organisers` become organisers too, `members` join (and are
    approved by the organiser when joining needs approval)."""

    key: str
    name: str
    description: str
    kind: str  # territorial | thematic
    scope: str | None
    joining: str  # open | approval
    organiser: str
    organisers: tuple[str, ...] = ()
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class GatheringSeed:
    """A gathering `days` from the demo's start (negative: it took place, with its `report`), hosted by
    `host` (for `group`, which they organise), at `time` in `timezone`; `going` RSVP in that order, so
    with a capacity the last ones wait on the waitlist."""

    key: str
    title: str
    description: str
    host: str
    group: str | None
    days: int
    time: str  # HH:MM, wall clock in `timezone`
    hours: float
    timezone: str
    mode: str
    place: str | None
    address: str | None
    online_url: str | None
    capacity: int | None
    going: tuple[str, ...] = ()
    report: str | None = None
    turnout: int | None = None


@dataclass(frozen=True)
class InstanceSeed:
    folder: Path
    name: str
    description: str
    language: str
    port_offset: int
    scopes: tuple[dict[str, str], ...]
    members: tuple[MemberSeed, ...]
    ideas: tuple[IdeaSeed, ...]
    remote: tuple[RemoteSeed, ...] = ()
    moderation: ModerationSeed = ModerationSeed()
    languages: tuple[str, ...] = ()
    groups: tuple[GroupSeed, ...] = ()
    gatherings: tuple[GatheringSeed, ...] = ()

    @property
    def slug(self) -> str:
        return self.folder.name

    @property
    def admin(self) -> MemberSeed:
        return next(m for m in self.members if m.role == "admin")


def _require(table: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in table:
        raise SeedError(f"{where}: '{key}' is missing")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SeedError(f"{where}: '{key}' must be a {kind.__name__}")
    if isinstance(value, str) and not value.strip():
        raise SeedError(f"{where}: '{key}' must not be empty")
    return value


def _handles(table: dict[str, Any], key: str, members: set[str], where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedError(f"{where}: '{key}' must be a list of member handles")
    for handle in value:
        if handle not in members:
            raise SeedError(f"{where}: '{key}' names '{handle}', who is not a seed member")
    if len(set(value)) != len(value):
        raise SeedError(f"{where}: '{key}' names someone twice")
    return tuple(value)


def load_seed(folder: Path) -> InstanceSeed:
    """Read and check `folder/seed.toml`; every problem is a SeedError naming the file and the entry."""
    path = folder / SEED_FILE
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SeedError(f"{path}: not found") from None
    except tomllib.TOMLDecodeError as error:
        raise SeedError(f"{path}: not valid TOML ({error})") from None
    where = str(path)
    name = _require(data, "name", str, where)
    description = _require(data, "description", str, where)
    language = _require(data, "language", str, where)
    if language not in LANGUAGES:
        raise SeedError(f"{where}: language '{language}' is not one of {', '.join(LANGUAGES)}")
    port_offset = _require(data, "port_offset", int, where)
    if not 0 <= port_offset < 100:
        raise SeedError(f"{where}: port_offset must be between 0 and 99")

    scopes: list[dict[str, str]] = []
    for index, entry in enumerate(_require(data, "scopes", list, where)):
        here = f"{where}: scopes[{index}]"
        if not isinstance(entry, dict):
            raise SeedError(f"{here} must be a table {{code, name, parent}}")
        scope = {"code": _require(entry, "code", str, here), "name": _require(entry, "name", str, here)}
        if entry.get("parent") is not None:
            scope["parent"] = _require(entry, "parent", str, here)
        scopes.append(scope)
    codes = [s["code"] for s in scopes]
    if len(set(codes)) != len(codes):
        raise SeedError(f"{where}: a scope code appears twice")
    for scope in scopes:
        if scope.get("parent") is not None and scope["parent"] not in codes:
            raise SeedError(f"{where}: scope '{scope['code']}' has an unknown parent '{scope['parent']}'")

    members: list[MemberSeed] = []
    for index, entry in enumerate(_require(data, "members", list, where)):
        here = f"{where}: members[{index}]"
        handle = _require(entry, "handle", str, here)
        if not HANDLE_RE.match(handle):
            raise SeedError(f"{here}: handle '{handle}' must be 3 to 30 lowercase letters, digits or "
                            "underscores")
        role = entry.get("role", "member")
        if role not in ROLES:
            raise SeedError(f"{here}: role '{role}' is not one of {', '.join(ROLES)}")
        members.append(MemberSeed(handle, _require(entry, "name", str, here), role,
                                  f"{handle}@{folder.name}.example"))
    handles = {m.handle for m in members}
    if len(handles) != len(members):
        raise SeedError(f"{where}: a member handle appears twice")
    if not any(m.role == "admin" for m in members):
        raise SeedError(f"{where}: no member has role 'admin' (the demo needs one to ally the instance)")

    ideas: list[IdeaSeed] = []
    for index, entry in enumerate(data.get("ideas", [])):
        here = f"{where}: ideas[{index}]"
        key = _require(entry, "key", str, here)
        here = f"{where}: idea '{key}'"
        author = _require(entry, "author", str, here)
        if author not in handles:
            raise SeedError(f"{here}: author '{author}' is not a seed member")
        title = _require(entry, "title", str, here)
        if not 3 <= len(title) <= 200:
            raise SeedError(f"{here}: the title must have 3 to 200 characters")
        tags = entry.get("tags", [])
        if not isinstance(tags, list) or len(tags) > 10 \
                or not all(isinstance(t, str) and TAG_RE.match(t) and t == t.lower() for t in tags):
            raise SeedError(f"{here}: 'tags' must be a list of at most 10 lowercase words (letters, digits "
                            "and dashes, at most 40 characters each)")
        scope = entry.get("scope")
        if scope is not None and scope not in codes:
            raise SeedError(f"{here}: scope '{scope}' is not one of the instance's scopes")
        support = _handles(entry, "support", handles, here)
        oppose = _handles(entry, "oppose", handles, here)
        if set(support) & set(oppose):
            raise SeedError(f"{here}: someone both supports and opposes")
        comments: list[CommentSeed] = []
        comment_keys: set[str] = set()
        for c_index, c_entry in enumerate(entry.get("comments", [])):
            c_here = f"{here}: comments[{c_index}]"
            c_key = str(c_entry.get("key") or f"#{c_index}")
            c_author = _require(c_entry, "author", str, c_here)
            if c_author not in handles:
                raise SeedError(f"{c_here}: author '{c_author}' is not a seed member")
            stance = c_entry.get("stance", "neutral")
            if stance not in STANCES:
                raise SeedError(f"{c_here}: stance '{stance}' is not one of {', '.join(STANCES)}")
            reply_to = c_entry.get("reply_to")
            if reply_to is not None and reply_to not in comment_keys:
                raise SeedError(f"{c_here}: reply_to '{reply_to}' is not the key of an earlier comment")
            if c_key in comment_keys:
                raise SeedError(f"{c_here}: the key '{c_key}' appears twice")
            comment_keys.add(c_key)
            body = _require(c_entry, "body", str, c_here).strip()
            comments.append(CommentSeed(c_key, c_author, stance, body, reply_to,
                                        _handles(c_entry, "up", handles, c_here),
                                        _handles(c_entry, "down", handles, c_here)))
        answer = None
        if "answer" in entry:
            a_entry, a_here = entry["answer"], f"{here}: answer"
            by = _require(a_entry, "by", str, a_here)
            if not any(m.handle == by and m.role in ("moderator", "admin") for m in members):
                raise SeedError(f"{a_here}: '{by}' must be a seed moderator or admin")
            state = _require(a_entry, "state", str, a_here)
            if state not in ANSWER_STATES:
                raise SeedError(f"{a_here}: state '{state}' is not one of {', '.join(ANSWER_STATES)}")
            answer = AnswerSeed(by, state, _require(a_entry, "text", str, a_here).strip())
        ideas.append(IdeaSeed(key, author, title, _require(entry, "body", str, here).strip() + "\n",
                              tuple(tags), scope, support, oppose, tuple(comments), answer))
    if len({i.key for i in ideas}) != len(ideas) or len({i.title for i in ideas}) != len(ideas):
        raise SeedError(f"{where}: two ideas share a key or a title")
    remote: list[RemoteSeed] = []
    for index, entry in enumerate(data.get("remote", [])):
        here = f"{where}: remote[{index}]"
        author = _require(entry, "author", str, here)
        if author not in handles:
            raise SeedError(f"{here}: author '{author}' is not a seed member")
        vote = entry.get("vote")
        if vote not in (None, "support", "oppose"):
            raise SeedError(f"{here}: vote '{vote}' is not support or oppose")
        stance = entry.get("stance", "neutral")
        if stance not in STANCES:
            raise SeedError(f"{here}: stance '{stance}' is not one of {', '.join(STANCES)}")
        body = _require(entry, "body", str, here).strip() if "body" in entry else None
        if vote is None and body is None:
            raise SeedError(f"{here}: give a vote, a body, or both")
        remote.append(RemoteSeed(_require(entry, "party", str, here), _require(entry, "idea", str, here),
                                 author, vote, stance, body))
    languages = data.get("languages", [language])
    if not isinstance(languages, list) or language not in languages or any(
            code not in LANGUAGES for code in languages) or len(set(languages)) != len(languages):
        raise SeedError(f"{where}: 'languages' must list the party's language and others of "
                        f"{', '.join(LANGUAGES)}, each once")
    moderation = _load_moderation(data.get("moderation", {}), where, members, ideas)
    groups = _load_groups(data.get("groups", []), where, handles, codes)
    gatherings = _load_gatherings(data.get("gatherings", []), where, handles, groups)
    return InstanceSeed(folder.resolve(), name, description, language, port_offset, tuple(scopes),
                        tuple(members), tuple(ideas), tuple(remote), moderation, tuple(languages), groups,
                        gatherings)


MODES = ("in_person", "online", "hybrid")
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _load_gatherings(data: Any, where: str, handles: set[str], groups: tuple[GroupSeed, ...]
                     ) -> tuple[GatheringSeed, ...]:
    if not isinstance(data, list):
        raise SeedError(f"{where}: 'gatherings' must be a list of tables ([[gatherings]])")
    by_key = {g.key: g for g in groups}
    found: list[GatheringSeed] = []
    for index, entry in enumerate(data):
        key = _require(entry, "key", str, f"{where}: gatherings[{index}]")
        here = f"{where}: gathering '{key}'"
        title = _require(entry, "title", str, here)
        if not 3 <= len(title) <= 200:
            raise SeedError(f"{here}: the title must have 3 to 200 characters")
        host = _require(entry, "host", str, here)
        if host not in handles:
            raise SeedError(f"{here}: host '{host}' is not a seed member")
        group = entry.get("group")
        if group is not None:
            if group not in by_key:
                raise SeedError(f"{here}: group '{group}' is not a seed group")
            if host not in (by_key[group].organiser, *by_key[group].organisers):
                raise SeedError(f"{here}: host '{host}' does not organise the group '{group}'")
        days = _require(entry, "days", int, here)
        time = entry.get("time", "18:30")
        if not isinstance(time, str) or not TIME_RE.match(time):
            raise SeedError(f"{here}: 'time' must be HH:MM")
        hours = entry.get("hours", 2)
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 72:
            raise SeedError(f"{here}: 'hours' must be a duration from 0 to 72")
        mode = entry.get("mode", "in_person")
        if mode not in MODES:
            raise SeedError(f"{here}: mode '{mode}' is not one of {', '.join(MODES)}")
        place, address = entry.get("place"), entry.get("address")
        online_url = entry.get("online_url")
        if mode != "online" and not (place or address):
            raise SeedError(f"{here}: an in-person gathering needs a 'place' or an 'address'")
        if mode != "in_person" and not online_url:
            raise SeedError(f"{here}: an online gathering needs an 'online_url'")
        capacity = entry.get("capacity")
        if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1):
            raise SeedError(f"{here}: 'capacity' must be a whole number of at least 1")
        going = _handles(entry, "going", handles, here)
        report = entry.get("report")
        if report is not None and days >= 0:
            raise SeedError(f"{here}: only a past gathering (days < 0) has a report")
        if going and days < 0:
            raise SeedError(f"{here}: nobody answers a past gathering; give its 'turnout' instead")
        turnout = entry.get("turnout")
        if turnout is not None and (isinstance(turnout, bool) or not isinstance(turnout, int) or turnout < 0):
            raise SeedError(f"{here}: 'turnout' must be a whole number")
        found.append(GatheringSeed(key, title, _require(entry, "description", str, here).strip(), host, group, days,
                                   time, float(hours), entry.get("timezone", "Europe/Paris"), mode, place, address,
                                   online_url, capacity, going, report.strip() if report else None, turnout))
    if len({g.key for g in found}) != len(found) or len({g.title for g in found}) != len(found):
        raise SeedError(f"{where}: two gatherings share a key or a title")
    return tuple(found)


GROUP_KINDS = ("territorial", "thematic")
JOININGS = ("open", "approval")


def _load_groups(data: Any, where: str, handles: set[str], codes: list[str]) -> tuple[GroupSeed, ...]:
    if not isinstance(data, list):
        raise SeedError(f"{where}: 'groups' must be a list of tables ([[groups]])")
    groups: list[GroupSeed] = []
    for index, entry in enumerate(data):
        key = _require(entry, "key", str, f"{where}: groups[{index}]")
        here = f"{where}: group '{key}'"
        name = _require(entry, "name", str, here)
        if not 3 <= len(name) <= 100:
            raise SeedError(f"{here}: the name must have 3 to 100 characters")
        kind = entry.get("kind", "thematic")
        if kind not in GROUP_KINDS:
            raise SeedError(f"{here}: kind '{kind}' is not one of {', '.join(GROUP_KINDS)}")
        scope = entry.get("scope")
        if kind == "territorial" and scope is None:
            raise SeedError(f"{here}: a territorial group needs a 'scope'")
        if scope is not None and scope not in codes:
            raise SeedError(f"{here}: scope '{scope}' is not one of the instance's scopes")
        joining = entry.get("joining", "open")
        if joining not in JOININGS:
            raise SeedError(f"{here}: joining '{joining}' is not one of {', '.join(JOININGS)}")
        organiser = _require(entry, "organiser", str, here)
        if organiser not in handles:
            raise SeedError(f"{here}: organiser '{organiser}' is not a seed member")
        organisers = _handles(entry, "organisers", handles, here)
        members = _handles(entry, "members", handles, here)
        if organiser in members or organiser in organisers:
            raise SeedError(f"{here}: the organiser who starts the group is in it already: list them once")
        if not set(organisers) <= set(members):
            raise SeedError(f"{here}: 'organisers' must also be listed in 'members'")
        groups.append(GroupSeed(key, name, _require(entry, "description", str, here).strip(), kind, scope,
                                joining, organiser, organisers, members))
    if len({g.key for g in groups}) != len(groups) or len({g.name for g in groups}) != len(groups):
        raise SeedError(f"{where}: two groups share a key or a name")
    return tuple(groups)


def _load_moderation(data: Any, where: str, members: list[MemberSeed], ideas: list[IdeaSeed]) -> ModerationSeed:
    where = f"{where}: moderation"
    if not isinstance(data, dict):
        raise SeedError(f"{where} must be a table")
    handles = {m.handle for m in members}
    staff = {m.handle for m in members if m.role in ("moderator", "admin")}
    idea_keys = {i.key: {c.key for c in i.comments} for i in ideas}
    comments: list[FlaggedCommentSeed] = []
    for index, entry in enumerate(data.get("comments", [])):
        here = f"{where}.comments[{index}]"
        key, idea, author = (_require(entry, k, str, here) for k in ("key", "idea", "author"))
        if idea not in idea_keys:
            raise SeedError(f"{here}: idea '{idea}' is not a seed idea")
        if author not in handles:
            raise SeedError(f"{here}: author '{author}' is not a seed member")
        if key in {c.key for c in comments} or key in idea_keys[idea]:
            raise SeedError(f"{here}: the key '{key}' appears twice")
        stance = entry.get("stance", "neutral")
        if stance not in STANCES:
            raise SeedError(f"{here}: stance '{stance}' is not one of {', '.join(STANCES)}")
        comments.append(FlaggedCommentSeed(key, idea, author, _require(entry, "body", str, here).strip(), stance))
    flagged = {c.key for c in comments}

    def target(entry: dict[str, Any], here: str) -> TargetSeed:
        if "member" in entry:
            member = _require(entry, "member", str, here)
            if member not in handles:
                raise SeedError(f"{here}: member '{member}' is not a seed member")
            return TargetSeed("member", member=member)
        comment = entry.get("comment")
        if comment is not None and comment in flagged and "idea" not in entry:
            return TargetSeed("comment", comment=comment)
        idea = _require(entry, "idea", str, here)
        if idea not in idea_keys:
            raise SeedError(f"{here}: idea '{idea}' is not a seed idea")
        if comment is None:
            return TargetSeed("idea", idea=idea)
        if comment not in idea_keys[idea]:
            raise SeedError(f"{here}: comment '{comment}' is not a comment of '{idea}'")
        return TargetSeed("comment", idea=idea, comment=comment)

    reports: list[ReportSeed] = []
    for index, entry in enumerate(data.get("reports", [])):
        here = f"{where}.reports[{index}]"
        by = _require(entry, "by", str, here)
        if by not in handles:
            raise SeedError(f"{here}: 'by' names '{by}', who is not a seed member")
        reason = _require(entry, "reason", str, here)
        if reason not in REPORT_REASONS:
            raise SeedError(f"{here}: reason '{reason}' is not one of {', '.join(REPORT_REASONS)}")
        reports.append(ReportSeed(by, target(entry, here), reason, str(entry.get("text", "")).strip()))
    actions: list[ActionSeed] = []
    for index, entry in enumerate(data.get("actions", [])):
        here = f"{where}.actions[{index}]"
        by = _require(entry, "by", str, here)
        if by not in staff:
            raise SeedError(f"{here}: '{by}' must be a seed moderator or admin")
        action = _require(entry, "action", str, here)
        if action not in SEED_ACTIONS:
            raise SeedError(f"{here}: action '{action}' is not one of {', '.join(SEED_ACTIONS)}")
        aimed = target(entry, here)
        if aimed.kind not in SEED_ACTIONS[action]:
            raise SeedError(f"{here}: '{action}' does not apply to a {aimed.kind}")
        days = entry.get("days")
        if action == "suspend" and (not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 365):
            raise SeedError(f"{here}: a suspension needs 'days' (1 to 365)")
        appeal = _require(entry, "appeal", str, here).strip() if "appeal" in entry else None
        if appeal is not None and action not in ("hide", "remove", "suspend"):
            raise SeedError(f"{here}: only a hide, a removal or a suspension can be appealed")
        actions.append(ActionSeed(by, action, aimed, _require(entry, "reason", str, here).strip(), days, appeal))
    return ModerationSeed(tuple(comments), tuple(reports), tuple(actions))


def load_seeds(root: Path) -> list[InstanceSeed]:
    """Every example instance under `root` (a folder with a seed.toml), in port order."""
    seeds = [load_seed(path.parent) for path in sorted(root.glob(f"*/{SEED_FILE}"))]
    offsets = [s.port_offset for s in seeds]
    if len(set(offsets)) != len(offsets):
        raise SeedError(f"{root}: two instances have the same port_offset")
    keys = {s.slug: {i.key for i in s.ideas} for s in seeds}
    for seed in seeds:
        for entry in seed.remote:
            if entry.party == seed.slug or entry.party not in keys:
                raise SeedError(f"{seed.folder / SEED_FILE}: remote party '{entry.party}' is not another "
                                f"example instance of {root}")
            if entry.idea not in keys[entry.party]:
                raise SeedError(f"{seed.folder / SEED_FILE}: remote idea '{entry.idea}' is not an idea of "
                                f"{entry.party}")
    return sorted(seeds, key=lambda s: s.port_offset)


def default_seed_root() -> Path:
    """`instances/` of the source tree (an editable install), else of the current directory."""
    for candidate in (Path(__file__).resolve().parents[2] / "instances", Path.cwd() / "instances"):
        if any(candidate.glob(f"*/{SEED_FILE}")):
            return candidate
    raise DemoError("No example instances found: run `coopol demo` from a Coopol source checkout "
                    "(it reads instances/*/seed.toml), or pass --seeds DIR.")

