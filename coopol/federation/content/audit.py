"""`coopol audit IDEA_URL`: check an idea's tally without trusting its origin.

Reads the idea from its origin (the `Page`, with the counts it shows), then the votes that the origin and
every ally hold on it (`/ideas/{id}/votes`, `/ideas/votes?object=IDEA_URL`, signed GETs; ours from the
database), verifies every vote's FEP-8b32 proof against its voter's `Multikey` (fetched from the voter's
own instance), and recomputes the tally per party from the signed votes: each person's latest signed vote
counts once. It reports, with progress:

- a proof that fails, or a signed activity that is not the vote it is listed as (a tampered row);
- a vote a source counts otherwise than its voter signed, or not at all, or counts without a vote signed;
- a party's tally that differs between a source and the signed votes, and the origin's shown counts.

Votes that came without a proof (from Mastodon or Lemmy, or cast before proofs) are counted as their
source lists them and reported as unproven, not as differences. No transaction stays open while a
peer is asked; the result per ally is written once at the end (`ProofHealth`, the admin dashboard).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import current_app
from sqlalchemy import select

from coopol.core.errors import ValidationFailed
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.proofs import InvalidProof, public_from_multibase, verification_method_of, verify_document
from coopol.federation.protocol import id_of, type_of

MAX_PAGES = 1000
VALUES = {"Like": "support", "Dislike": "oppose"}


@dataclass
class Source:
    """One instance's account of the idea's votes."""

    host: str
    votes: dict[str, dict[str, Any]] = field(default_factory=dict)  # voter actor id -> item
    tally: dict[str, dict[str, int]] = field(default_factory=dict)  # what it says it counts, per party
    problems: list[str] = field(default_factory=list)
    verified: int = 0
    unproven: int = 0
    error: str = ""


@dataclass
class AuditResult:
    idea: str
    origin: str
    shown: dict[str, int | None]  # the origin Page's counts: support, oppose
    sources: list[Source]
    tally: dict[str, dict[str, int]]  # recomputed per party from the signed votes
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _empty() -> dict[str, int]:
    return {"support": 0, "oppose": 0}


def _votes_url(idea_url: str, origin: str, source_host: str, base_url: str) -> str:
    if source_host == origin:
        return f"{idea_url}/votes"
    return f"{base_url}/ideas/votes?{urlencode({'object': idea_url})}"


def _read_remote(source: Source, url: str, progress: Callable[[str], None]) -> None:
    from coopol.federation.fetch import fetch_document

    collection = fetch_document(url)
    source.tally = _tally_of(collection.get("tally"))
    next_url = collection.get("first")
    pages = 0
    while isinstance(next_url, str) and pages < MAX_PAGES:
        page = fetch_document(next_url)
        pages += 1
        for item in page.get("orderedItems") or []:
            _take(source, item)
        progress(f"  {source.host}: {len(source.votes)}/{collection.get('totalItems', '?')} votes read")
        next_url = page.get("next")


def _read_local(source: Source, idea_url: str) -> None:
    """Our own account, from the database (the same items `/ideas/{id}/votes` serves)."""
    from coopol.federation.content.resolve import find_idea
    from coopol.federation.content.vote_proofs import tally_per_party, vote_item, votes_query

    idea = find_idea(idea_url)
    if idea is None:
        source.error = "we hold no copy of this idea"
        return
    source.tally = tally_per_party(idea)
    for row in db.session.execute(votes_query(idea)):
        _take(source, vote_item(row, idea_url))


def _tally_of(value: Any) -> dict[str, dict[str, int]]:
    tally: dict[str, dict[str, int]] = {}
    if isinstance(value, dict):
        for party, counts in value.items():
            if isinstance(party, str) and isinstance(counts, dict):
                tally[party] = {k: int(counts.get(k) or 0) for k in ("support", "oppose")
                                if isinstance(counts.get(k, 0), int)}
    return tally


def _take(source: Source, item: Any) -> None:
    if not isinstance(item, dict) or type_of(item) not in VALUES or not isinstance(item.get("actor"), str):
        source.problems.append(f"{source.host} lists something that is not a vote: {str(item)[:120]}")
        return
    source.votes[item["actor"]] = item


class _Keys:
    """Voters' Multikeys, fetched once per audit from each voter's own instance (nothing is written)."""

    def __init__(self) -> None:
        self.found: dict[str, str | Exception] = {}

    def public(self, voter: str, method: str) -> str:
        if method not in self.found:
            self.found[method] = self._look_up(voter, method)
        value = self.found[method]
        if isinstance(value, Exception):
            raise value
        return value

    @staticmethod
    def _look_up(voter: str, method: str) -> str | Exception:
        from coopol.federation.content.vote_proofs import voter_key
        from coopol.federation.fetch import FetchError

        try:
            return voter_key(voter, method, remember=False)
        except (InvalidProof, FetchError) as error:
            return error


def _check(source: Source, idea_url: str, voter: str, item: dict[str, Any], keys: _Keys) -> dict[str, Any] | None:
    """The signed vote behind `item` when its proof verifies and it is that vote; problems noted."""
    signed = item.get("signed")
    if signed is None:
        source.unproven += 1
        return None
    name = f"{source.host}: {voter}'s vote"
    try:
        if not isinstance(signed, dict):
            raise InvalidProof("the signed vote is not an object")
        method = verification_method_of(signed)
        if method.split("#", 1)[0] != voter:
            raise InvalidProof("signed with someone else's key")
        verify_document(signed, public_from_multibase(keys.public(voter, method)))
    except Exception as error:  # noqa: BLE001 - InvalidProof, FetchError: either way it cannot be trusted
        source.problems.append(f"{name}: the proof fails ({error})")
        return None
    source.verified += 1
    if id_of(signed.get("actor")) != voter or id_of(signed.get("object")) != idea_url:
        source.problems.append(f"{name}: the signed activity is a vote of someone else or on something else")
        return None
    kind = type_of(signed)
    if kind != item.get("type"):
        source.problems.append(f"{name} is counted as {VALUES.get(item.get('type'), item.get('type'))}, but the "
                               f"voter signed {VALUES.get(kind, kind)}")
    return signed


def _published(signed: dict[str, Any]) -> str:
    value = signed.get("published")
    return value if isinstance(value, str) else ""


def audit_idea(idea_url: str, progress: Callable[[str], None] = lambda _line: None) -> AuditResult:
    """Run the audit (see the module docstring); `progress` is told each step. ValidationFailed when the
    idea cannot be read from its origin."""
    from coopol.federation.content.objects import idea_page
    from coopol.federation.content.resolve import find_idea, names_local_idea
    from coopol.federation.fetch import FetchError, fetch_document
    from coopol.federation.models import Ally
    from coopol.federation.urls import UnsafeURL, host_of

    try:
        origin = host_of(idea_url)
    except UnsafeURL as error:
        raise ValidationFailed.field("idea_url", f"Not an idea's address: {error}") from error
    ours = current_app.config["SERVER_HOST"]
    allies = [(ally.host, ally.base_url) for ally in db.session.scalars(select(Ally).order_by(Ally.host))
              if ally.is_allied]
    if origin == ours:
        idea = find_idea(idea_url) if names_local_idea(idea_url) else None
        if idea is None:
            raise ValidationFailed.field("idea_url", "No such idea here.")
        page = idea_page(idea)
    elif origin not in dict(allies):
        raise ValidationFailed.field("idea_url", f"{origin} is not an ally: its votes cannot be read.")
    db.session.rollback()  # no transaction stays open while peers are asked
    if origin != ours:
        progress(f"Reading {idea_url} from its origin {origin}")
        try:
            page = fetch_document(idea_url)
        except FetchError as error:
            raise ValidationFailed.field("idea_url", f"The idea cannot be read from {origin}: {error}") from error
        if type_of(page) != "Page":
            raise ValidationFailed.field("idea_url", f"{idea_url} is a {type_of(page)}, not an idea.")
    shown = {"support": (page.get("likes") or {}).get("totalItems"),
             "oppose": (page.get("dislikes") or {}).get("totalItems")}

    sources: list[Source] = []
    for host, base in [(origin, "")] + [(h, b) for h, b in allies if h != origin] + \
            ([(ours, "")] if origin != ours else []):
        source = Source(host)
        sources.append(source)
        progress(f"Reading the votes {host} holds")
        try:
            if host == ours:
                _read_local(source, idea_url)
                db.session.rollback()
            else:
                _read_remote(source, _votes_url(idea_url, origin, host, base), progress)
        except FetchError as error:
            source.error = str(error)
        if source.error:
            source.problems.append(f"{host}: its votes cannot be read ({source.error})")

    progress("Verifying every vote's proof against its voter's key")
    keys = _Keys()
    latest: dict[str, dict[str, Any]] = {}  # voter -> their latest signed vote
    for source in sources:
        for voter, item in source.votes.items():
            signed = _check(source, idea_url, voter, item, keys)
            if signed is not None and _published(signed) >= _published(latest.get(voter, {})):
                latest[voter] = signed
        progress(f"  {source.host}: {len(source.votes)} votes, {source.verified} proofs verified, "
                 f"{source.unproven} without proof, {len(source.problems)} problem(s)")
    db.session.rollback()

    # Each voter's vote: their latest signed one; else (no proof anywhere) as the first source lists it.
    counted: dict[str, str] = {voter: VALUES[type_of(signed)] for voter, signed in latest.items()
                               if type_of(signed) in VALUES}
    for source in sources:
        for voter, item in source.votes.items():
            counted.setdefault(voter, VALUES[item["type"]])
    tally: dict[str, dict[str, int]] = {}
    for voter, value in counted.items():
        tally.setdefault(_party(voter), _empty())[value] += 1

    for source in sources:
        if source.error:
            continue
        for voter, signed in latest.items():
            if voter not in source.votes and type_of(signed) in VALUES:
                source.problems.append(f"{source.host} does not count {voter}'s signed vote "
                                       f"({VALUES[type_of(signed)]})")
        for party in sorted(set(tally) | set(source.tally)):
            says, signed_counts = source.tally.get(party, _empty()), tally.get(party, _empty())
            if {k: says.get(k, 0) for k in ("support", "oppose")} != signed_counts:
                source.problems.append(f"{source.host} counts {_counts(says)} for {party}; the votes say "
                                       f"{_counts(signed_counts)}")
    totals = {k: sum(t[k] for t in tally.values()) for k in ("support", "oppose")}
    problems = [p for s in sources for p in s.problems]
    for value in ("support", "oppose"):
        if shown[value] is not None and shown[value] != totals[value]:
            problems.append(f"{origin} shows {shown[value]} {value}; the votes say {totals[value]}")
    result = AuditResult(idea_url, origin, shown, sources, tally, problems)
    _remember(result, ours)
    return result


def _party(voter: str) -> str:
    from coopol.federation.urls import UnsafeURL, host_of

    try:
        return host_of(voter)
    except UnsafeURL:
        return "?"


def _counts(counts: dict[str, int]) -> str:
    return f"{counts.get('support', 0)} support / {counts.get('oppose', 0)} oppose"


def _remember(result: AuditResult, ours: str) -> None:
    """The last audit of each ally's votes, for the admin dashboard (one transaction, at the end)."""
    from coopol.core.uow import unit_of_work
    from coopol.federation.content.vote_proofs import proof_health

    with unit_of_work():
        for source in result.sources:
            if source.host == ours:
                continue
            row = proof_health(source.host)
            row.audited_at = utcnow()
            row.audit_idea = result.idea[:2048]
            row.audit_votes = len(source.votes)
            row.audit_problems = len(source.problems)
            row.audit_summary = "\n".join(source.problems)[:4000] or (
                f"{len(source.votes)} votes, {source.verified} proofs verified, {source.unproven} without proof")
