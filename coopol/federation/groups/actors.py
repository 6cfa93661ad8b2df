"""Each local group is a `Group` actor of its own at /groups/<slug>: its document, its key pair (made
the first time it signs or is asked for, as members' are) and its WebFinger name.

WebFinger: `acct:<slug>@host` names the group. Member handles (`[a-z0-9_]{3,30}`) and group slugs
(`[a-z0-9-]`, 3 to 64) overlap only for a slug without a hyphen that is also a handle; the party Group
keeps `ideas`. A member keeps `acct:<handle>@host` (people were there first, and Mastodon shows them by
it); a group whose slug is taken that way is `acct:<slug>.group@host` (`.` is in neither alphabet, so
that name can belong to nobody else), and its document says so in `preferredUsername`, so that a
server checking the round trip (Mastodon) finds the same actor again. `acct:<slug>.group@host` also
answers for every group, so a link that used it keeps working whatever members register later.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member
from coopol.extensions import db
from coopol.federation.actors import (
    GROUP_NAME,
    _public_key,
    _reading_only_request,
    base_url,
    key_id_for,
    shared_inbox_url,
)
from coopol.federation.content.objects import COOPOL_TERMS, GROUPS_PATH, actor_id
from coopol.federation.keys import decrypt_private_key, encrypt_private_key
from coopol.federation.models import GroupKey
from coopol.federation.protocol import ACTOR_CONTEXT
from coopol.federation.signatures import generate_rsa_keypair
from coopol.groups.models import Group, Joining
from coopol.groups.validation import is_slug

ALIAS_SUFFIX = ".group"
GROUP_TERMS = {**COOPOL_TERMS, "kind": "coopol:groupKind", "joining": "coopol:joining",
               "memberCount": "coopol:memberCount", "openness": "https://joinmobilizon.org/ns#openness",
               "discoverable": "http://joinmastodon.org/ns#discoverable"}
CONTEXT: list[Any] = [*ACTOR_CONTEXT, GROUP_TERMS]


def group_actor_id(group: Group) -> str:
    """The group's ActivityPub id: ours at /groups/<slug>, an ally's the one its origin gave it."""
    return group.ap_id if not group.is_local and group.ap_id else f"{base_url()}{GROUPS_PATH}{group.slug}"


def group_page_url(group: Group) -> str:
    return f"{base_url()}{GROUPS_PATH}{group.slug}"


def local_group_for_actor(url: str | None) -> Group | None:
    """Our group whose actor (or a collection or inbox of it) is `url`."""
    prefix = f"{base_url()}{GROUPS_PATH}"
    if not url or not url.startswith(prefix):
        return None
    slug = url[len(prefix):].split("#", 1)[0].split("/", 1)[0]
    if not is_slug(slug):
        return None
    group = db.session.scalar(select(Group).where(Group.slug == slug))
    return group if group is not None and group.is_local else None


def _shadowed(slug: str) -> bool:
    """A local member (or the party Group) already answers `acct:<slug>@host`."""
    if slug == GROUP_NAME:
        return True
    return db.session.scalar(select(Member.id).where(Member.handle == slug, Member.host.is_(None))) is not None


def webfinger_name(group: Group) -> str:
    return f"{group.slug}{ALIAS_SUFFIX}" if _shadowed(group.slug) else group.slug


def organiser_actor_ids(group: Group) -> list[str]:
    from coopol.groups.memberships import organisers

    return [actor_id(m.member) for m in organisers(group) if not m.member.is_erased]


def group_actor_document(group: Group) -> dict[str, Any]:
    actor = group_actor_id(group)
    key = ensure_group_key(group)
    return {
        "@context": CONTEXT,
        "id": actor,
        "type": "Group",
        "preferredUsername": webfinger_name(group),
        "name": group.name,
        "summary": group.description_html,
        "source": {"content": group.description, "mediaType": "text/markdown"},
        "url": group_page_url(group),
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "followers": f"{actor}/followers",
        "members": {"id": f"{actor}/members", "type": "Collection", "totalItems": group.member_count},
        "moderators": f"{actor}/moderators",
        "attributedTo": organiser_actor_ids(group),
        "endpoints": {"sharedInbox": shared_inbox_url()},
        "manuallyApprovesFollowers": True,
        "discoverable": True,
        "published": group.created_at.isoformat(),
        "updated": group.updated_at.isoformat(),
        "kind": group.kind,
        "scope": group.scope,
        "joining": group.joining,
        "openness": "open" if group.joining == Joining.OPEN else "moderated",
        "memberCount": group.member_count,
        "audience": f"{base_url()}/g/{GROUP_NAME}",  # the party that hosts it (FEP-1b12 relays through it)
        "publicKey": _public_key(actor, key.public_key_pem),
    }


def _binding(group_id: int) -> str:
    return f"group:{group_id}"


def ensure_group_key(group: Group) -> GroupKey:
    """The group's key pair, created the first time it is needed (in a short transaction of its own
    inside a read-only request, for the reason `actors.ensure_member_key` gives)."""
    key = db.session.scalar(select(GroupKey).where(GroupKey.group_id == group.id))
    if key is not None:
        return key
    private, public = generate_rsa_keypair()
    values = {"group_id": group.id, "public_key_pem": public,
              "private_key_encrypted": encrypt_private_key(private, current_app.config["SECRET_KEY"],
                                                           _binding(group.id))}
    if _reading_only_request():
        try:
            with db.engine.begin() as connection:
                connection.execute(insert(GroupKey).values(**values))
        except IntegrityError:
            with db.engine.connect() as connection:
                row = connection.execute(select(GroupKey.__table__).where(GroupKey.group_id == group.id)).one()
            values = dict(row._mapping)
        return GroupKey(**values)
    key = GroupKey(**values)
    try:
        with db.session.begin_nested():
            db.session.add(key)
    except IntegrityError:
        key = db.session.scalar(select(GroupKey).where(GroupKey.group_id == group.id))
    return key


def group_signer(actor: str) -> tuple[str, str] | None:
    """`actors.signer_for` for the local groups' actors."""
    group = local_group_for_actor(actor)
    if group is None or actor != group_actor_id(group):
        return None
    key = ensure_group_key(group)
    return key_id_for(actor), decrypt_private_key(key.private_key_encrypted, current_app.config["SECRET_KEY"],
                                                  _binding(group.id))


def resolve_webfinger(username: str | None, url: str | None) -> tuple[str, str, str] | None:
    """`discovery.WEBFINGER_RESOLVERS`: a listed local group by name or by actor URL."""
    group: Group | None = None
    if url is not None:
        group = local_group_for_actor(url)
        if group is not None and url != group_actor_id(group):
            group = None
    elif username:
        name = username.lower()
        slug = name[:-len(ALIAS_SUFFIX)] if name.endswith(ALIAS_SUFFIX) else name
        if name == slug and _shadowed(slug):
            return None
        group = db.session.scalar(select(Group).where(Group.slug == slug)) if is_slug(slug) else None
    if group is None or not group.is_local or not group.is_listed:
        return None
    return group_actor_id(group), group_page_url(group), webfinger_name(group)
