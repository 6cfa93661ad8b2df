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
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import Blueprint, current_app, request
from sqlalchemy import func, or_, select

from coopol.core.errors import DomainError
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation.actors import GROUP_NAME, group_id
from coopol.federation.fetch import FetchError, fetch_document
from coopol.federation.models import BACKFILL, Backfill
from coopol.federation.protocol import AS_CONTEXT, ProtocolError, id_of, type_of
from coopol.federation.urls import UnsafeURL, host_of
from coopol.ideas.models import VOTING_STATES, Comment, Idea, IdeaState

log = logging.getLogger("coopol.federation.content")
PAGE_SIZE = 20
MAX_PAGES = 10_000
MAX_ATTEMPTS = 10
DEFAULT_LEASE_SECONDS = 600
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
    page = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_PAGES else 1
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


@dataclass
class _Thread:
    """What the network phase read about one idea, before any transaction opens."""

    notes: list[tuple[Any, list[tuple[bool, Any]]]] = field(default_factory=list)  # (Note, its votes)
    votes: list[tuple[bool, Any]] = field(default_factory=list)  # (Like?, vote) on the idea


def _items(ref: Any) -> list[Any]:
    """Every item of a (paged) collection named or embedded by `ref`; nothing when it is said to be empty
    or is not served (gone, or not there)."""
    if ref is None or (isinstance(ref, dict) and ref.get("totalItems") == 0):
        return []
    url = id_of(ref)
    if not url:
        return []
    try:
        doc = fetch_document(url)
    except FetchError as error:
        if " answered 404" in str(error) or " answered 410" in str(error):
            return []
        raise
    found: list[Any] = []
    page: Any = doc
    seen_urls = {url}
    for _ in range(MAX_PAGES):
        listed = page.get("orderedItems", page.get("items"))
        found.extend(listed if isinstance(listed, list) else [])
        following = page.get("first") if page is doc else page.get("next")
        if isinstance(following, dict) and page is doc:  # an embedded first page
            page = following
            continue
        following = id_of(following)
        if not following or following in seen_urls:
            break
        seen_urls.add(following)
        page = fetch_document(following)
    return found


def _votes(doc: dict[str, Any]) -> list[tuple[bool, Any]]:
    return [(True, v) for v in _items(doc.get("likes"))] + [(False, v) for v in _items(doc.get("dislikes"))]


def _read_thread(page: Any) -> _Thread:
    thread = _Thread()
    if not isinstance(page, dict):
        return thread
    for note in _items(page.get("replies")):
        thread.notes.append((note, _votes(note) if isinstance(note, dict) and type_of(note) == "Note" else []))
    thread.votes = _votes(page)
    return thread


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
    """A new copy of a closed or locked idea is first stored open, so its past debate can be added
    through the same services as a live one; then it takes its real state."""
    from coopol.federation.content.objects import parse_page
    from coopol.federation.content.resolve import find_idea

    data = parse_page(page)
    if find_idea(data.id) is not None or (data.state in (None, *VOTING_STATES) and not data.locked):
        return None
    return {**page, "lifecycle": IdeaState.PUBLISHED.value, "commentsEnabled": True}


def _quietly(fn: Callable[[], Any]) -> tuple[bool, Any]:
    """Run `fn` in a savepoint: (True, its result), or (False, None) when it cannot apply."""
    from coopol.federation.content.receive import Ignored

    try:
        with db.session.begin_nested():
            return True, fn()
    except (Ignored, DomainError, ProtocolError) as error:
        log.info("backfill skipped an item: %s", error)
        return False, None


