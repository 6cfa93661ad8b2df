"""Votes anyone can audit: every vote our members cast (`Like`, `Dislike`, their `Undo`, on ideas and
comments) carries their FEP-8b32 proof (`eddsa-jcs-2022`, by their Ed25519 `Multikey`), made when the vote
is cast; every ally keeps the signed activity next to the vote, and `coopol audit` checks them all again.

- `sign_vote` / `keep_proof`: the publishing side (publish.py) signs the activity it sends and keeps it;
- `verify_vote_proof`: the inbox's *verify* step for votes, direct or announced: a vote whose proof fails
  is refused (422, counted per host in `ProofHealth`), nothing stored. A vote without a proof (Mastodon,
  Lemmy, Coopol before proofs) is taken as before;
- `votes_collection`: `GET /ideas/{id}/votes` (and `GET /ideas/votes?object=IDEA_URL` for an ally's idea
  we hold a copy of): each vote as we count it, with the signed activity behind it, and our tally per party.

Relays keep a proof intact (publish.announce embeds a signed activity as it is): the proof covers the
activity's `@context` and `audience`, so neither may be added after signing.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import and_, func, select

from coopol.accounts.models import Member
from coopol.core.errors import AuthenticationFailed, DomainError
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.activities import InboxContext
from coopol.federation.proofs import (
    InvalidProof,
    load_ed25519_private,
    proof_of,
    public_from_multibase,
    sign_document,
    verification_method_of,
    verify_document,
)
from coopol.federation.protocol import id_of, type_of
from coopol.ideas.models import Comment, Idea, IdeaVote

VOTE_KINDS = ("Like", "Dislike")


class InvalidVoteProof(DomainError):
    """A vote whose proof fails: refused at the inbox (a resend cannot make it pass) and counted."""

    status_code = 422

    def __init__(self, message: str, host: str) -> None:
        super().__init__(message)
        self.host = host

    def count_refusal(self) -> None:
        """Called by the inbox route once the request's writes are rolled back, in a transaction of its own."""
        record_refused_proof(self.host, self.message)


# ------------------------------------------------------------------------------------ signing


def sign_vote(member: Member, activity: dict[str, Any]) -> dict[str, Any]:
    """`activity` (a vote or its Undo by our `member`, complete: nothing may be added after) with its proof."""
    from coopol.federation.actors import member_proof_signer

    key_id, private_pem = member_proof_signer(member)
    return sign_document(activity, load_ed25519_private(private_pem), key_id, utcnow())


def _target_key(target: Idea | Comment) -> tuple[str, int]:
    return ("comment" if isinstance(target, Comment) else "idea"), target.id


def keep_proof(member: Member, target: Idea | Comment, activity: dict[str, Any]) -> None:
    """Keep `activity` (signed) as `member`'s latest vote activity on `target` (flushes)."""
    from coopol.federation.models import VoteProof

    if proof_of(activity) is None:
        return
    target_type, target_id = _target_key(target)
    row = db.session.scalar(select(VoteProof).where(VoteProof.member_id == member.id,
                                                    VoteProof.target_type == target_type,
                                                    VoteProof.target_id == target_id))
    if row is None:
        row = VoteProof(member_id=member.id, target_type=target_type, target_id=target_id)
        db.session.add(row)
    row.kind = type_of(activity) or ""
    row.activity_id = str(activity.get("id") or "")[:2048]
    row.activity = activity
    row.created_at = utcnow()
    db.session.flush()


# ------------------------------------------------------------------------------------ verifying


def vote_in(activity: dict[str, Any]) -> dict[str, Any] | None:
    """The vote activity (Like, Dislike, or an Undo of one) that `activity` is or announces, else None."""
    candidate = activity.get("object") if type_of(activity) == "Announce" else activity
    if not isinstance(candidate, dict):
        return None
    kind = type_of(candidate)
    if kind in VOTE_KINDS:
        return candidate
    inner = candidate.get("object")
    if kind == "Undo" and (type_of(inner) in VOTE_KINDS or isinstance(inner, str)):
        return candidate
    return None


