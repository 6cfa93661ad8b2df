"""Our actors: the instance (`Application`, /actor), its idea space (`Group`, /g/ideas) and one `Person`
per local member (/u/<handle>); their documents, and the key each one signs with."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import current_app, g, has_request_context, request
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member
from coopol.core.uow import has_written
from coopol.extensions import db
from coopol.federation.keys import decrypt_private_key, encrypt_private_key, read_actor_keypair
from coopol.federation.models import MemberKey, MemberProofKey
from coopol.federation.proofs import DATA_INTEGRITY_CONTEXT, MULTIKEY_CONTEXT, generate_ed25519_keypair, multikey
from coopol.federation.protocol import ACTOR_CONTEXT
from coopol.federation.signatures import generate_rsa_keypair

GROUP_NAME = "ideas"
INSTANCE_USERNAME = "instance"


def base_url() -> str:
    return current_app.config["URL"]


def server_host() -> str:
    return current_app.config["SERVER_HOST"]


def instance_actor_id() -> str:
    return f"{base_url()}/actor"


def group_id() -> str:
    return f"{base_url()}/g/{GROUP_NAME}"


def shared_inbox_url() -> str:
    return f"{base_url()}/inbox"


def member_actor_id(handle: str) -> str:
    return f"{base_url()}/u/{handle}"


def key_id_for(actor_id: str) -> str:
    return f"{actor_id}#main-key"


def proof_key_id_for(actor_id: str) -> str:
    """The id of a member's Ed25519 `Multikey`, which signs their votes (FEP-521a, FEP-8b32)."""
    return f"{actor_id}#ed25519-key"


# A Person lists its vote-proof key: the Multikey and Data Integrity terms (FEP-521a).
PERSON_CONTEXT: list[Any] = [*ACTOR_CONTEXT, MULTIKEY_CONTEXT, DATA_INTEGRITY_CONTEXT]


def _public_key(actor_id: str, public_pem: str) -> dict[str, str]:
    return {"id": key_id_for(actor_id), "owner": actor_id, "publicKeyPem": public_pem}


def _file_keypair(name: str) -> tuple[str, str]:
    cache = current_app.extensions.setdefault("coopol.federation.keys", {})
    if name not in cache:
        cache[name] = read_actor_keypair(Path(current_app.instance_path), name)
    return cache[name]


def instance_actor_document() -> dict[str, Any]:
    actor = instance_actor_id()
    return {
        "@context": ACTOR_CONTEXT,
        "id": actor,
        "type": "Application",
        "preferredUsername": INSTANCE_USERNAME,
        "name": current_app.config["NAME"],
        "summary": current_app.config.get("DESCRIPTION", ""),
        "url": f"{base_url()}/",
        "inbox": shared_inbox_url(),
        "outbox": f"{actor}/outbox",
        "endpoints": {"sharedInbox": shared_inbox_url()},
        "manuallyApprovesFollowers": True,
        "publicKey": _public_key(actor, _file_keypair("instance")[1]),
    }


def group_document() -> dict[str, Any]:
    """The party's Group, with what Mastodon, Lemmy and Fedify show of a Group: its icon (the party's logo),
    summary, moderators (`attributedTo`, Lemmy's collection), pinned ideas (`featured`), creation date."""
    actor = group_id()
    document = {
        "@context": ACTOR_CONTEXT,
        "id": actor,
        "type": "Group",
        "preferredUsername": GROUP_NAME,
        "name": current_app.config["NAME"],
        "summary": current_app.config.get("DESCRIPTION", ""),
        "url": f"{base_url()}/",
        "icon": {"type": "Image", "url": f"{base_url()}/logo", "mediaType": _logo_media_type()},
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "followers": f"{actor}/followers",
        "attributedTo": f"{actor}/moderators",
        "featured": f"{actor}/featured",
        "endpoints": {"sharedInbox": shared_inbox_url()},
        # Alliances always wait for an admin; a fediverse follower only under `fediverse_followers = "approval"`.
        "manuallyApprovesFollowers": current_app.config.get("FEDIVERSE_FOLLOWERS", "open") != "open",
        "discoverable": True,
        "publicKey": _public_key(actor, _file_keypair("group")[1]),
    }
    published = _instance_published()
    if published:
        document["published"] = published
    return document


def _logo_media_type() -> str:
    from coopol.config import LOGO_TYPES

    path = current_app.config.get("LOGO_PATH")
    return LOGO_TYPES.get(Path(path).suffix.lower(), "image/svg+xml") if path else "image/svg+xml"


def _instance_published() -> str | None:
    """When the party's space opened: its first local member's arrival (the instance keeps no other date)."""
    from sqlalchemy import func

    first = db.session.scalar(select(func.min(Member.created_at)).where(Member.host.is_(None)))
    return first.isoformat() if first is not None else None


def group_moderators() -> list[str]:
    """Our moderators and admins, as the Group's `attributedTo` collection lists them (Lemmy style)."""
    from coopol.accounts.models import Role

    handles = db.session.scalars(select(Member.handle).where(
        Member.host.is_(None), Member.erased_at.is_(None), Member.role.in_((Role.MODERATOR, Role.ADMIN)))
        .order_by(Member.id))
    return [member_actor_id(handle) for handle in handles]