def _copy_idea(page: Any, host: str, name: str, result: BackfillResult) -> None:
    """One idea, its comments and its votes: read (no transaction open), then stored in one (all of it,
    or nothing when the idea itself cannot be stored)."""
    from coopol.federation.content.receive import Ignored, store_page
    from coopol.federation.content.resolve import find_comment

    thread = _read_thread(page)
    comments = votes = 0
    try:
        with unit_of_work():
            opened = _open_first(page) if isinstance(page, dict) else None
            idea = store_page(opened or page, host, origin_name=name)
            for note, note_votes in thread.notes:
                ok, comment = _quietly(lambda note=note: _store_comment(note, idea))
                if not ok:
                    continue
                comments += comment is not None
                target = comment or find_comment(id_of(note))  # already here: its votes may not be
                for like, vote in note_votes if target is not None else []:
                    ok, stored = _quietly(lambda like=like, vote=vote, target=target: _store_vote(like, vote, target))
                    votes += bool(ok and stored)
            for like, vote in thread.votes:
                ok, stored = _quietly(lambda like=like, vote=vote: _store_vote(like, vote, idea))
                votes += bool(ok and stored)
            if opened is not None:
                store_page(page, host, origin_name=name)
    except (Ignored, DomainError, ProtocolError) as error:
        log.info("backfill of %s skipped an idea: %s", host, error)
        result.skipped += 1
        return
    result.stored += 1
    result.comments += comments
    result.votes += votes


def _source(host: str) -> tuple[str, str, str]:
    """(host, name, collection URL) of an ally; DomainError when it is not (or no longer) allied."""
    from coopol.federation.alliances import get_ally

    with unit_of_work():
        ally = get_ally(host)
        if not ally.is_allied:
            raise DomainError(f"{ally.host} is not an ally (it is {ally.status}).")
        return ally.host, ally.name, f"{ally.group_id}/ideas"


def _start(url: str, result: BackfillResult) -> str | None:
    first = fetch_document(url)
    result.total = int(first.get("totalItems") or 0) if str(first.get("totalItems", "")).isdigit() else 0
    return id_of(first.get("first"))


def read_page(url: str, host: str, name: str, result: BackfillResult) -> str | None:
    """Copy the ideas of one page of the ally's collection; returns the next page's URL."""
    page = fetch_document(url)
    items = page.get("orderedItems") if isinstance(page.get("orderedItems"), list) else []
    for item in items:
        result.seen += 1
        _copy_idea(item, host, name, result)
    following = id_of(page.get("next"))
    return following if following and following != url else None


def backfill(host: str, progress: Callable[[BackfillResult], None] | None = None) -> BackfillResult:
    """Pull every published idea of the ally `host`, with its comments and votes, into our copies (an idea
    already here is brought up to date). No transaction stays open while a page is fetched."""
    host, name, url = _source(host)
    result = BackfillResult()
    try:
        next_url = _start(url, result)
        pages = 0
        while next_url and pages < MAX_PAGES:
            pages += 1
            next_url = read_page(next_url, host, name, result)
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
    job.comments, job.votes = result.comments, result.votes


def queue_backfill(host: str) -> Backfill:
    """Queue (in the caller's transaction) a backfill from `host`; one already waiting or running is kept."""
    job = db.session.scalar(select(Backfill).where(Backfill.host == host))
    if job is None:
        job = Backfill(host=host, state="queued", total=0, seen=0, stored=0, skipped=0, comments=0, votes=0,
                       attempts=0, error="", next_attempt_at=utcnow())
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


def run_job_page(job_id: int, lease: Any) -> str:
    """One turn of a claimed job: the collection (first turn) and one page; returns the job's state."""
    from coopol.federation.delivery import backoff_seconds

    with unit_of_work():
        job = db.session.get(Backfill, job_id)
        host, next_url = job.host, job.next_url
        result = BackfillResult(total=job.total, seen=job.seen, stored=job.stored, skipped=job.skipped,
                                comments=job.comments, votes=job.votes)
    try:
        host, name, url = _source(host)
        next_url = next_url or _start(url, result)
        following = read_page(next_url, host, name, result) if next_url else None
    except Exception as error:  # noqa: BLE001 - recorded on the job, which is tried again later
        db.session.rollback()
        final = isinstance(error, DomainError)  # no longer an ally
        message = error.message if isinstance(error, DomainError) else str(error) or type(error).__name__
        if not isinstance(error, (FetchError, UnsafeURL, DomainError)):
            log.exception("backfill job %s crashed", job_id)
        with unit_of_work():
            job = _still_ours(job_id, lease)
            if job is None:
                return "taken"
            job.attempts += 1
            job.error, job.claimed_until = message[:2000], None
            if final or job.attempts >= MAX_ATTEMPTS:
                _set_state(job, "failed")
                job.finished_at = utcnow()
            else:
                _set_state(job, "queued")
                job.next_attempt_at = utcnow() + timedelta(seconds=backoff_seconds(job.attempts))
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
