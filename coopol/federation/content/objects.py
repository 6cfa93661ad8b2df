"""Wire shapes of ideas (`Page`), comments (`Note`) and votes (`Like`/`Dislike`), and tolerant parsers.

Our extensions (stance, scope, lifecycle, answer) ride under the Coopol JSON-LD context; other servers
ignore them. Parsers accept what Lemmy and Mastodon publish (HTML without a Markdown `source`, a
`language` object, `contentMap`, hashtags as objects, ids as strings or embedded objects) and raise
`ProtocolError` only for what we cannot use. No database here except the id helpers at the bottom.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import nh3
from flask import current_app
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.federation.actors import base_url, group_id, member_actor_id
from coopol.federation.protocol import AS_CONTEXT, PUBLIC, ProtocolError, id_of, type_of
from coopol.ideas.models import (
    BODY_MAX,
    COMMENT_MAX,
    STANCES,
    TAG_MAX_LENGTH,
    TAGS_MAX,
    TITLE_MAX,
    TITLE_MIN,
    Comment,
    Idea,
    IdeaState,
)

COOPOL_NS = "https://coopol.org/ns#"
COOPOL_TERMS = {
    "coopol": COOPOL_NS,
    "stance": "coopol:stance",
    "scope": "coopol:scope",
    "lifecycle": "coopol:lifecycle",
    "answer": "coopol:answer",
    "withdrawnReason": "coopol:withdrawnReason",
    "withdrawnExplanation": "coopol:withdrawnExplanation",
    "reportReason": "coopol:reportReason",
    "group": {"@id": "coopol:group", "@type": "@id"},
    "commentsEnabled": "https://join-lemmy.org/ns#commentsEnabled",
}
CONTEXT: list[Any] = [AS_CONTEXT, COOPOL_TERMS]
GROUPS_PATH = "/groups/"  # where our local groups' actors live (coopol/federation/groups/actors.py)
LIFECYCLE_STATES = frozenset(s.value for s in IdeaState) - {IdeaState.DRAFT.value}
TAG_RE = re.compile(r"^[\w-]+$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


# ------------------------------------------------------------------------------------------ ids


def idea_ap_id(idea: Idea) -> str:
    return idea.ap_id or f"{base_url()}/ideas/{idea.id}"


def comment_ap_id(comment: Comment) -> str:
    return comment.ap_id or f"{base_url()}/comments/{comment.id}"


def actor_id(member: Member) -> str:
    return member.ap_id if not member.is_local and member.ap_id else member_actor_id(member.handle)


def origin_group(idea: Idea) -> str | None:
    """The Group that owns the idea: ours, or the ally's it was copied from."""
    if idea.is_local:
        return group_id()
    from coopol.extensions import db
    from coopol.federation.models import Ally

    return db.session.scalar(select(Ally.group_id).where(Ally.host == idea.origin_host))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


# ------------------------------------------------------------------------------------- builders


def qualified(text: str, author: Member) -> str:
    """A local author's `@bea` is our bea: elsewhere it reads `@bea@our.host` (allies re-render the source)."""
    from coopol.core.text import MENTION_RE

    if not author.is_local:
        return text
    own = current_app.config["SERVER_HOST"]
    return MENTION_RE.sub(lambda m: m.group(0) if m.group(2) else f"{m.group(0)}@{own}", text or "")


def mention_tags(text: str) -> list[dict[str, str]]:
    """ActivityPub `Mention` tags for the members known here that a (qualified) text names."""
    from coopol.notifications.mentions import mentioned_members

    own = current_app.config["SERVER_HOST"]
    return [{"type": "Mention", "href": m.ap_id if m.host else member_actor_id(m.handle),
             "name": f"@{m.handle}" if m.host else f"@{m.handle}@{own}"}
            for m in mentioned_members(text, local_only=False) if m.ap_id or not m.host]


