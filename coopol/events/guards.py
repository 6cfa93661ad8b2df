"""Who may see and do what with a gathering: checks shared by every service of this package."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied
from coopol.core.time import utcnow
from coopol.events.models import RSVP_STATES, Event, EventMode, EventState
from coopol.extensions import db
from coopol.groups import guards as group_guards
from coopol.groups.models import MembershipState


def ensure_can_act(member: Member | None) -> Member:
    """A local member acting through the web or the API (logged in, not erased, not restricted)."""
    return group_guards.ensure_can_act(member)


def ensure_person_may_rsvp(member: Member | None) -> Member:
    """Anyone who may RSVP: a local member as above, or an ally's member known here (remote Member rows,
    for whom the origin instance decides)."""
    if member is None:
        raise AuthenticationFailed(_("Please log in first."))
    if member.is_local:
        return ensure_can_act(member)
    if member.is_erased or member.is_restricted():
        raise PermissionDenied(_("This account may not take part here."))
    return member


def is_moderator(viewer: Member | None) -> bool:
    return group_guards.is_moderator(viewer)


def is_organiser(event: Event, member: Member | None) -> bool:
    """The member who hosts it, or an organiser of the group it is hosted for."""
    if member is None or not getattr(member, "is_authenticated", False) or getattr(member, "id", None) is None:
        return False
    if event.organiser_id is not None and event.organiser_id == member.id:
        if event.group is None or not event.is_local:
            return True
        # A group's gathering belongs to the group: its host keeps it while still in the group (not after
        # leaving, or being removed by its organisers, who then manage it).
        membership = group_guards.membership_of(event.group, member)
        if membership is not None and membership.state == MembershipState.ACTIVE:
            return True
    return event.group is not None and group_guards.is_organiser(event.group, member)


def online_url_for(event: Event, rsvp: Any) -> str | None:
    """The meeting room's address for someone allowed to see it (going, or an organiser): ours on our
    own gathering; on an ally's copy, the one its origin sent that person privately (their RSVP's)."""
    if event.is_local:
        return event.online_url
    return rsvp.online_url if rsvp is not None and rsvp.status == "going" else None


def has_online_url(event: Event) -> bool:
    """Whether there is a link to meet online (shown, or said to be shown to the people going). An
    ally's online or hybrid gathering has one, which its origin sends each person going."""
    return event.online_url is not None or (not event.is_local and event.mode != EventMode.IN_PERSON)


def can_view(event: Event, viewer: Member | None) -> bool:
    if event.removed_at is not None:
        return is_moderator(viewer)
    if event.group is not None and not group_guards.can_view(event.group, viewer):
        return False  # the moderators hid or removed its group
    if event.state == EventState.DRAFT or event.hidden_at is not None:
        return is_organiser(event, viewer) or is_moderator(viewer)
    return True


def ensure_viewable(event: Event | None, viewer: Member | None, event_id: object) -> Event:
    if event is None or not can_view(event, viewer):
        raise NotFound(_("No gathering with id %(id)s.", id=str(event_id)[:20]))
    return event


def ensure_organiser(event: Event, actor: Member) -> None:
    if not is_organiser(event, actor):
        raise PermissionDenied(_("Only the gathering's organisers may do this."))


def ensure_local(event: Event) -> None:
    if not event.is_local:
        raise PermissionDenied(_("This gathering belongs to an allied party: it is changed on its own instance."))


def ensure_editable(event: Event) -> None:
    if event.removed_at is not None or event.locked_at is not None:
        raise Conflict(_("This gathering is locked by the moderators."))
    if event.state == EventState.CANCELLED:
        raise Conflict(_("This gathering was cancelled: it can no longer be changed."))


def ensure_open_for_rsvp(event: Event) -> None:
    """409 for a draft, cancelled, past or moderated gathering."""
    if event.state == EventState.DRAFT:
        raise Conflict(_("This gathering is not published yet."))
    if event.state == EventState.CANCELLED:
        raise Conflict(_("This gathering was cancelled."))
    if event.state not in RSVP_STATES:
        raise Conflict(_("This gathering takes no answers now."))
    if event.ends_at <= utcnow():
        raise Conflict(_("This gathering is over."))
    if event.removed_at is not None or event.hidden_at is not None or event.locked_at is not None:
        raise Conflict(_("This gathering is locked by the moderators."))


def lock_event(event: Event) -> Event:
    """Reload the event and hold its row until the end of the transaction (PostgreSQL: FOR UPDATE;
    SQLite: write transactions are already serialised by BEGIN IMMEDIATE), so counters read are current."""
    db.session.scalars(select(Event).where(Event.id == event.id).with_for_update(of=Event.__table__)
                       .execution_options(populate_existing=True)).one()
    return event
