"""Backfill: a new ally pulls the published ideas we already had, through our Group's paged collection
of ideas (`/g/ideas/ideas`, `?page=N`, oldest first so pages stay stable while new ideas arrive), and,
for each idea, its past comments (`replies`, threads kept) and votes (`likes`, `dislikes`, also on each
comment), each stored through the same code as an announced `Create Note` or `Like`. Running it again
changes nothing; what reached us by announces is not stored twice; our own members' comments and votes
are already here.

When an alliance forms, a job (`Backfill`) is committed with it; the federation worker claims it (a
lease; `SKIP LOCKED` on PostgreSQL) and reads one page per turn, saving where to resume, so a worker
that dies leaves a job another one resumes once the lease runs out. `coopol allies backfill HOST` runs
the whole thing inline, with progress.

An ally may be broken or hostile: every collection read (the ideas, an idea's replies, likes and
dislikes) is bounded in documents fetched, items taken and bytes read (`FEDERATION_BACKFILL_MAX_PAGES`,
`_MAX_ITEMS`, `_MAX_BYTES`), each document is streamed with a byte cap, and a `next` that points back
stops it. A collection cut short is counted on the job (`truncated`, `truncation`: the last one and
why). Only one page is held at a time: each page of comments or votes is stored (committed) before the
next one is fetched, so memory stays flat and a job that fails midway keeps what it stored.

No transaction is open while anything is fetched (on SQLite a worker's transaction holds the writer
lock): the authors and voters of a page not known yet are fetched before the page's store transaction,
so two allies backfilling each other never wait on each other's lock. An alliance forms on each side
one delivery apart: a job whose turn the ally refuses (401/403) in its first `NOT_YET_SECONDS` is
tried again within seconds, not counted as a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import func, or_, select

from coopol.core.errors import DomainError
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation.actors import GROUP_NAME, group_id
from coopol.federation.fetch import DocumentTooLarge, FetchError, fetch_sized
from coopol.federation.models import BACKFILL, Backfill
from coopol.federation.protocol import AS_CONTEXT, ProtocolError, id_of, type_of
from coopol.federation.transport import MAX_BODY as MAX_DOCUMENT
from coopol.federation.urls import UnsafeURL, host_of
from coopol.ideas.models import VOTING_STATES, Comment, Idea, IdeaState

log = logging.getLogger("coopol.federation.content")
PAGE_SIZE = 20
MAX_PAGES = 10_000
MAX_ATTEMPTS = 10
DEFAULT_LEASE_SECONDS = 600
NOT_YET_SECONDS = 120  # how long after a job starts a refusal (401/403) means "the ally is not done allying"
NOT_YET_MAX_DELAY = 8.0
SHARED_STATES = tuple(s.value for s in IdeaState if s != IdeaState.DRAFT)

bp = Blueprint("federation_content", __name__)


def collection_id() -> str:
    return f"{group_id()}/ideas"


def _shared_ideas():
    return select(Idea).where(Idea.origin_host.is_(None), Idea.state.in_(SHARED_STATES), Idea.hidden_at.is_(None),
                              Idea.removed_at.is_(None))


@bp.get(f"/g/{GROUP_NAME}/ideas")
def ideas_collection():
    from coopol.federation.content.objects import idea_page
    from coopol.federation.routes import activity_response

    total = db.session.scalar(select(func.count()).select_from(_shared_ideas().subquery())) or 0
    raw = request.args.get("page")
    if raw is None:
        return activity_response({"@context": AS_CONTEXT, "id": collection_id(), "type": "OrderedCollection",
                                  "totalItems": total, "first": f"{collection_id()}?page=1"})
    page = int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_PAGES else 1
    ideas = list(db.session.scalars(_shared_ideas().order_by(Idea.id).offset((page - 1) * PAGE_SIZE)
                                    .limit(PAGE_SIZE)))
    document: dict[str, Any] = {"@context": AS_CONTEXT, "id": f"{collection_id()}?page={raw}",
                                "type": "OrderedCollectionPage", "partOf": collection_id(), "totalItems": total,
                                "orderedItems": [idea_page(idea) for idea in ideas]}
    if page * PAGE_SIZE < total:
        document["next"] = f"{collection_id()}?page={page + 1}"
    return activity_response(document)


# ------------------------------------------------------------------------------------- reading


@dataclass
class BackfillResult:
    total: int = 0
    seen: int = 0
    stored: int = 0
    skipped: int = 0
    comments: int = 0  # comments stored (new here)
    votes: int = 0  # votes on ideas and on comments stored (new here)
    pages: int = 0  # documents of the ideas collection read
    bytes_read: int = 0  # their size
    truncated: int = 0  # collections cut short by the bounds
    truncation: str = ""  # the last one, and why

    def cut(self, url: str, why: str) -> None:
        self.truncated += 1
        self.truncation = f"{url}: {why}"[:2000]
        log.warning("backfill cut a collection short: %s", self.truncation)


@dataclass(frozen=True)
class Limits:
    """The bounds of one collection (see the module's docstring)."""

    pages: int
    items: int
    bytes: int

    @classmethod
    def configured(cls) -> Limits:
        config = current_app.config
        return cls(pages=max(1, int(config["FEDERATION_BACKFILL_MAX_PAGES"])),
                   items=max(1, int(config["FEDERATION_BACKFILL_MAX_ITEMS"])),
                   bytes=max(1, int(config["FEDERATION_BACKFILL_MAX_BYTES"])))


def _pages(ref: Any, result: BackfillResult, limits: Limits) -> Iterator[list[Any]]:
    """The items of a (paged) collection named or embedded by `ref`, one page at a time (the caller
    stores a page before the next one is fetched); nothing when it is said to be empty or is not served
    (gone, or not there). Past a bound, or on a `next` seen before, it stops and `result` records it."""
    if ref is None or (isinstance(ref, dict) and ref.get("totalItems") == 0):
        return
    url = id_of(ref)
    if not url:
        return
    try:
        doc, size = fetch_sized(url, max_bytes=limits.bytes)
    except DocumentTooLarge:
        result.cut(url, f"its first document is larger than {min(limits.bytes, MAX_DOCUMENT)} bytes")
        return
    except FetchError as error:
        if " answered 404" in str(error) or " answered 410" in str(error):
            return
        raise
    pages, items, read = 1, 0, size
    page: Any = doc
    seen_urls = {url}
    while True:
        listed = page.get("orderedItems", page.get("items"))
        listed = listed if isinstance(listed, list) else []
        taken = listed[:limits.items - items]
        items += len(taken)
        if taken:
            yield taken
        if len(taken) < len(listed):
            result.cut(url, f"more than {limits.items} items")
            return
        following = page.get("first") if page is doc else page.get("next")
        if isinstance(following, dict) and page is doc:  # an embedded first page
            page = following
            continue
        following = id_of(following)
        if not following:
            return
        if following in seen_urls:
            result.cut(url, f"its pages loop back to {following}")
            return
        if pages >= limits.pages:
            result.cut(url, f"more than {limits.pages} pages")
            return
        if items >= limits.items:
            result.cut(url, f"more than {limits.items} items")
            return
        if read >= limits.bytes:
            result.cut(url, f"more than {limits.bytes} bytes")
            return
        seen_urls.add(following)
        try:
            page, size = fetch_sized(following, max_bytes=limits.bytes - read)
        except DocumentTooLarge:
            result.cut(url, f"{following} is larger than {min(limits.bytes - read, MAX_DOCUMENT)} bytes")
            return
        pages, read = pages + 1, read + size


# ------------------------------------------------------------------------------------- storing


def _host(url: str | None) -> str | None:
    try:
        return host_of(url or "")
    except UnsafeURL:
        return None


def _store_comment(doc: Any, idea: Idea) -> Comment | None:
    """Our copy of a past comment on `idea` (None: it was already here). Its parent comes first."""
    from coopol.federation.content.objects import is_local_id, parse_note
    from coopol.federation.content.receive import Ignored, add_comment
    from coopol.federation.content.resolve import find_comment, find_idea

    if type_of(doc) == "Tombstone":
        raise Ignored("a removed or deleted comment")
    note = parse_note(doc)
    if _host(note.id) != _host(note.author):
        raise Ignored(f"{note.id} is not written on its author's instance")
    if is_local_id(note.id) or find_comment(note.id) is not None:
        return None
    parent = find_comment(note.in_reply_to) or find_idea(note.in_reply_to)
    if parent is None or (parent.idea_id if isinstance(parent, Comment) else parent.id) != idea.id:
        raise Ignored(f"{note.id} answers {note.in_reply_to}, which is not here")
    return add_comment(note, parent)


def _store_vote(like: bool, doc: Any, target: Idea | Comment) -> bool:
    """A past vote on `target` (False: it was already here)."""
    from coopol.federation.content.objects import comment_ap_id, idea_ap_id, is_local_id
    from coopol.federation.content.people import member_for_actor
    from coopol.federation.content.receive import Ignored, apply_vote

    if not isinstance(doc, dict) or type_of(doc) != ("Like" if like else "Dislike"):
        raise Ignored("not a vote of this collection")
    actor = id_of(doc.get("actor"))
    expected = comment_ap_id(target) if isinstance(target, Comment) else idea_ap_id(target)
    if not actor or id_of(doc.get("object")) != expected:
        raise Ignored(f"a vote on something else than {expected}")
    if is_local_id(actor):
        return False  # our member's vote is ours already
    vote_id = doc.get("id") if isinstance(doc.get("id"), str) else None
    return apply_vote(member_for_actor(actor), target, like, vote_id)


def _open_first(page: dict[str, Any]) -> dict[str, Any] | None:
    """A closed or locked idea whose copy is new (or still open here) is first stored open, so its past
    debate can be added through the same services as a live one; then it takes its real state. (A copy
    still open here is one a backfill that failed midway left open: the next run completes it.)"""
    from coopol.federation.content.objects import parse_page
    from coopol.federation.content.resolve import find_idea

    data = parse_page(page)
    if data.state in (None, *VOTING_STATES) and not data.locked:
        return None
    idea = find_idea(data.id)
    if idea is None:
        lifecycle = IdeaState.PUBLISHED.value
    elif idea.state in VOTING_STATES and not idea.is_locked:
        lifecycle = str(idea.state)
    else:
        return None
    return {**page, "lifecycle": lifecycle, "commentsEnabled": True}


def _quietly(fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run `fn` in a savepoint: (True, its result), or (False, None) when it cannot apply."""
    from coopol.federation.content.receive import Ignored

    try:
        with db.session.begin_nested():
            return True, fn()
    except (Ignored, DomainError, ProtocolError) as error:
        log.info("backfill skipped an item: %s", error)
        return False, None


def _copy_idea(page: Any, host: str, name: str, result: BackfillResult, limits: Limits) -> None:
    """One idea (stored first, or brought up to date), then its comments and its votes, one fetched page
    per transaction; an idea that cannot be stored is skipped with its debate. A closed or locked idea
    stays open until its debate is in, then takes its real state."""
    from coopol.federation.content.receive import Ignored, store_page

    if isinstance(page, dict):
        _meet_people([id_of(page.get("attributedTo"))])
    try:
        with unit_of_work():
            opened = _open_first(page) if isinstance(page, dict) else None
            idea_id = store_page(opened or page, host, origin_name=name).id
    except (Ignored, DomainError, ProtocolError) as error:
        log.info("backfill of %s skipped an idea: %s", host, error)
        result.skipped += 1
        return
    result.stored += 1
    for notes in _pages(page.get("replies"), result, limits):
        _store_notes(notes, idea_id, result, limits)
    for like, ref in ((True, page.get("likes")), (False, page.get("dislikes"))):
        for votes in _pages(ref, result, limits):
            _store_votes(like, votes, lambda: db.session.get(Idea, idea_id), result)
    if opened is not None:
        try:
            with unit_of_work():
                store_page(page, host, origin_name=name)
        except (Ignored, DomainError, ProtocolError) as error:
            log.warning("backfill of %s could not give %s its state: %s", host, id_of(page), error)


def _meet_people(actor_ids: list[Any]) -> None:
    """Fetch the actors of a page that are not known here yet, outside any transaction, then remember
    them in one short one, so storing the page never waits on the network (on SQLite it holds the writer
    lock: an ally answering a fetch of ours may need it, or be fetching from us at the same time). An
    actor that cannot be fetched is left out: the page is stored with what its URL says."""
    from coopol.accounts.models import Member
    from coopol.federation.content.objects import is_local_id
    from coopol.federation.fetch import fetch_actor, remember_actor
    from coopol.federation.models import RemoteActor

    wanted = sorted({a for a in actor_ids if isinstance(a, str) and a and not is_local_id(a)})
    if not wanted:
        return
    with unit_of_work():
        known = set(db.session.scalars(select(Member.ap_id).where(Member.ap_id.in_(wanted))))
        known |= set(db.session.scalars(select(RemoteActor.ap_id).where(RemoteActor.ap_id.in_(wanted))))
    fetched = []
    for actor_id in wanted:
        if actor_id in known:
            continue
        try:
            fetched.append(fetch_actor(actor_id))
        except (FetchError, UnsafeURL, ProtocolError) as error:
            log.info("backfill could not fetch the actor %s: %s", actor_id, error)
    if fetched:
        with unit_of_work():
            for actor in fetched:
                remember_actor(actor)


def _store_notes(notes: list[Any], idea_id: int, result: BackfillResult, limits: Limits) -> None:
    """One page of an idea's comments (one transaction), then the votes on each (a page per transaction)."""
    from coopol.federation.content.resolve import find_comment

    added, here = 0, []
    _meet_people([id_of(n.get("attributedTo")) for n in notes if isinstance(n, dict)])
    with unit_of_work():
        idea = db.session.get(Idea, idea_id)
        for note in notes:
            ok, comment = _quietly(lambda note=note: _store_comment(note, idea))
            if ok:
                added += comment is not None
                here.append(note)  # new or already here: its votes may not be
    result.comments += added
    for note in here:
        if not isinstance(note, dict) or type_of(note) != "Note":
            continue
        for like, ref in ((True, note.get("likes")), (False, note.get("dislikes"))):
            for votes in _pages(ref, result, limits):
                _store_votes(like, votes, lambda note=note: find_comment(id_of(note)), result)


def _store_votes(like: bool, votes: list[Any], target_of: Callable[[], Idea | Comment | None],
                 result: BackfillResult) -> None:
    """One page of votes on an idea or a comment, in one transaction."""
    added = 0
    _meet_people([id_of(v.get("actor")) for v in votes if isinstance(v, dict)])
    with unit_of_work():
        target = target_of()
        for vote in votes if target is not None else []:
            ok, stored = _quietly(lambda vote=vote: _store_vote(like, vote, target))
            added += bool(ok and stored)
    result.votes += added


def _source(host: str) -> tuple[str, str, str]:
    """(host, name, collection URL) of an ally; DomainError when it is not (or no longer) allied."""
    from coopol.federation.alliances import get_ally

    with unit_of_work():
        ally = get_ally(host)
        if not ally.is_allied:
            raise DomainError(f"{ally.host} is not an ally (it is {ally.status}).")
        return ally.host, ally.name, f"{ally.group_id}/ideas"


def _fetch_listing(url: str, result: BackfillResult, limits: Limits) -> dict[str, Any] | None:
    """A document of the ally's ideas collection, counted; None (the collection cut short) past a bound."""
    if result.pages >= limits.pages:
        result.cut(url, f"more than {limits.pages} pages")
        return None
    if result.bytes_read >= limits.bytes:
        result.cut(url, f"more than {limits.bytes} bytes")
        return None
    try:
        doc, size = fetch_sized(url, max_bytes=limits.bytes - result.bytes_read)
    except DocumentTooLarge:
        result.cut(url, f"larger than {min(limits.bytes - result.bytes_read, MAX_DOCUMENT)} bytes")
        return None
    result.pages, result.bytes_read = result.pages + 1, result.bytes_read + size
    return doc


def _start(url: str, result: BackfillResult, limits: Limits) -> str | None:
    first = _fetch_listing(url, result, limits)
    if first is None:
        return None
    result.total = int(first.get("totalItems") or 0) if str(first.get("totalItems", "")).isdigit() else 0
    return id_of(first.get("first"))


def read_page(url: str, host: str, name: str, result: BackfillResult, limits: Limits | None = None) -> str | None:
    """Copy the ideas of one page of the ally's collection; returns the next page's URL (None: the end,
    or a bound reached)."""
    limits = limits or Limits.configured()
    page = _fetch_listing(url, result, limits)
    if page is None:
        return None
    items = page.get("orderedItems") if isinstance(page.get("orderedItems"), list) else []
    room = max(0, limits.items - result.seen)
    for item in items[:room]:
        result.seen += 1
        _copy_idea(item, host, name, result, limits)
    following = id_of(page.get("next"))
    if len(items) > room or (following and result.seen >= limits.items):
        result.cut(url, f"more than {limits.items} ideas")
        return None
    if following == url:
        result.cut(url, "its next page is itself")
        return None
    return following or None


def backfill(host: str, progress: Callable[[BackfillResult], None] | None = None) -> BackfillResult:
    """Pull every published idea of the ally `host`, with its comments and votes, into our copies (an idea
    already here is brought up to date), within the bounds. No transaction stays open while a page is
    fetched."""
    host, name, url = _source(host)
    result = BackfillResult()
    limits = Limits.configured()
    try:
        next_url = _start(url, result, limits)
        visited: set[str] = set()
        while next_url:
            if next_url in visited:
                result.cut(url, f"its pages loop back to {next_url}")
                break
            visited.add(next_url)
            next_url = read_page(next_url, host, name, result, limits)
            if progress:
                progress(result)
    except (FetchError, UnsafeURL) as error:
        raise DomainError(f"Cannot read the ideas of {host}: {error}") from error
    finally:
        db.session.remove()
    with unit_of_work():  # a job waiting for this ally has nothing left to do
        job = db.session.scalar(select(Backfill).where(Backfill.host == host))
        if job is not None and job.state != "done" and (job.claimed_until is None or job.claimed_until < utcnow()):
            _set_state(job, "done")
            _save_counts(job, result)
            job.next_url, job.claimed_until, job.error, job.finished_at = None, None, "", utcnow()
    return result


# ----------------------------------------------------------------------------------------- jobs


def _set_state(job: Backfill, state: str) -> None:
    if job.state != state:
        BACKFILL.check(job.state, state)
        job.state = state


def _save_counts(job: Backfill, result: BackfillResult) -> None:
    job.total, job.seen, job.stored, job.skipped = result.total, result.seen, result.stored, result.skipped
    job.comments, job.votes, job.pages, job.bytes_read = result.comments, result.votes, result.pages, result.bytes_read
    job.truncated, job.truncation = result.truncated, result.truncation


def _result_of(job: Backfill) -> BackfillResult:
    return BackfillResult(total=job.total, seen=job.seen, stored=job.stored, skipped=job.skipped,
                          comments=job.comments, votes=job.votes, pages=job.pages, bytes_read=job.bytes_read,
                          truncated=job.truncated, truncation=job.truncation)


def queue_backfill(host: str) -> Backfill:
    """Queue (in the caller's transaction) a backfill from `host`; one already waiting or running is kept."""
    job = db.session.scalar(select(Backfill).where(Backfill.host == host))
    if job is None:
        job = Backfill(host=host, state="queued", total=0, seen=0, stored=0, skipped=0, comments=0, votes=0,
                       pages=0, bytes_read=0, truncated=0, truncation="", attempts=0, error="",
                       next_attempt_at=utcnow())
        db.session.add(job)
    elif job.state in ("done", "failed"):
        _set_state(job, "queued")
        _save_counts(job, BackfillResult())
        job.next_url, job.attempts, job.error, job.claimed_until = None, 0, "", None
        job.next_attempt_at, job.started_at, job.finished_at = utcnow(), None, None
    db.session.flush()
    return job


def claim_backfill() -> tuple[int, Any] | None:
    """Lease the next due job to this worker: (its id, the lease's end), or None."""
    now = utcnow()
    lease = timedelta(seconds=current_app.config.get("FEDERATION_BACKFILL_LEASE", DEFAULT_LEASE_SECONDS))
    with unit_of_work():
        job_id = db.session.scalar(
            select(Backfill.id)
            .where(Backfill.state.in_(("queued", "running")), Backfill.next_attempt_at <= now,
                   or_(Backfill.claimed_until.is_(None), Backfill.claimed_until < now))
            .order_by(Backfill.next_attempt_at, Backfill.id).limit(1).with_for_update(skip_locked=True))
        if job_id is None:
            return None
        job = db.session.get(Backfill, job_id)
        _set_state(job, "running")
        job.claimed_until = now + lease
        job.started_at = job.started_at or now
        return job_id, job.claimed_until


def _still_ours(job_id: int, lease: Any) -> Backfill | None:
    job = db.session.get(Backfill, job_id)
    if job is None or job.state != "running" or job.claimed_until != lease:
        log.warning("backfill job %s was taken over meanwhile (its lease ran out)", job_id)
        return None
    return job


def not_yet_delay(running_for: float) -> float:
    """The wait before the next turn of a job the ally refused (401/403) `running_for` seconds after it
    started: an alliance forms on both sides one delivery apart, so the ally soon records it. A quarter
    of the time waited so far, 1 to 8 s; past `NOT_YET_SECONDS` the refusal is an ordinary failure."""
    return min(NOT_YET_MAX_DELAY, max(1.0, running_for / 4))


def run_job_page(job_id: int, lease: Any) -> str:
    """One turn of a claimed job: the collection (first turn) and one page; returns the job's state. A turn
    that fails keeps the comments and votes it stored (and counts them); the page is read again later."""
    from coopol.federation.delivery import backoff_seconds

    with unit_of_work():
        job = db.session.get(Backfill, job_id)
        host, next_url, started = job.host, job.next_url, job.pages > 0
        running_for = (utcnow() - job.started_at).total_seconds() if job.started_at else 0.0
        result = _result_of(job)
    limits = Limits.configured()
    try:
        host, name, url = _source(host)
        if not next_url and not started:
            next_url = _start(url, result, limits)
        following = read_page(next_url, host, name, result, limits) if next_url else None
    except Exception as error:  # noqa: BLE001 - recorded on the job, which is tried again later
        db.session.rollback()
        final = isinstance(error, DomainError)  # no longer an ally
        not_yet = isinstance(error, FetchError) and error.answered in (401, 403) and running_for < NOT_YET_SECONDS
        message = error.message if isinstance(error, DomainError) else str(error) or type(error).__name__
        if not_yet:
            message = f"{host} has not recorded the alliance yet ({message}); trying again soon"
        if not isinstance(error, (FetchError, UnsafeURL, DomainError)):
            log.exception("backfill job %s crashed", job_id)
        with unit_of_work():
            job = _still_ours(job_id, lease)
            if job is None:
                return "taken"
            job.attempts += 0 if not_yet else 1
            job.error, job.claimed_until = message[:2000], None
            job.comments, job.votes = result.comments, result.votes  # stored: a new try does not count them
            if final or job.attempts >= MAX_ATTEMPTS:
                _set_state(job, "failed")
                job.finished_at = utcnow()
            else:
                _set_state(job, "queued")
                delay = not_yet_delay(running_for) if not_yet else backoff_seconds(job.attempts)
                job.next_attempt_at = utcnow() + timedelta(seconds=delay)
            return job.state
    with unit_of_work():
        job = _still_ours(job_id, lease)
        if job is None:
            return "taken"
        _save_counts(job, result)
        job.next_url, job.claimed_until, job.error, job.attempts = following, None, "", 0
        if following is None:
            _set_state(job, "done")
            job.finished_at = utcnow()
            log.info("backfill from %s done: %s ideas stored, %s skipped, %s comments, %s votes", host,
                     result.stored, result.skipped, result.comments, result.votes)
        return job.state


def run_backfill_step() -> int:
    """The worker's turn (see `delivery.add_worker_task`): one page of one due job; 0 when none is due."""
    claimed = claim_backfill()
    if claimed is None:
        return 0
    run_job_page(*claimed)
    return 1


def on_alliance_formed(ally: Any, **_: Any) -> None:
    """Queue the new ally's backfill in the transaction that formed the alliance: the worker runs it."""
    app = current_app._get_current_object()
    if app.config.get("FEDERATION_AUTO_BACKFILL", not app.testing):  # tests opt in
        queue_backfill(ally.host)