def _mentions(doc: dict[str, Any]) -> list[str]:
    raw = doc.get("tag")
    return [item["href"] for item in (raw if isinstance(raw, list) else [raw])[:50]
            if isinstance(item, dict) and type_of(item) == "Mention" and isinstance(item.get("href"), str)]


def idea_page(idea: Idea) -> dict[str, Any]:
    """A local idea as a Lemmy-compatible `Page` in our Group, with our extensions."""
    from coopol.ideas.services import idea_tags

    group = group_id()
    page_url = f"{base_url()}/ideas/{idea.id}"
    page: dict[str, Any] = {
        "@context": CONTEXT,
        "id": idea_ap_id(idea),
        "type": "Page",
        "attributedTo": actor_id(idea.author),
        "audience": group,
        "to": [group, PUBLIC],
        "cc": [],
        "name": idea.title,
        "content": idea.body_html,
        "mediaType": "text/html",
        "source": {"content": qualified(idea.body, idea.author), "mediaType": "text/markdown"},
        "contentMap": {idea.language: idea.body_html},
        "tag": [{"type": "Hashtag", "name": f"#{name}", "href": f"{base_url()}/ideas?tag={name}"}
                for name in idea_tags(idea)] + mention_tags(qualified(idea.body, idea.author)),
        "url": page_url,
        "published": _iso(idea.published_at or idea.created_at),
        "updated": _iso(idea.updated_at),
        "commentsEnabled": not idea.is_locked,
        # Lemmy's language ({identifier, name}); `sensitive` as Mastodon and Lemmy read it (a party's ideas
        # are not marked sensitive: a content warning is not part of an idea).
        "language": {"identifier": idea.language, "name": _language_name(idea.language)},
        "sensitive": False,
        "lifecycle": idea.state,
        "scope": idea.scope,
        **idea_collections(idea),
    }
    posted_in = idea.group if idea.group_id is not None else None
    if posted_in is not None and posted_in.is_local and posted_in.is_listed:
        page["group"] = f"{base_url()}{GROUPS_PATH}{posted_in.slug}"  # its Group actor (groups/actors.py)
    if idea.answer:
        page["answer"] = idea.answer
    if idea.withdrawn_reason:
        page["withdrawnReason"] = idea.withdrawn_reason
        page["withdrawnExplanation"] = idea.withdrawn_explanation or ""
    return page


def _language_name(code: str) -> str:
    from coopol.core.templating import LANGUAGE_NAMES

    return LANGUAGE_NAMES.get(code, code)


def featured_pages(limit: int = 20) -> list[dict[str, Any]]:
    """The pinned local ideas (newest pin first), the Group's `featured` collection."""
    from coopol.extensions import db

    ideas = db.session.scalars(select(Idea).where(
        Idea.pinned_at.is_not(None), Idea.origin_host.is_(None), Idea.state != IdeaState.DRAFT,
        Idea.removed_at.is_(None), Idea.hidden_at.is_(None)).order_by(Idea.pinned_at.desc()).limit(limit))
    return [idea_page(idea) for idea in ideas]