def member_document(member: Member) -> dict[str, Any]:
    actor = member_actor_id(member.handle)
    key = ensure_member_key(member)
    proof_key = ensure_member_proof_key(member)
    return {
        "@context": PERSON_CONTEXT,
        "id": actor,
        "type": "Person",
        "preferredUsername": member.handle,
        "name": member.name,
        "summary": member.bio or "",
        "url": f"{base_url()}/members/{member.handle}",
        "inbox": f"{actor}/inbox",
        "outbox": f"{actor}/outbox",
        "followers": f"{actor}/followers",
        "following": f"{actor}/following",
        "endpoints": {"sharedInbox": shared_inbox_url()},
        "published": member.created_at.isoformat(),
        "publicKey": _public_key(actor, key.public_key_pem),
        "assertionMethod": [multikey(proof_key_id_for(actor), actor, proof_key.public_key_multibase)],
    }


def ensure_member_key(member: Member) -> MemberKey:
    """The member's key pair, created the first time it is needed.

    Inside a read-only request (a GET of the member's actor document) the key is written in a short
    transaction of its own: on SQLite a read transaction that later writes fails with "database is
    locked" when another writer committed in between, and serving a document must not fail for that."""
    key = db.session.scalar(select(MemberKey).where(MemberKey.member_id == member.id))
    if key is not None:
        return key
    private, public = generate_rsa_keypair()
    return _store_key(MemberKey, member.id, {
        "public_key_pem": public,
        "private_key_encrypted": encrypt_private_key(private, current_app.config["SECRET_KEY"], member.id)})


def ensure_member_proof_key(member: Member) -> MemberProofKey:
    """The member's Ed25519 key pair (their votes' proofs), created the first time it is needed: the vote
    that needs it makes it in its own transaction (microseconds, unlike RSA), a GET as for the RSA key."""
    key = db.session.scalar(select(MemberProofKey).where(MemberProofKey.member_id == member.id))
    if key is not None:
        return key
    private, public = generate_ed25519_keypair()
    return _store_key(MemberProofKey, member.id, {
        "public_key_multibase": public,
        "private_key_encrypted": encrypt_private_key(private, current_app.config["SECRET_KEY"],
                                                     proof_key_binding(member.id))})


def proof_key_binding(member_id: int) -> str:
    """What a member's Ed25519 private key is bound to (never their RSA key's `<member id>`)."""
    return f"ed25519:{member_id}"


def member_proof_signer(member: Member) -> tuple[str, str]:
    """(Multikey id, private PEM) that signs `member`'s votes."""
    key = ensure_member_proof_key(member)
    return proof_key_id_for(member_actor_id(member.handle)), decrypt_private_key(
        key.private_key_encrypted, current_app.config["SECRET_KEY"], proof_key_binding(member.id))


def _store_key(model: type, member_id: int, values: dict[str, Any]):
    """Insert a member's new key row, or hand back the one a concurrent request stored first."""
    values = {"member_id": member_id, **values}
    if _reading_only_request():
        try:
            with db.engine.begin() as connection:
                connection.execute(insert(model).values(**values))
        except IntegrityError:  # a concurrent request created it first: use theirs
            with db.engine.connect() as connection:
                row = connection.execute(select(model.__table__).where(model.member_id == member_id)).one()
            values = dict(row._mapping)
        # The request's own snapshot predates the insert: hand back a detached copy of the stored row.
        return model(**values)
    key = model(**values)
    try:
        with db.session.begin_nested():
            db.session.add(key)
    except IntegrityError:  # a concurrent request created it first: use theirs
        key = db.session.scalar(select(model).where(model.member_id == member_id))
    return key


def _reading_only_request() -> bool:
    """A GET, or the read-only checks of a POST (`database.reading()`: the inbox's), that has written nothing
    (a seed or a test may write inside a GET request context: then the key goes into that transaction,
    since a second connection would wait on its write lock)."""
    return has_request_context() and (request.method in ("GET", "HEAD", "OPTIONS") or bool(g.get("coopol_reading"))) \
        and not has_written()


def local_member_for_actor(actor_id: str) -> Member | None:
    prefix = f"{base_url()}/u/"
    if not actor_id.startswith(prefix):
        return None
    handle = actor_id[len(prefix):]
    return db.session.scalar(select(Member).where(Member.handle == handle, Member.host.is_(None),
                                                  Member.erased_at.is_(None)))


# Other actors of ours (the local groups' `Group` actors): each returns (key id, private PEM) or None.
EXTRA_SIGNERS: list[Callable[[str], tuple[str, str] | None]] = []


def signer_for(actor_id: str) -> tuple[str, str]:
    """(key id, private PEM) to sign as one of our actors; ValueError for anything else."""
    for extra in EXTRA_SIGNERS:
        found = extra(actor_id)
        if found is not None:
            return found
    if actor_id == instance_actor_id():
        return key_id_for(actor_id), _file_keypair("instance")[0]
    if actor_id == group_id():
        return key_id_for(actor_id), _file_keypair("group")[0]
    member = local_member_for_actor(actor_id)
    if member is None:
        raise ValueError(f"{actor_id} is not one of our actors")
    key = ensure_member_key(member)
    return key_id_for(actor_id), decrypt_private_key(key.private_key_encrypted,
                                                     current_app.config["SECRET_KEY"], member.id)


def instance_signer() -> tuple[str, str]:
    """Fetches are signed by the instance actor."""
    return signer_for(instance_actor_id())


def group_followers() -> list[str]:
    from coopol.federation.models import Ally

    allies = db.session.scalars(select(Ally).where(Ally.incoming == "accepted").order_by(Ally.host))
    return [ally.group_id for ally in allies]
