"""Federation storage: allies (remote instances), remote actors, member keys, inbox and outbox rows."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coopol.core.state import StateMachine
from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db

# One side of an alliance: our Follow of their Group ("outgoing") or theirs of ours ("incoming").
#   none -> pending (a Follow is sent or received) -> accepted | rejected; any -> revoked (Undo).
ALLIANCE_SIDE = StateMachine("alliance side", {
    "none": {"pending", "accepted"},
    "pending": {"pending", "accepted", "rejected", "revoked"},
    "accepted": {"accepted", "revoked", "pending"},
    "rejected": {"pending", "rejected", "revoked"},
    "revoked": {"pending", "revoked"},
})

# A delivery is tried until it is delivered, fails for good, or is cancelled (alliance ended).
DELIVERY = StateMachine("delivery", {
    "pending": {"delivered", "retrying", "failed", "cancelled"},
    "retrying": {"delivered", "retrying", "failed", "cancelled"},
})

# A received activity: processed, ignored (no handler for its type), or errored and retried.
INBOX_ITEM = StateMachine("inbox item", {
    "received": {"processed", "ignored", "errored"},
    "errored": {"processed", "ignored", "errored", "failed"},
})


class JSONText(db.TypeDecorator):
    """JSON kept as text: identical on SQLite and PostgreSQL, and the exact received document."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def process_result_value(self, value: str | None, dialect) -> Any:
        return None if value is None else json.loads(value)


class Ally(db.Model):
    """A remote instance we are allied with, or asking, or asked by (host normalised, port kept)."""

    __tablename__ = "federation_allies"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    base_url: Mapped[str] = mapped_column(String(2048))
    group_id: Mapped[str] = mapped_column(String(2048), unique=True)
    group_inbox: Mapped[str] = mapped_column(String(2048))
    shared_inbox: Mapped[str | None] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(200), default="")
    outgoing: Mapped[str] = mapped_column(String(16), default="none")
    incoming: Mapped[str] = mapped_column(String(16), default="none")
    our_follow_id: Mapped[str | None] = mapped_column(String(2048))
    their_follow_id: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Delivery health, per host: the breaker pauses every delivery to a failing peer.
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    breaker_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")

    @property
    def is_allied(self) -> bool:
        return self.outgoing == "accepted" and self.incoming == "accepted"

    @property
    def status(self) -> str:
        """One word for lists: allied, requested (we asked), pending (they asked), rejected, revoked."""
        if self.is_allied:
            return "allied"
        if self.incoming == "pending":
            return "pending"
        if self.outgoing in ("pending", "accepted"):
            return "requested"
        if "revoked" in (self.outgoing, self.incoming):
            return "revoked"
        if "rejected" in (self.outgoing, self.incoming):
            return "rejected"
        return "none"

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.group_inbox

    def __repr__(self) -> str:
        return f"<Ally {self.host} out={self.outgoing} in={self.incoming}>"


