"""Reactions to domain events, and what federation tells the domain through registered providers."""

from __future__ import annotations

from sqlalchemy import delete, select

from coopol.accounts.models import Member
from coopol.extensions import db
from coopol.federation.models import Ally, MemberKey, MemberProofKey, VoteProof


def forget_member_key(member: Member, **_: object) -> None:
    """An erased member's actor is gone: its key pairs go with it (the one of HTTP signatures, the one of
    vote proofs), and so do their signed vote activities, which name them (the votes stay counted, as a
    deleted member's; an audit counts them without proof). Also for an ally's person erased by a Delete."""
    db.session.execute(delete(MemberKey).where(MemberKey.member_id == member.id))
    db.session.execute(delete(MemberProofKey).where(MemberProofKey.member_id == member.id))
    db.session.execute(delete(VoteProof).where(VoteProof.member_id == member.id))


def allied_image_hosts() -> list[str]:
    """Hosts of the instances we are allied with (both directions accepted): their images stay images
    in Markdown (`coopol.core.text.register_image_hosts`)."""
    return list(db.session.scalars(select(Ally.host).where(Ally.outgoing == "accepted",
                                                           Ally.incoming == "accepted")))