def _ref(url: str, total: int | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {"id": url, "type": "OrderedCollection", "first": f"{url}?page=1"}
    if total is not None:
        ref["totalItems"] = total
    return ref


def idea_collections(idea: Idea) -> dict[str, Any]:
    """Where an ally reads a local idea's comments (`replies`, oldest first, so a parent comes before its
    replies) and votes (`likes`: supports, `dislikes`: oppositions; served to allies only)."""
    from coopol.ideas.presenters import tallies_hidden

    url = f"{base_url()}/ideas/{idea.id}"
    hidden = tallies_hidden(idea)  # no counts while the instance hides them
    return {"replies": _ref(f"{url}/replies"),
            "likes": _ref(f"{url}/likes", None if hidden else idea.support_count),
            "dislikes": _ref(f"{url}/dislikes", None if hidden else idea.oppose_count)}


def comment_collections(comment: Comment) -> dict[str, Any]:
    """A comment's up and down votes, on our copy of the thread (also for a comment written elsewhere)."""
    url = f"{base_url()}/comments/{comment.id}"
    return {"likes": _ref(f"{url}/likes", comment.up_count), "dislikes": _ref(f"{url}/dislikes", comment.down_count)}


def vote_activity(kind: str, member: Member, target_id: str, ap_id: str | None = None) -> dict[str, Any]:
    """A vote in a `likes`/`dislikes` collection: who (their actor id: one person, one vote) on what."""
    vote: dict[str, Any] = {"type": kind, "actor": actor_id(member), "object": target_id}
    if ap_id:
        vote["id"] = ap_id
    return vote


def comment_note(comment: Comment) -> dict[str, Any]:
    idea = comment.idea
    audience = origin_group(idea)
    parent = None
    if comment.parent_id is not None:
        from coopol.extensions import db

        parent = db.session.get(Comment, comment.parent_id)
    note: dict[str, Any] = {
        "@context": CONTEXT,
        "id": comment_ap_id(comment),
        "type": "Note",
        "attributedTo": actor_id(comment.author),
        "inReplyTo": comment_ap_id(parent) if parent is not None else idea_ap_id(idea),
        "context": idea_ap_id(idea),
        "to": [PUBLIC],
        "cc": [audience] if audience else [],
        "content": comment.body_html,
        "mediaType": "text/html",
        "source": {"content": qualified(comment.body, comment.author), "mediaType": "text/markdown"},
        "tag": mention_tags(qualified(comment.body, comment.author)),
        "published": _iso(comment.created_at),
        "stance": comment.stance,
        "url": f"{base_url()}/comments/{comment.id}" if comment.ap_id is None else comment.ap_id,
    }
    if audience:
        note["audience"] = audience
    if comment.edited_at:
        note["updated"] = _iso(comment.edited_at)
    return note


# -------------------------------------------------------------------------------------- parsers


def _text_from_html(value: str) -> str:
    value = re.sub(r"(?i)<br\s*/?>", "\n", value)
    value = re.sub(r"(?i)</p>\s*", "\n\n", value)
    return html.unescape(nh3.clean(value, tags=set())).strip()


def body_of(doc: dict[str, Any], maximum: int) -> str:
    """Markdown source when given (Lemmy, Coopol), else the HTML content as plain text (Mastodon)."""
    source = doc.get("source")
    if isinstance(source, dict) and isinstance(source.get("content"), str) and \
            str(source.get("mediaType", "text/markdown")).startswith("text/markdown"):
        text = source["content"]
    elif isinstance(source, str):
        text = source
    else:
        content = doc.get("content")
        if not isinstance(content, str):
            content_map = doc.get("contentMap")
            values = [v for v in content_map.values() if isinstance(v, str)] if isinstance(content_map, dict) else []
            content = values[0] if values else ""
        text = _text_from_html(content)
    return text.strip()[:maximum]


def _language(doc: dict[str, Any]) -> str | None:
    language = doc.get("language")
    if isinstance(language, dict):
        language = language.get("identifier")
    if not isinstance(language, str):
        content_map = doc.get("contentMap")
        language = next(iter(content_map), None) if isinstance(content_map, dict) and content_map else None
    if isinstance(language, str):
        language = language.strip()
        if language.lower() == "und":
            return None
        return language if LANGUAGE_RE.match(language) else None
    return None


def _tags(doc: dict[str, Any]) -> list[str]:
    raw = doc.get("tag")
    tags: list[str] = []
    for item in raw if isinstance(raw, list) else [raw]:
        name = item.get("name") if isinstance(item, dict) and type_of(item) in (None, "Hashtag") else None
        if not isinstance(name, str):
            continue
        name = name.strip().lstrip("#").lower()
        if name and len(name) <= TAG_MAX_LENGTH and TAG_RE.match(name) and name not in tags:
            tags.append(name)
    return tags[:TAGS_MAX]


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _string(doc: dict[str, Any], name: str) -> str | None:
    value = doc.get(name)
    return value if isinstance(value, str) else None


def _first_id(value: Any) -> str | None:
    if isinstance(value, list):
        return next((id_of(v) for v in value if id_of(v)), None)
    return id_of(value)


@dataclass
class PageData:
    id: str
    author: str
    audience: str | None
    title: str
    body: str
    url: str | None
    tags: list[str] = field(default_factory=list)
    language: str | None = None
    scope: str | None = None
    state: str | None = None
    answer: str | None = None
    withdrawn_reason: str | None = None
    withdrawn_explanation: str | None = None
    published: datetime | None = None
    locked: bool = False
    mentions: list[str] = field(default_factory=list)  # actor ids of `Mention` tags
    group: str | None = None  # the actor id of the origin's group it was posted in (coopol:group)


def parse_page(doc: Any) -> PageData:
    """An idea from a `Page` (or an `Article`/`Question`-like top-level post)."""
    if not isinstance(doc, dict) or type_of(doc) not in ("Page", "Article", "Note", "Question"):
        raise ProtocolError("not a Page")
    page_id, author = id_of(doc), _first_id(doc.get("attributedTo"))
    if not page_id or not author:
        raise ProtocolError("a Page needs an id and attributedTo")
    body = body_of(doc, BODY_MAX)
    title = " ".join((_string(doc, "name") or _string(doc, "summary") or "").split())
    if not title:
        title = " ".join(body.split())[:80]
    title = title[:TITLE_MAX]
    if len(title) < TITLE_MIN:
        raise ProtocolError("a Page needs a title of at least 3 characters")
    if not body:
        body = title
    state = _string(doc, "lifecycle")
    url = doc.get("url")
    url = url if isinstance(url, str) else _first_id(url) if isinstance(url, list) else None
    if isinstance(doc.get("url"), list):
        url = next((u.get("href") for u in doc["url"] if isinstance(u, dict) and isinstance(u.get("href"), str)),
                   url)
    scope = _string(doc, "scope")
    return PageData(
        id=page_id, author=author, audience=_first_id(doc.get("audience")), title=title, body=body,
        url=url or page_id, tags=_tags(doc), language=_language(doc),
        scope=scope.strip()[:64] if scope else None,
        state=state if state in LIFECYCLE_STATES else None,
        answer=(_string(doc, "answer") or None), withdrawn_reason=_string(doc, "withdrawnReason"),
        withdrawn_explanation=_string(doc, "withdrawnExplanation"),
        published=_datetime(doc.get("published")), locked=doc.get("commentsEnabled") is False,
        mentions=_mentions(doc), group=_first_id(doc.get("group")))


@dataclass
class NoteData:
    id: str
    author: str
    in_reply_to: str
    body: str
    stance: str
    audience: str | None
    published: datetime | None
    mentions: list[str] = field(default_factory=list)  # actor ids of `Mention` tags


def parse_note(doc: Any) -> NoteData:
    if not isinstance(doc, dict) or type_of(doc) != "Note":
        raise ProtocolError("not a Note")
    note_id, author = id_of(doc), _first_id(doc.get("attributedTo"))
    in_reply_to = _first_id(doc.get("inReplyTo"))
    if not note_id or not author or not in_reply_to:
        raise ProtocolError("a comment needs an id, attributedTo and inReplyTo")
    body = body_of(doc, COMMENT_MAX)
    if not body:
        raise ProtocolError("an empty comment")
    stance = _string(doc, "stance")
    return NoteData(id=note_id, author=author, in_reply_to=in_reply_to, body=body,
                    stance=stance if stance in STANCES else "neutral", audience=_first_id(doc.get("audience")),
                    published=_datetime(doc.get("published")), mentions=_mentions(doc))


def is_local_id(url: str | None) -> bool:
    return bool(url) and url.startswith(current_app.config["URL"] + "/")
