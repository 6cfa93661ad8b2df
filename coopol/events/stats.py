"""Participation in gatherings for `/stats` (coopol/core/stats.py): gatherings held (ended, not cancelled)
by the party that hosted them, people who went (going to one that took place) by their own party, and
upcoming ones. Copies of allies' gatherings count for their origin."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.core.time import utcnow
from coopol.events.models import Event, EventState, Rsvp, RsvpStatus
from coopol.extensions import db


def _by_host(stmt) -> dict[str, Any]:
    local = current_app.config["SERVER_HOST"]
    counts: dict[str, int] = {}
    for host, count in db.session.execute(stmt):
        counts[host or local] = counts.get(host or local, 0) + count
    return {"total": sum(counts.values()), "by_instance": dict(sorted(counts.items()))}


def gathering_stats() -> dict[str, dict[str, Any]]:
    now = utcnow()
    took_place = (*Event.listed(), Event.state != EventState.CANCELLED.value, Event.ends_at < now)
    held = _by_host(select(Event.origin_host, func.count()).where(*took_place).group_by(Event.origin_host))
    went = _by_host(select(Member.host, func.count()).select_from(Rsvp).join(Event, Event.id == Rsvp.event_id)
                    .join(Member, Member.id == Rsvp.member_id)
                    .where(*took_place, Rsvp.status == RsvpStatus.GOING.value, Member.erased_at.is_(None))
                    .group_by(Member.host))
    upcoming = _by_host(select(Event.origin_host, func.count()).where(
        *Event.listed(), Event.state != EventState.CANCELLED.value, Event.ends_at >= now).group_by(Event.origin_host))
    return {"held": held, "people_went": went, "upcoming": upcoming}
