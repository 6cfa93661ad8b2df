"""Votes delivered out of order end as their sender meant: a `Like` resent after its `Undo`, or after the
`Dislike` that replaced it (a delivery worker killed mid-batch resends its leased rows after newer
ones), changes nothing.

Per remote person and idea or comment we keep the `published` time of the latest vote activity applied
(`VoteClock`, kept after an `Undo` as its tombstone); an activity older than that is stale. Coopol sets
`published` on every vote it sends, and an ally's Group relays the activity as it was (FEP-1b12), so
the time is the voter's own instance's. Activities without `published` (Mastodon's, Lemmy's) are
applied in arrival order, as before, and leave the clock as it is. Callers hold the target's row lock
(`lock_idea`, `lock_comment`): reading and moving the clock are serialised with the vote itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.extensions import db
from coopol.federation.content.objects import _datetime
from coopol.federation.models import VoteClock
from coopol.ideas.guards import lock_comment, lock_idea
from coopol.ideas.models import Comment, Idea


def activity_time(activity: dict[str, Any]) -> datetime | None:
    """When the sender says the vote activity happened (its `published`), if it says so."""
    return _datetime(activity.get("published"))


def lock_target(target: Idea | Comment) -> None:
    if isinstance(target, Comment):
        lock_comment(target)
    else:
        lock_idea(target)


def advance(member: Member, target: Idea | Comment, when: datetime | None, activity_id: str | None, *,
            undone: bool) -> bool:
    """Record that `member`'s vote activity of time `when` on `target` is being applied (`undone`: an
    Undo). False, writing nothing, when a later one was applied already: the caller changes nothing."""
    if when is None:
        return True
    target_type = "comment" if isinstance(target, Comment) else "idea"
    clock = db.session.scalar(select(VoteClock).where(VoteClock.member_id == member.id,
                                                      VoteClock.target_type == target_type,
                                                      VoteClock.target_id == target.id))
    if clock is None:
        db.session.add(VoteClock(member_id=member.id, target_type=target_type, target_id=target.id,
                                 voted_at=when, activity_id=activity_id or "", undone=undone))
    elif when < clock.voted_at:
        return False
    else:
        clock.voted_at, clock.activity_id, clock.undone = when, activity_id or "", undone
    db.session.flush()
    return True
