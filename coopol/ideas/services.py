"""Idea operations. Each takes the acting member and never reads the request or the session: the web
pages, the API, the CLI and the federation inbox call the same functions.

Events published after each change (payloads are keyword arguments, model objects):
  idea_created(idea) · idea_published(idea) · idea_updated(idea, actor, revision) ·
  idea_withdrawn(idea, actor) · idea_answered(idea, actor, previous_state) ·
  comment_posted(comment, idea) · comment_edited(comment, actor) · comment_deleted(comment, actor) ·
  vote_cast(idea, member, value, previous) · vote_withdrawn(idea, member, previous) ·
  comment_vote_cast(comment, member, value, previous)   (value None: the vote was withdrawn)
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import exists, func, or_, select

from coopol.accounts.models import Member
from coopol.core.errors import Conflict, NotFound, PermissionDenied
from coopol.core.events import publish
from coopol.core.events import publish as publish_event_  # `publish` is also a create_idea flag
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.comments import (  # noqa: F401  (re-exported: one place to import services from)
    delete_comment,
    edit_comment,
    get_comment,
    post_comment,
)
from coopol.ideas.counters import dialect_insert, refresh_rankings
from coopol.ideas.guards import can_view, ensure_author, ensure_can_act, is_moderator, lock_idea
from coopol.ideas.in_groups import clean_group
from coopol.ideas.labels import label
from coopol.ideas.models import (
    ANSWER_MAX,
    ANSWER_STATES,
    EXPLANATION_MAX,
    IDEA_LIFECYCLE,
    WITHDRAW_REASONS,
    Comment,
    Idea,
    IdeaRevision,
    IdeaState,
    IdeaTag,
    IdeaVote,
    Tag,
)
from coopol.ideas.queries import list_ideas  # noqa: F401
from coopol.ideas.validation import (
    Errors,
    clean_body,
    clean_language,
    clean_scope,
    clean_tags,
    clean_title,
)
from coopol.ideas.votes import cast_comment_vote, cast_vote, withdraw_comment_vote, withdraw_vote  # noqa: F401

EDITABLE_STATES = frozenset({IdeaState.DRAFT, IdeaState.PUBLISHED})


def create_idea(author: Member, *, title: str, body: str, tags=None, scope: str | None = None,
                language: str | None = None, group: str | None = None, publish: bool = True,
                ap_id: str | None = None,
                origin_host: str | None = None, origin_name: str | None = None, url: str | None = None,
                published_at: datetime | None = None) -> Idea:
    """Propose an idea. The federation passes `ap_id`/`origin_*`/`url` for a copy of an ally's idea
    (its scope is then kept as the ally wrote it). `group`: the slug of a group of ours the author is a
    member of, to post the idea in it."""
    ensure_can_act(author)
    errors = Errors()
    title = clean_title(title, errors)
    body = clean_body(body, errors)
    tag_names = clean_tags(tags, errors)
    scope = clean_scope(scope, errors) if origin_host is None else ((scope or "").strip()[:64] or None)
    language = clean_language(language, errors, local=origin_host is None)
    posted_in = clean_group(group, author, errors) if origin_host is None else None
    errors.raise_if_any()

    now = utcnow()
    idea = Idea(author=author, title=title, body=body, body_html=render_markdown(body), scope=scope,
                language=language, group=posted_in, state=IdeaState.DRAFT, created_at=now, updated_at=now,
                last_activity_at=now, ap_id=ap_id, origin_host=origin_host, origin_name=origin_name, url=url)
    db.session.add(idea)
    db.session.flush()
    _set_tags(idea, tag_names)
    publish_event = False
    if publish:
        IDEA_LIFECYCLE.check(idea.state, IdeaState.PUBLISHED)
        idea.state = IdeaState.PUBLISHED
        idea.published_at = published_at or now
        refresh_rankings(idea)
        publish_event = True
    db.session.flush()
    publish_event_("idea_created", idea=idea)
    if publish_event:
        publish_event_("idea_published", idea=idea)
    return idea


def get_idea(idea_id: int, viewer: Member | None = None) -> Idea:
    """The idea, if this viewer may see it (drafts: their author; hidden ideas: author and moderators)."""
    idea = db.session.get(Idea, idea_id) if isinstance(idea_id, int) else None
    if idea is None or not can_view(idea, viewer):
        raise NotFound(_("No idea with id %(id)s.", id=idea_id))
    return idea


def idea_tags(idea: Idea) -> list[str]:
    return sorted(link.tag.name for link in idea.tag_links)


def _set_tags(idea: Idea, names: list[str]) -> None:
    if names:
        db.session.execute(dialect_insert(Tag.__table__).values([{"name": n} for n in names])
                           .on_conflict_do_nothing(index_elements=["name"]))
    tags = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))} if names else {}
    current = {link.tag.name: link for link in idea.tag_links}
    for name, link in current.items():
        if name not in tags:
            idea.tag_links.remove(link)
    for name in names:
        if name not in current:
            idea.tag_links.append(IdeaTag(tag=tags[name]))


def _engaged_by_others(idea: Idea) -> bool:
    """Someone other than the author voted or commented: from then on every version is kept."""
    voted = exists().where(IdeaVote.idea_id == idea.id, IdeaVote.member_id != idea.author_id)
    commented = exists().where(Comment.idea_id == idea.id, Comment.author_id != idea.author_id)
    return bool(db.session.scalar(select(or_(voted, commented))))


def _revision_count(idea: Idea) -> int:
    return db.session.scalar(select(func.count(IdeaRevision.id)).where(IdeaRevision.idea_id == idea.id)) or 0


def _snapshot(idea: Idea, number: int, editor_id: int | None, at: datetime) -> IdeaRevision:
    return IdeaRevision(idea_id=idea.id, number=number, title=idea.title, body=idea.body,
                        tags=" ".join(idea_tags(idea)), scope=idea.scope, editor_id=editor_id, created_at=at)


def update_idea(actor: Member, idea: Idea, **changes) -> Idea:
    """Edit title, body, tags, scope, language or group (a slug; None or "" for none). Once someone else has
    voted or commented, every version is kept (revision history) and the idea shows as edited: no silent
    rewrite of what people voted on."""
    ensure_can_act(actor)
    ensure_author(idea, actor, _("edit this idea"))
    unknown = set(changes) - {"title", "body", "tags", "scope", "language", "group"}
    if unknown:
        raise TypeError(f"update_idea: unknown fields {sorted(unknown)}")
    lock_idea(idea)
    if idea.is_removed:
        raise Conflict(_("This idea was removed by the moderators; it can no longer be edited."))
    if idea.state not in EDITABLE_STATES:
        raise Conflict(_("An idea that is %(state)s can no longer be edited.", state=label("idea_state", idea.state)))

    errors = Errors()
    new = {}
    if changes.get("title") is not None:
        new["title"] = clean_title(changes["title"], errors)
    if changes.get("body") is not None:
        new["body"] = clean_body(changes["body"], errors)
    if "scope" in changes:
        new["scope"] = clean_scope(changes["scope"], errors)
    if changes.get("language") is not None:
        new["language"] = clean_language(changes["language"], errors, local=idea.is_local)
    new_tags = clean_tags(changes["tags"], errors) if changes.get("tags") is not None else None
    group_changed, new_group = False, None
    if "group" in changes and idea.is_local:
        current = idea.group.slug if idea.group is not None else None
        wanted = str(changes["group"]).strip() or None if changes["group"] is not None else None
        # The group it is in already stays acceptable (its author may have left it since).
        if wanted != current:
            new_group = clean_group(wanted, actor, errors)
            group_changed = "group" not in errors
    errors.raise_if_any()

    changed = {k: v for k, v in new.items() if getattr(idea, k) != v}
    tags_changed = new_tags is not None and sorted(new_tags) != idea_tags(idea)
    if not changed and not tags_changed and not group_changed:
        return idea

    now = utcnow()
    revision = None
    if group_changed:
        idea.group = new_group
    # Where it is posted is not what people voted on: moving it keeps no version.
    keep_history = (bool(changed) or tags_changed) and idea.state != IdeaState.DRAFT and (
        _revision_count(idea) > 0 or _engaged_by_others(idea))
    count = _revision_count(idea) if keep_history else 0
    if keep_history and count == 0:
        db.session.add(_snapshot(idea, 1, idea.author_id, idea.edited_at or idea.published_at or idea.created_at))
        count = 1
    for key, value in changed.items():
        setattr(idea, key, value)
    if "body" in changed:
        idea.body_html = render_markdown(idea.body)
    if tags_changed:
        _set_tags(idea, new_tags)
    idea.updated_at = now
    if keep_history:
        idea.edited_at = now
        db.session.flush()
        revision = _snapshot(idea, count + 1, actor.id, now)
        db.session.add(revision)
    db.session.flush()
    publish("idea_updated", idea=idea, actor=actor, revision=revision)
    return idea


def publish_idea(actor: Member, idea: Idea) -> Idea:
    ensure_can_act(actor)
    ensure_author(idea, actor, _("publish this idea"))
    lock_idea(idea)
    IDEA_LIFECYCLE.check(idea.state, IdeaState.PUBLISHED)
    now = utcnow()
    idea.state = IdeaState.PUBLISHED
    idea.published_at = now
    idea.last_activity_at = now
    idea.updated_at = now
    refresh_rankings(idea)
    db.session.flush()
    publish("idea_published", idea=idea)
    return idea


def withdraw_idea(actor: Member, idea: Idea, reason: str, explanation: str | None = None) -> Idea:
    ensure_can_act(actor)
    ensure_author(idea, actor, _("withdraw this idea"))
    errors = Errors()
    if reason not in WITHDRAW_REASONS:
        errors.add("reason", _("Choose one of: %(choices)s.", choices=", ".join(WITHDRAW_REASONS)))
    explanation = clean_body(explanation, errors, name="explanation", maximum=EXPLANATION_MAX,
                             required=reason == "other")
    errors.raise_if_any()
    lock_idea(idea)
    IDEA_LIFECYCLE.check(idea.state, IdeaState.WITHDRAWN)
    idea.state = IdeaState.WITHDRAWN
    idea.withdrawn_reason = reason
    idea.withdrawn_explanation = explanation or None
    idea.updated_at = utcnow()
    db.session.flush()
    publish("idea_withdrawn", idea=idea, actor=actor)
    return idea


def answer_idea(actor: Member, idea: Idea, state: str, answer: str | None) -> Idea:
    """The official answer: moderators of the idea's own instance move it to evaluating, accepted or
    rejected (accepted and rejected need a written answer). The same state again updates the answer."""
    ensure_can_act(actor)
    if idea.is_local:
        if not is_moderator(actor):
            raise PermissionDenied(_("Only moderators and administrators can answer an idea."))
    elif actor.host != idea.origin_host:
        raise PermissionDenied(_("Only the idea's own instance can answer it."))
    errors = Errors()
    if state not in ANSWER_STATES:
        errors.add("state", _("Choose one of: %(choices)s.", choices=", ".join(ANSWER_STATES)))
    answer = clean_body(answer, errors, name="answer", maximum=ANSWER_MAX,
                        required=state in (IdeaState.ACCEPTED, IdeaState.REJECTED))
    errors.raise_if_any()
    lock_idea(idea)
    if idea.is_removed:
        raise Conflict(_("This idea was removed by the moderators."))
    previous = idea.state
    if state != previous:
        IDEA_LIFECYCLE.check(previous, state)
    now = utcnow()
    idea.state = state
    if answer:
        idea.answer = answer
        idea.answer_html = render_markdown(answer)
        idea.answered_by_id = actor.id
        idea.answered_at = now
    idea.updated_at = now
    db.session.flush()
    publish("idea_answered", idea=idea, actor=actor, previous_state=previous)
    return idea


def list_revisions(idea: Idea) -> list[IdeaRevision]:
    return list(db.session.scalars(select(IdeaRevision).where(IdeaRevision.idea_id == idea.id)
                                   .order_by(IdeaRevision.number)))