class RemoteActor(db.Model):
    """A cached remote actor document (Group, Application or Person) and its public key."""

    __tablename__ = "federation_remote_actors"

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    type: Mapped[str] = mapped_column(String(32))
    preferred_username: Mapped[str] = mapped_column(String(200), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    inbox: Mapped[str] = mapped_column(String(2048))
    shared_inbox: Mapped[str | None] = mapped_column(String(2048))
    key_id: Mapped[str] = mapped_column(String(2048), index=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    # {key id: publicKeyMultibase}: the Ed25519 Multikeys its `assertionMethod` lists (vote proofs, FEP-521a)
    proof_keys: Mapped[dict[str, str] | None] = mapped_column(JSONText)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class GroupKey(db.Model):
    """A local group's RSA key pair (its `Group` actor at /groups/<slug> signs with it), encrypted as
    members' keys are, bound to the group's id."""

    __tablename__ = "federation_group_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), unique=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MemberKey(db.Model):
    """A local member's RSA key pair; the private key is encrypted with a key derived from the
    instance secret (AES-GCM), so a database dump alone does not let anyone sign as the member."""

    __tablename__ = "federation_member_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), unique=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MemberProofKey(db.Model):
    """A local member's Ed25519 key pair, which signs their votes (FEP-8b32 proofs; the public half is the
    `Multikey` of their `Person`). Encrypted as the RSA one is, bound to `ed25519:<member id>` so that the
    two blobs cannot be swapped. Made when first needed: unlike RSA, it takes microseconds."""

    __tablename__ = "federation_member_proof_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), unique=True)
    public_key_multibase: Mapped[str] = mapped_column(String(64))
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InboxItem(db.Model):
    """A received activity, stored once by id when its checks pass (repeats are no-ops), then applied by a
    worker (inbox.py). `next_attempt_at` is the lease of the worker applying it, or when an errored item
    is due again."""

    __tablename__ = "federation_inbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(2048))
    host: Mapped[str] = mapped_column(String(255), index=True)
    payload: Mapped[Any] = mapped_column(JSONText)
    state: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OutboxActivity(db.Model):
    """An activity we sent, written in the same transaction as the change that caused it."""

    __tablename__ = "federation_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    ap_id: Mapped[str] = mapped_column(String(2048), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[Any] = mapped_column(JSONText)
    public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    deliveries: Mapped[list[Delivery]] = relationship(back_populates="activity", cascade="all, delete-orphan")


class Delivery(db.Model):
    """One activity to one inbox. Workers claim due rows, POST, and record the outcome."""

    __tablename__ = "federation_deliveries"
    __table_args__ = (UniqueConstraint("activity_id", "inbox_url", name="uq_federation_deliveries_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("federation_outbox.id", ondelete="CASCADE"), index=True)
    inbox_url: Mapped[str] = mapped_column(String(2048))
    host: Mapped[str] = mapped_column(String(255), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    activity: Mapped[OutboxActivity] = relationship(back_populates="deliveries")


Index("ix_federation_deliveries_due", Delivery.state, Delivery.next_attempt_at)
Index("ix_federation_inbox_due", InboxItem.state, InboxItem.next_attempt_at)
Index("ix_federation_inbox_pickup", InboxItem.state, InboxItem.id)  # received items, in order of arrival


class AllyBan(db.Model):
    """A person banned by an allied Group (its `Block`, FEP-1b12 style): while `lifted_at` is None, that
    person may not comment or vote on copies of that ally's ideas here. `block_id` is the latest Block
    applied (or undone). A lifted ban keeps its row, so that a Block delivered after its own Undo (retries
    reorder deliveries) is recognised and ignored; `decided_at` is the `published` time of the latest
    Block or Undo applied, when the ally gave one, so that an older one arriving late changes nothing."""

    __tablename__ = "federation_ally_bans"
    __table_args__ = (UniqueConstraint("group_id", "actor_id", name="uq_federation_ally_bans_group_actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_host: Mapped[str] = mapped_column(String(255), index=True)
    group_id: Mapped[str] = mapped_column(String(2048))
    actor_id: Mapped[str] = mapped_column(String(2048), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    block_id: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# A backfill job: queued with the alliance, run page by page by the worker (or inline by the CLI).
BACKFILL = StateMachine("backfill", {
    "queued": {"running", "failed", "queued", "done"},  # done: the CLI ran it inline meanwhile
    "running": {"running", "queued", "done", "failed"},
    "done": {"queued"},
    "failed": {"queued", "done"},
})


class Backfill(db.Model):
    """Pulling an ally's published ideas, their comments and votes: one row per ally, committed with the
    alliance. `next_url` is the page to read next (None: from the start); a worker holds the row while
    `claimed_until` lies ahead, and one that dies leaves a lease that runs out, so another resumes."""

    __tablename__ = "federation_backfills"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="queued")
    next_url: Mapped[str | None] = mapped_column(String(2048))
    total: Mapped[int] = mapped_column(Integer, default=0)
    seen: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    votes: Mapped[int] = mapped_column(Integer, default=0)
    pages: Mapped[int] = mapped_column(Integer, default=0)  # documents of the ideas collection read
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0)  # their size
    truncated: Mapped[int] = mapped_column(Integer, default=0)  # collections cut short by the backfill bounds
    truncation: Mapped[str] = mapped_column(Text, default="")  # the last one, and why
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_federation_backfills_due", Backfill.state, Backfill.next_attempt_at)


class VoteClock(db.Model):
    """The time (`published`) of the latest vote activity applied for one remote person on one idea or
    comment: deliveries may be reordered (a worker killed mid-batch resends its leased rows after newer
    ones), and a `Like` older than the `Undo` or `Dislike` that followed it must change nothing. The row
    outlives the vote: after an `Undo` it is the tombstone (`undone`) that makes the late `Like` stale.
    Activities without `published` are applied in arrival order and leave the clock as it is."""

    __tablename__ = "federation_vote_clocks"
    __table_args__ = (UniqueConstraint("member_id", "target_type", "target_id",
                                       name="uq_federation_vote_clocks_member_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))  # idea | comment
    target_id: Mapped[int] = mapped_column(Integer)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    activity_id: Mapped[str] = mapped_column(String(2048), default="")
    undone: Mapped[bool] = mapped_column(Boolean, default=False)


# A fediverse follower of one of our Group actors (not an ally): asked -> accepted | rejected; -> revoked
# (an admin's revocation or the follower's Undo). A new Follow after a refusal or an end asks again.
FOLLOWER = StateMachine("follower", {
    "pending": {"pending", "accepted", "rejected", "revoked"},
    "accepted": {"accepted", "revoked"},
    "rejected": {"pending", "accepted", "rejected"},
    "revoked": {"pending", "accepted", "rejected", "revoked"},
})


class Follower(db.Model):
    """Any fediverse actor (a Mastodon Person, a Fedify server...) following one of our Group actors: it
    receives the Group's Announces of new ideas, answers and gatherings, and nothing it sends counts in
    a party tally. `group_actor` is our Group's actor id (the party's Group, or a local group's)."""

    __tablename__ = "federation_followers"
    __table_args__ = (UniqueConstraint("group_actor", "actor_id", name="uq_federation_followers_group_actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_actor: Mapped[str] = mapped_column(String(2048))
    actor_id: Mapped[str] = mapped_column(String(2048), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    inbox: Mapped[str] = mapped_column(String(2048))
    shared_inbox: Mapped[str | None] = mapped_column(String(2048))
    follow_id: Mapped[str] = mapped_column(String(2048))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def delivery_inbox(self) -> str:
        return self.shared_inbox or self.inbox


class FediverseVote(db.Model):
    """A Like or Dislike by a follower who is not a member of an allied party: counted apart ("12 from
    the fediverse"), never in a party tally. One per actor and target (an idea or a comment)."""

    __tablename__ = "federation_fediverse_votes"
    __table_args__ = (UniqueConstraint("target_type", "target_id", "actor_id",
                                       name="uq_federation_fediverse_votes_target_actor"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[str] = mapped_column(String(2048))
    host: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # Like | Dislike
    activity_id: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


Index("ix_federation_followers_state", Follower.group_actor, Follower.state)
Index("ix_federation_fediverse_votes_target", FediverseVote.target_type, FediverseVote.target_id)


class VoteProof(db.Model):
    """The latest signed vote activity (Like, Dislike or their Undo, with its FEP-8b32 proof, exactly as its
    voter's instance made it) of one person on one idea or comment: our members' as we signed them, allies'
    members' as received. `GET /ideas/{id}/votes` serves them and `coopol audit` checks them. The vote itself
    stays the domain's row (`IdeaVote`, `CommentVote`); a vote that came without proof has none here."""

    __tablename__ = "federation_vote_proofs"
    __table_args__ = (UniqueConstraint("member_id", "target_type", "target_id",
                                       name="uq_federation_vote_proofs_member_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))  # idea | comment
    target_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # Like | Dislike | Undo
    activity_id: Mapped[str] = mapped_column(String(2048))
    activity: Mapped[dict[str, Any]] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ProofHealth(db.Model):
    """Vote proofs, per ally host: how many of its deliveries the inbox refused for a failing proof, and the
    last `coopol audit` of its votes (shown on the admin dashboard)."""

    __tablename__ = "federation_proof_health"

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255), unique=True)
    refused_proofs: Mapped[int] = mapped_column(Integer, default=0)
    last_refused_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_refused_reason: Mapped[str] = mapped_column(Text, default="")
    audited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    audit_idea: Mapped[str] = mapped_column(String(2048), default="")
    audit_votes: Mapped[int] = mapped_column(Integer, default=0)
    audit_problems: Mapped[int] = mapped_column(Integer, default=0)
    audit_summary: Mapped[str] = mapped_column(Text, default="")


Index("ix_federation_vote_proofs_target", VoteProof.target_type, VoteProof.target_id)


class QueuedVote(db.Model):
    """A vote (Like, Dislike or Undo) of one of our members, waiting for the worker to make its activity: the
    vote's transaction writes only this row, the worker builds the activity, signs it with the member's key
    (FEP-8b32), keeps the proof and sends it, in the order of the votes (see content/vote_queue.py)."""

    __tablename__ = "federation_vote_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    target_type: Mapped[str] = mapped_column(String(16))  # idea | comment
    target_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # Like | Dislike | Undo
    undone: Mapped[str | None] = mapped_column(String(16))  # an Undo's: Like | Dislike
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the vote's time, the activity's `published`
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