def voter_key(voter: str, method: str, ctx: InboxContext | None = None, *, remember: bool = True) -> str:
    """The publicKeyMultibase of `voter`'s key `method`: ours from the database, an ally's member's from
    their cached actor (the inbox's sender when it is them), else fetched from the voter's own host.
    InvalidProof when the voter does not list that key; FetchError when their host cannot say now.
    `remember`: keep a fetched actor in the cache (the inbox does, with the item it stores: `ctx.learned`;
    an audit writes nothing meanwhile)."""
    from coopol.federation.actors import local_member_for_actor, member_actor_id, proof_key_id_for
    from coopol.federation.fetch import cached_actor, fetch_actor, remember_actor
    from coopol.federation.urls import host_of

    if method.split("#", 1)[0] != voter:
        raise InvalidProof("the proof is made by a key of someone else than the voter")
    local = local_member_for_actor(voter)
    if local is not None:
        from coopol.federation.actors import ensure_member_proof_key

        if method != proof_key_id_for(member_actor_id(local.handle)):
            raise InvalidProof("not the key of our member")
        return ensure_member_proof_key(local).public_key_multibase
    sender = ctx.actor if ctx is not None else None
    cached = sender if sender is not None and sender.ap_id == voter else cached_actor(voter)
    if cached is not None and method in (cached.proof_keys or {}):
        return cached.proof_keys[method]
    fetched = fetch_actor(voter, allow_host=host_of(voter))  # a new key, or an actor we never cached
    if remember and ctx is not None:
        ctx.learned.append(fetched)  # the inbox's checks only read: it stores the actor with the item
    elif remember:
        remember_actor(fetched)
    keys = dict(fetched.proof_keys)
    if method not in keys:
        raise InvalidProof(f"{voter} lists no key {method}")
    return keys[method]


def check_vote(vote: dict[str, Any], ctx: InboxContext | None = None) -> dict[str, Any]:
    """Verify `vote`'s proof against its voter's Multikey; returns the proof, or raises InvalidProof (or
    FetchError when the voter's key cannot be had now)."""
    voter = id_of(vote.get("actor"))
    if not voter:
        raise InvalidProof("the vote names no actor")
    inner = vote.get("object")
    if isinstance(inner, dict) and id_of(inner.get("actor")) not in (None, voter):
        raise InvalidProof("an Undo takes back the voter's own vote only")
    method = verification_method_of(vote)
    return verify_document(vote, public_from_multibase(voter_key(voter, method, ctx)))


def verify_vote_proof(activity: dict[str, Any], ctx: InboxContext) -> None:
    """The inbox's check of a vote's proof, before anything is stored (see the module docstring)."""
    from coopol.federation.fetch import FetchError

    vote = vote_in(activity)
    if vote is None:
        return
    try:
        if proof_of(vote) is None:
            return
        check_vote(vote, ctx)
    except InvalidProof as error:
        raise InvalidVoteProof(f"Vote proof check failed: {error}", ctx.host) from error
    except FetchError as error:
        raise AuthenticationFailed(f"The voter's key cannot be fetched now: {error}") from error


def record_refused_proof(host: str, reason: str) -> None:
    """Count a refused vote proof from `host` (federation health on the admin dashboard); commits."""
    from coopol.core.uow import unit_of_work

    with unit_of_work():
        row = proof_health(host)
        row.refused_proofs += 1
        row.last_refused_at = utcnow()
        row.last_refused_reason = reason[:500]


def proof_health(host: str):
    from coopol.federation.models import ProofHealth

    row = db.session.scalar(select(ProofHealth).where(ProofHealth.host == host))
    if row is None:
        row = ProofHealth(host=host, refused_proofs=0, last_refused_reason="", audit_idea="", audit_votes=0,
                          audit_problems=0, audit_summary="")
        db.session.add(row)
    return row


# ------------------------------------------------------------------------------------ serving


def party_of(member: Member) -> str:
    """The party (instance host) a voter belongs to."""
    return member.host or current_app.config["SERVER_HOST"]


def votes_query(idea: Idea):
    from coopol.federation.models import VoteProof

    return (select(IdeaVote, Member, VoteProof).join(Member, Member.id == IdeaVote.member_id)
            .outerjoin(VoteProof, and_(VoteProof.member_id == IdeaVote.member_id, VoteProof.target_type == "idea",
                                       VoteProof.target_id == IdeaVote.idea_id))
            .where(IdeaVote.idea_id == idea.id).order_by(IdeaVote.id))


def vote_item(row: Any, target: str) -> dict[str, Any]:
    """One vote as we count it, and the signed activity we hold for it (absent: it came without proof)."""
    from coopol.federation.content.objects import actor_id

    vote, member, proof = row
    item: dict[str, Any] = {"type": "Like" if vote.value == "support" else "Dislike", "actor": actor_id(member),
                            "object": target, "party": party_of(member)}
    if proof is not None and proof.kind in VOTE_KINDS:
        item["signed"] = proof.activity
    return item


def tally_per_party(idea: Idea) -> dict[str, dict[str, int]]:
    """{party host: {"support": n, "oppose": m}} from the vote rows we hold."""
    tally: dict[str, dict[str, int]] = {}
    for host, value, count in db.session.execute(
            select(Member.host, IdeaVote.value, func.count()).join(Member, Member.id == IdeaVote.member_id)
            .where(IdeaVote.idea_id == idea.id).group_by(Member.host, IdeaVote.value)):
        party = host or current_app.config["SERVER_HOST"]
        tally.setdefault(party, {"support": 0, "oppose": 0})[value] += count
    return tally
