"""Moderation operations: report, act, appeal, decide. Each takes the acting member as an argument.

Every action is one row in `moderation_actions` that records `{field: [before, after]}` for what it
changed, one row in the public log, and notifications; an appeal reversal puts the `before` values back
(refusing with a 409 if a later action changed the same fields since). Validation happens before any
write, and the unit of work rolls back everything on an error, so nothing is ever half-applied.

Events (federation subscribes): `report_filed(report, target)`, `content_hidden`, `content_removed`,
`content_restored` (all with `target_type, target, action`), `thread_locked(idea, action)`,
`member_suspended(member, action)`, `member_banned(member, action)`, `member_reinstated(member, action)`,
`thread_unlocked(idea, action)`, `group_locked(group, action)`, `group_unlocked(group, action)`,
`event_locked(event, action)`, `event_unlocked(event, action)`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from coopol.accounts.models import Member, Status
from coopol.accounts.passwords import verify_password
from coopol.accounts.services import end_all_sessions, find_member_by_login
from coopol.core.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, ValidationFailed
from coopol.core.events import publish
from coopol.core.schemas import parse_id, parse_moment
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.moderation import targets
from coopol.moderation.labels import label
from coopol.moderation.models import (
    APPEALABLE,
    ActionKind,
    Appeal,
    AppealStatus,
    ModerationAction,
    ModlogEntry,
    Report,
    ReportReason,
    ReportStatus,
    TargetType,
)
from coopol.moderation.notifications import notify

REASONS = tuple(r.value for r in ReportReason)
ACTIONS = tuple(a.value for a in ActionKind)
ACTION_ALIASES = {"feature": ActionKind.PIN.value, "unfeature": ActionKind.UNPIN.value}
TEXT_MAX = 2000
APPEAL_MAX = 5000
BAN_REASON_MIN = 15
DEFAULT_REPORTS_TO_HIDE = 3

# Targets with the hidden_at / removed_at columns (a group is a space moderated like a piece of content).
ITEM_TYPES = frozenset({TargetType.IDEA, TargetType.COMMENT, TargetType.GROUP, TargetType.EVENT})
LOCKABLE = frozenset({TargetType.IDEA, TargetType.GROUP, TargetType.EVENT})
APPLIES_TO: dict[str, frozenset[str]] = {
    ActionKind.DISMISS: frozenset(TargetType),
    ActionKind.HIDE: ITEM_TYPES, ActionKind.UNHIDE: ITEM_TYPES,
    ActionKind.REMOVE: ITEM_TYPES, ActionKind.RESTORE: ITEM_TYPES,
    ActionKind.LOCK: LOCKABLE, ActionKind.UNLOCK: LOCKABLE,
    ActionKind.PIN: frozenset({TargetType.IDEA}), ActionKind.UNPIN: frozenset({TargetType.IDEA}),
    ActionKind.ANSWER: frozenset({TargetType.IDEA}),
    ActionKind.SUSPEND: frozenset({TargetType.MEMBER}), ActionKind.UNSUSPEND: frozenset({TargetType.MEMBER}),
    ActionKind.BAN: frozenset({TargetType.MEMBER}), ActionKind.UNBAN: frozenset({TargetType.MEMBER}),
}
# Actions that settle the open reports on their target, and how.
RESOLVES_REPORTS = {
    ActionKind.DISMISS: ReportStatus.DISMISSED, ActionKind.HIDE: ReportStatus.ACTIONED,
    ActionKind.REMOVE: ReportStatus.ACTIONED, ActionKind.LOCK: ReportStatus.ACTIONED,
    ActionKind.SUSPEND: ReportStatus.ACTIONED, ActionKind.BAN: ReportStatus.ACTIONED,
}


# --- helpers -------------------------------------------------------------------------------------------

def _not_applicable(action: str, target_type: str) -> ValidationFailed:
    return ValidationFailed.field("action", _("'%(action)s' does not apply to this target: %(target)s.",
                                              action=action, target=label("target_type", target_type)))


def _encode(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _decode(field: str, value: Any) -> Any:
    if value is not None and (field.endswith("_at") or field.endswith("_until")):
        return datetime.fromisoformat(value)
    return value


def _apply(target: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set the fields and return `{field: [before, after]}` for the action row."""
    changes = {}
    for field, value in values.items():
        changes[field] = [_encode(getattr(target, field)), _encode(value)]
        setattr(target, field, value)
    return changes


def _clean_text(value: str | None, field: str, *, required: bool, maximum: int = TEXT_MAX,
                minimum: int = 1) -> str:
    text = (value or "").strip()
    if required and len(text) < minimum:
        message = "A reason is required." if minimum <= 1 else f"Write at least {minimum} characters."
        raise ValidationFailed.field(field, message)
    if len(text) > maximum:
        raise ValidationFailed.field(field, f"Use at most {maximum} characters.")
    return text


def parse_until(value: str | datetime | date | None) -> datetime | None:
    """`2030-01-31`, `2030-01-31T12:00`, or an ISO datetime with offset; naive means UTC. Bounded by
    `coopol.core.schemas.parse_moment` (a year 9999 or 10000 is a 422 naming `until`, not an overflow)."""
    if value is None or value == "":
        return None
    try:
        return parse_moment(value)
    except ValueError as exc:
        raise ValidationFailed.field("until", str(exc)) from None


def _require_moderator(member: Member) -> None:
    if member is None or not member.is_moderator:
        raise PermissionDenied(_("Only moderators can do this."))


def _open_reports(target_type: str, target_id: int) -> list[Report]:
    return list(db.session.scalars(select(Report).where(
        Report.target_type == target_type, Report.target_id == target_id, Report.status == ReportStatus.OPEN)
        .order_by(Report.id)))


def _hidden_pending_review(target_type: str, target: Any) -> bool:
    """Hidden by the automatic rule (enough reports), not by a moderator's decision."""
    if getattr(target, "hidden_at", None) is None:
        return False
    last_hide = db.session.scalar(select(ModerationAction).where(
        ModerationAction.target_type == target_type, ModerationAction.target_id == target.id,
        ModerationAction.action == ActionKind.HIDE, ModerationAction.reversed_at.is_(None))
        .order_by(ModerationAction.id.desc()).limit(1))
    return last_hide is not None and last_hide.is_automatic


def _record(moderator: Member | None, kind: str, target_type: str, target: Any, reason: str,
            changes: dict[str, Any], until: datetime | None = None) -> ModerationAction:
    affected = targets.author_of(target_type, target)
    action = ModerationAction(action=kind, target_type=target_type, target_id=target.id,
                              moderator_id=moderator.id if moderator else None,
                              affected_member_id=affected.id if affected else None,
                              reason=reason, until=until, changes=changes, created_at=utcnow())
    db.session.add(action)
    db.session.flush()
    db.session.add(ModlogEntry(action=kind, moderator_id=action.moderator_id, target_type=target_type,
                               target_id=target.id, reason=reason, until=until, action_id=action.id,
                               created_at=action.created_at))
    return action


def appeal_path(action: ModerationAction) -> str:
    return f"/moderation/actions/{action.id}/appeal"


# --- reports -------------------------------------------------------------------------------------------

def file_report(reporter: Member, target_type: str, target_id: int | str, reason: str, text: str = "") -> Report:
    if reporter.is_restricted() or reporter.is_erased:
        raise PermissionDenied(_("Your account cannot report while it is suspended or banned."))
    targets.check_target_type(target_type)
    if reason not in REASONS:
        raise ValidationFailed.field("reason", _("Use one of: %(choices)s.", choices=", ".join(REASONS)))
    text = _clean_text(text, "text", required=False)
    target = targets.load_target(target_type, target_id)
    target_id = target.id
    if not targets.visible_to(target_type, target, reporter):
        raise NotFound(f"No {target_type} with id {target_id}.")
    author = targets.author_of(target_type, target)
    if author is not None and author.id == reporter.id:
        raise ValidationFailed.field("target_id", _("You cannot report yourself or your own contributions."))
    if target_type in ITEM_TYPES and target.removed_at is not None:
        raise Conflict(f"This {target_type} was already removed by a moderator.")
    if db.session.scalar(select(Report.id).where(Report.reporter_id == reporter.id,
                                                 Report.target_type == target_type,
                                                 Report.target_id == target_id)):
        raise Conflict(f"You already reported this {target_type}.")
    report = Report(reporter_id=reporter.id, target_type=target_type, target_id=target_id, reason=reason,
                    text=text, created_at=utcnow())
    db.session.add(report)
    db.session.flush()
    publish("report_filed", report=report, target=target)
    _hide_when_reported_enough(target_type, target)
    return report


def _hide_when_reported_enough(target_type: str, target: Any) -> None:
    threshold = int(current_app.config.get("REPORTS_TO_HIDE", DEFAULT_REPORTS_TO_HIDE))
    if target_type not in ITEM_TYPES or threshold < 1 or target.hidden_at is not None:
        return
    reports = _open_reports(target_type, target.id)
    if len(reports) < threshold:
        return
    counts = Counter(r.reason for r in reports).most_common()

    def why() -> str:
        return ", ".join(f"{label('reason_word', reason)} ({n})" for reason, n in counts)

    with force_locale(current_app.config["LANGUAGE"]):  # the public log's reason: in the party's language
        reason = _("Hidden automatically after %(n)d reports (%(why)s), pending review by a moderator.",
                   n=len(reports), why=why())
    changes = _apply(target, {"hidden_at": utcnow(), "hidden_reason": reason})
    action = _record(None, ActionKind.HIDE, target_type, target, reason, changes)
    notify(targets.author_of(target_type, target), "content_hidden",
           lambda: _("%(what)s is hidden until a moderator reviews it: several members reported it as %(why)s. "
                     "You can appeal.", what=_your(target_type, target, capital=True), why=why()),
           link=appeal_path(action), action_id=action.id)
    publish("content_hidden", target_type=target_type, target=target, action=action)


def get_report(report_id: int) -> Report:
    report = db.session.get(Report, report_id)
    if report is None:
        raise NotFound(_("No such report."))
    return report


# --- actions -------------------------------------------------------------------------------------------

def take_action(moderator: Member, action: str, target_type: str, target_id: int | str, reason: str, *,
                until: str | datetime | None = None, state: str | None = None,
                answer: str | None = None) -> ModerationAction:
    """Apply one moderation action with its (required) reason."""
    _require_moderator(moderator)
    kind = ACTION_ALIASES.get(action, action)
    if kind not in ACTIONS:
        raise ValidationFailed.field("action", _("Unknown action '%(action)s'. Use one of: %(choices)s.",
                                                 action=action, choices=", ".join(ACTIONS)))
    targets.check_target_type(target_type)
    if target_type not in APPLIES_TO[kind]:
        raise _not_applicable(action, target_type)
    minimum = BAN_REASON_MIN if kind == ActionKind.BAN else 1
    reason = _clean_text(reason, "reason", required=True, minimum=minimum)
    until_at = parse_until(until)
    target = targets.load_target(target_type, target_id)
    now = utcnow()

    if target_type == TargetType.MEMBER:
        changes = _change_member(moderator, kind, target, until_at, now)
    elif kind == ActionKind.ANSWER:
        changes = _answer(moderator, target, state, answer or reason)
    elif kind == ActionKind.DISMISS:
        changes = _dismiss(target_type, target)
    else:
        changes = _change_item(kind, target_type, target, reason, now)

    record = _record(moderator, kind, target_type, target, reason, changes,
                     until_at if kind == ActionKind.SUSPEND else None)
    resolved = _resolve_reports(kind, target_type, target.id, record, now)
    _notify_outcome(record, target_type, target, resolved)
    _publish_action(record, target_type, target)
    return record


def _change_item(kind: str, target_type: str, target: Any, reason: str, now: datetime) -> dict[str, Any]:
    name = target_type
    if kind == ActionKind.HIDE:
        if target.removed_at is not None:
            raise Conflict(f"This {name} is removed; restore it before hiding it.")
        if target.hidden_at is not None:
            raise Conflict(f"This {name} is already hidden.")
        return _apply(target, {"hidden_at": now, "hidden_reason": reason})
    if kind == ActionKind.UNHIDE:
        if target.hidden_at is None:
            raise Conflict(f"This {name} is not hidden.")
        return _apply(target, {"hidden_at": None, "hidden_reason": None})
    if kind == ActionKind.REMOVE:
        if target.removed_at is not None:
            raise Conflict(f"This {name} is already removed.")
        lift_review = _hidden_pending_review(target_type, target)
        changes: dict[str, Any] = _apply(target, {"removed_at": now})
        if lift_review:
            # A moderator has now reviewed it: the removal notice replaces the "pending review" state,
            # and a reversal of the removal must not put the item back under review.
            changes["_review_hide_lifted"] = _apply(target, {"hidden_at": None, "hidden_reason": None})
        return changes
    if kind == ActionKind.RESTORE:
        if target.removed_at is None:
            raise Conflict(f"This {name} is not removed.")
        return _apply(target, {"removed_at": None})
    if kind == ActionKind.LOCK:
        if target.locked_at is not None:
            raise Conflict(_("This group is already locked.") if target_type == TargetType.GROUP
                           else _("This gathering is already locked.") if target_type == TargetType.EVENT
                           else _("This thread is already locked."))
        return _apply(target, {"locked_at": now})
    if kind == ActionKind.UNLOCK:
        if target.locked_at is None:
            raise Conflict(_("This group is not locked.") if target_type == TargetType.GROUP
                           else _("This gathering is not locked.") if target_type == TargetType.EVENT
                           else _("This thread is not locked."))
        return _apply(target, {"locked_at": None})
    if kind == ActionKind.PIN:
        if target.pinned_at is not None:
            raise Conflict(_("This idea is already pinned."))
        return _apply(target, {"pinned_at": now})
    if kind == ActionKind.UNPIN:
        if target.pinned_at is None:
            raise Conflict(_("This idea is not pinned."))
        return _apply(target, {"pinned_at": None})
    raise _not_applicable(kind, target_type)


def _dismiss(target_type: str, target: Any) -> dict[str, Any]:
    if not _open_reports(target_type, target.id):
        raise Conflict(f"There are no open reports on this {target_type}.")
    if target_type in ITEM_TYPES and _hidden_pending_review(target_type, target):
        return _apply(target, {"hidden_at": None, "hidden_reason": None})
    return {}


def _change_member(moderator: Member, kind: str, member: Member, until: datetime | None,
                   now: datetime) -> dict[str, Any]:
    if kind == ActionKind.DISMISS:
        return _dismiss(TargetType.MEMBER, member)
    if member.id == moderator.id:
        raise PermissionDenied(_("You cannot moderate your own account."))
    if member.is_moderator and not moderator.is_admin:
        raise PermissionDenied(_("Only an administrator can suspend or ban a moderator."))
    if kind == ActionKind.SUSPEND:
        if until is None:
            raise ValidationFailed.field("until", _("A suspension needs an end date."))
        if until <= now:
            raise ValidationFailed.field("until", _("Choose a date in the future."))
        if member.status == Status.BANNED:
            raise Conflict(_("This member is banned; lift the ban first."))
        if member.is_restricted(now):
            raise Conflict(_("This member is already suspended."))
        return _apply(member, {"status": Status.SUSPENDED.value, "suspended_until": until})
    if kind == ActionKind.UNSUSPEND:
        if member.status != Status.SUSPENDED:
            raise Conflict(_("This member is not suspended."))
        return _apply(member, {"status": Status.ACTIVE.value, "suspended_until": None})
    if kind == ActionKind.BAN:
        if member.status == Status.BANNED:
            raise Conflict(_("This member is already banned."))
        changes = _apply(member, {"status": Status.BANNED.value, "suspended_until": None})
        end_all_sessions(member)
        return changes
    if kind == ActionKind.UNBAN:
        if member.status != Status.BANNED:
            raise Conflict(_("This member is not banned."))
        return _apply(member, {"status": Status.ACTIVE.value})
    raise _not_applicable(kind, "member")


ANSWER_FIELDS = ("state", "answer", "answer_html", "answered_by_id", "answered_at")


def _answer(moderator: Member, idea: Any, state: str | None, answer: str) -> dict[str, Any]:
    from coopol.ideas.services import answer_idea

    if not state:
        raise ValidationFailed.field("state", _("Choose the idea's new state: evaluating, accepted or rejected."))
    before = {field: _encode(getattr(idea, field)) for field in ANSWER_FIELDS}
    answer_idea(moderator, idea, state, answer)
    return {field: [before[field], _encode(getattr(idea, field))] for field in ANSWER_FIELDS}


def _resolve_reports(kind: str, target_type: str, target_id: int, action: ModerationAction,
                     now: datetime) -> list[Report]:
    status = RESOLVES_REPORTS.get(kind)
    if status is None:
        return []
    reports = _open_reports(target_type, target_id)
    for report in reports:
        report.status = status.value
        report.resolved_at = now
        report.resolved_by_action_id = action.id
    return reports


def _notify_outcome(action: ModerationAction, target_type: str, target: Any, resolved: list[Report]) -> None:
    affected = action.affected_member
    # Each message is written in its reader's language (notify calls these under that language).
    if affected is not None and action.action == ActionKind.DISMISS and "hidden_at" in action.changes:
        notify(affected, "content_restored",
               lambda: _("A moderator reviewed the reports on %(what)s and made it visible again. Reason: %(reason)s",
                         what=_your(target_type, target), reason=action.reason),
               link=targets.target_path(target_type, target), action_id=action.id)
    elif affected is not None and action.action != ActionKind.DISMISS:
        def decision() -> str:
            message = label("decision_on_yours", action.action) % {"what": _your(target_type, target)}
            message += " " + _("Reason: %(reason)s", reason=action.reason)
            if action.action == ActionKind.SUSPEND and action.until:
                message += " " + _("(until %(until)s UTC)", until=f"{action.until:%Y-%m-%d %H:%M}")
            if action.action in APPEALABLE:
                message += " " + _("You can appeal this decision.")
            return message

        link = appeal_path(action) if action.action in APPEALABLE else targets.target_path(target_type, target)
        notify(affected, f"moderation_{action.action}", decision, link=link, action_id=action.id)
    for report in resolved:
        if action.action == ActionKind.DISMISS:
            def outcome() -> str:
                return _("A moderator reviewed your report about %(label)s and took no action. Reason: %(reason)s",
                         label=targets.target_label(target_type, target), reason=action.reason)
        else:
            def outcome() -> str:
                return _("Thank you for your report about %(label)s. The moderators' decision: %(action)s. "
                         "Reason: %(reason)s", label=targets.target_label(target_type, target),
                         action=label("action", action.action), reason=action.reason)
        notify(report.reporter, "report_outcome", outcome, link="/modlog", action_id=action.id)


def _your(target_type: str, target: Any, *, capital: bool = False) -> str:
    """"your idea “Night trains”", "your account": a notification's words for what it is about."""
    kind = "your_target_capital" if capital else "your_target"
    return label(kind, target_type).replace("%(label)s", targets.target_label(target_type, target))


def _publish_action(action: ModerationAction, target_type: str, target: Any) -> None:
    kind = action.action
    if kind == ActionKind.HIDE:
        publish("content_hidden", target_type=target_type, target=target, action=action)
    elif kind == ActionKind.REMOVE:
        publish("content_removed", target_type=target_type, target=target, action=action)
    elif kind in (ActionKind.UNHIDE, ActionKind.RESTORE) or (
            kind == ActionKind.DISMISS and "hidden_at" in action.changes):
        publish("content_restored", target_type=target_type, target=target, action=action)
    elif kind == ActionKind.LOCK and target_type == TargetType.GROUP:
        publish("group_locked", group=target, action=action)
    elif kind == ActionKind.UNLOCK and target_type == TargetType.GROUP:
        publish("group_unlocked", group=target, action=action)
    elif kind == ActionKind.LOCK and target_type == TargetType.EVENT:
        publish("event_locked", event=target, action=action)
    elif kind == ActionKind.UNLOCK and target_type == TargetType.EVENT:
        publish("event_unlocked", event=target, action=action)
    elif kind == ActionKind.LOCK:
        publish("thread_locked", idea=target, action=action)
    elif kind == ActionKind.UNLOCK:
        publish("thread_unlocked", idea=target, action=action)
    elif kind == ActionKind.SUSPEND:
        publish("member_suspended", member=target, action=action)
    elif kind == ActionKind.BAN:
        publish("member_banned", member=target, action=action)
    elif kind in (ActionKind.UNSUSPEND, ActionKind.UNBAN):
        publish("member_reinstated", member=target, action=action)


def get_action(action_id: int) -> ModerationAction:
    action = db.session.get(ModerationAction, action_id)
    if action is None:
        raise NotFound(_("No such moderation action."))
    return action


# --- appeals -------------------------------------------------------------------------------------------

def member_for_appeal(login: str, password: str) -> Member:
    """Suspended and banned members cannot sign in, yet they may appeal: they prove who they are here."""
    member = find_member_by_login(login)
    if member is None or member.is_erased or not verify_password(member.password_hash, password or ""):
        raise AuthenticationFailed(_("Invalid login or password."))
    return member


def appeal_action(member: Member, action_id: int, text: str) -> Appeal:
    action = get_action(action_id)
    if action.affected_member_id != member.id:
        raise PermissionDenied(_("Only the member affected by this decision can appeal it."))
    if action.action not in APPEALABLE:
        raise Conflict(_("Only a hide, a removal, a suspension or a ban can be appealed."))
    if action.appeal is not None:
        raise Conflict(_("You already appealed this decision; each decision can be appealed once."))
    if action.reversed_at is not None:
        raise Conflict(_("This decision was already reversed."))
    text = _clean_text(text, "text", required=True, maximum=APPEAL_MAX)
    appeal = Appeal(action_id=action.id, appellant_id=member.id, text=text, created_at=utcnow())
    db.session.add(appeal)
    db.session.flush()
    return appeal


def get_appeal(appeal_id: int) -> Appeal:
    appeal = db.session.get(Appeal, appeal_id)
    if appeal is None:
        raise NotFound(_("No such appeal."))
    return appeal


def decide_appeal(moderator: Member, appeal_id: int, decision: str, reason: str) -> Appeal:
    """Uphold or reverse, by a moderator other than the one who acted. Reversal restores the before-values."""
    _require_moderator(moderator)
    if decision not in ("uphold", "reverse"):
        raise ValidationFailed.field("decision", _("Use 'uphold' or 'reverse'."))
    reason = _clean_text(reason, "reason", required=True)
    appeal = get_appeal(appeal_id)
    if appeal.status != AppealStatus.PENDING:
        raise Conflict(_("This appeal was already decided."))
    action = appeal.action
    if action.moderator_id == moderator.id:
        raise PermissionDenied(_("A different moderator than the one who acted must decide this appeal."))
    if appeal.appellant_id == moderator.id:
        raise PermissionDenied(_("You cannot decide your own appeal."))
    target = targets.load_target(action.target_type, action.target_id)
    now = utcnow()
    if decision == "reverse":
        _restore(target, action.changes)
        action.reversed_at = now
    appeal.status = (AppealStatus.REVERSED if decision == "reverse" else AppealStatus.UPHELD).value
    appeal.decided_by_id = moderator.id
    appeal.decision_reason = reason
    appeal.decided_at = now
    db.session.add(ModlogEntry(action=f"appeal_{appeal.status}", moderator_id=moderator.id,
                               target_type=action.target_type, target_id=action.target_id, reason=reason,
                               action_id=action.id, appeal_id=appeal.id, created_at=now))
    def outcome() -> str:
        values = {"action": label("action", action.action), "reason": reason,
                  "label": targets.target_label(action.target_type, target)}
        if decision == "reverse":
            return _("Your appeal against the decision “%(action)s” on %(label)s was granted: the decision is "
                     "reversed and what it changed is restored. Reason: %(reason)s", **values)
        return _("Your appeal against the decision “%(action)s” on %(label)s was rejected. Reason: %(reason)s",
                 **values)

    notify(appeal.appellant, f"appeal_{appeal.status}", outcome, link="/modlog", action_id=action.id)
    if decision == "reverse":
        if action.target_type == TargetType.MEMBER:
            publish("member_reinstated", member=target, action=action)
        else:
            publish("content_restored", target_type=action.target_type, target=target, action=action)
    db.session.flush()
    return appeal


def _restore(target: Any, changes: dict[str, Any]) -> None:
    fields = {field: values for field, values in changes.items() if not field.startswith("_")}
    for field, (_before, after) in fields.items():
        if getattr(target, field) != _decode(field, after):
            raise Conflict(_("A later decision changed this item since; act on it directly instead."),
                           {field: [_("Changed by a later decision.")]})
    for field, (before, _after) in fields.items():
        setattr(target, field, _decode(field, before))


def pending_appeals() -> list[Appeal]:
    return list(db.session.scalars(select(Appeal).where(Appeal.status == AppealStatus.PENDING)
                                   .order_by(Appeal.id)))


# --- queue and log -------------------------------------------------------------------------------------

def moderation_queue(moderator: Member, *, cursor: str | None = None, limit: int = 20
                     ) -> tuple[list[dict[str, Any]], str | None]:
    """Open reports grouped by item, the item reported first coming first."""
    _require_moderator(moderator)
    first = func.min(Report.id).label("first_report_id")
    query = (select(Report.target_type, Report.target_id, first)
             .where(Report.status == ReportStatus.OPEN)
             .group_by(Report.target_type, Report.target_id))
    if parse_id(cursor) is not None:
        query = query.having(func.min(Report.id) > parse_id(cursor))
    rows = db.session.execute(query.order_by(first).limit(limit + 1)).all()
    next_cursor = str(rows[limit - 1].first_report_id) if len(rows) > limit else None
    groups = []
    for row in rows[:limit]:
        reports = _open_reports(row.target_type, row.target_id)
        try:
            target = targets.moderator_target(row.target_type,
                                              targets.load_target(row.target_type, row.target_id))
        except NotFound:
            target = {"type": row.target_type, "id": row.target_id, "label": _("(no longer exists)"), "url": None}
        groups.append({
            "target_type": row.target_type, "target_id": row.target_id, "target": target,
            "report_count": len(reports), "first_reported_at": reports[0].created_at if reports else None,
            "reports": [report_view(r, for_moderator=True) for r in reports],
        })
    return groups, next_cursor


def report_view(report: Report, *, for_moderator: bool = False) -> dict[str, Any]:
    view = {"id": report.id, "target_type": report.target_type, "target_id": report.target_id,
            "reason": report.reason, "text": report.text, "status": report.status,
            "created_at": report.created_at}
    if for_moderator:
        view["reporter"] = {"handle": report.reporter.handle, "name": report.reporter.name}
    return view


def list_modlog(*, cursor: str | None = None, limit: int = 20) -> tuple[list[dict[str, Any]], str | None]:
    query = select(ModlogEntry)
    if parse_id(cursor) is not None:
        query = query.where(ModlogEntry.id < parse_id(cursor))
    rows = list(db.session.scalars(query.order_by(ModlogEntry.id.desc()).limit(limit + 1)))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return [modlog_view(entry) for entry in rows[:limit]], next_cursor


def modlog_view(entry: ModlogEntry) -> dict[str, Any]:
    """A public log line. It never names a reporter; an automatic action has no moderator."""
    moderator = entry.moderator
    return {
        "id": entry.id, "created_at": entry.created_at, "action": entry.action,
        "moderator": (moderator.handle if not moderator.is_erased else "deleted member") if moderator else None,
        "automatic": entry.moderator_id is None and not entry.action.startswith("appeal_"),
        "target": targets.public_target(entry.target_type, entry.target_id),
        "reason": entry.reason, "until": entry.until, "action_id": entry.action_id,
    }


def action_view(action: ModerationAction) -> dict[str, Any]:
    return {
        "id": action.id, "action": action.action, "target_type": action.target_type,
        "target_id": action.target_id, "reason": action.reason, "until": action.until,
        "moderator": action.moderator.handle if action.moderator else None,
        "automatic": action.is_automatic, "created_at": action.created_at, "reversed_at": action.reversed_at,
        "appealable": action.is_appealable and action.appeal is None,
        "appeal_status": action.appeal.status if action.appeal else None,
    }


def appeal_view(appeal: Appeal, *, for_moderator: bool = False) -> dict[str, Any]:
    view = {"id": appeal.id, "action_id": appeal.action_id, "text": appeal.text, "status": appeal.status,
            "created_at": appeal.created_at, "decided_at": appeal.decided_at,
            "decision_reason": appeal.decision_reason,
            "decided_by": appeal.decided_by.handle if appeal.decided_by else None}
    if for_moderator:
        view["appellant"] = appeal.appellant.handle
        view["action"] = action_view(appeal.action)
    return view


# --- privacy -------------------------------------------------------------------------------------------

def export_reports(member: Member) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Report).where(Report.reporter_id == member.id).order_by(Report.id))
    return [{"target_type": r.target_type, "target_id": r.target_id, "reason": r.reason, "text": r.text,
             "status": r.status, "created_at": _encode(r.created_at)} for r in rows]


def export_appeals(member: Member) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Appeal).where(Appeal.appellant_id == member.id).order_by(Appeal.id))
    return [{"action": a.action.action, "action_reason": a.action.reason, "text": a.text, "status": a.status,
             "decision_reason": a.decision_reason, "created_at": _encode(a.created_at),
             "decided_at": _encode(a.decided_at)} for a in rows]


def erase_moderation_data(member: Member) -> None:
    """On erasure: the member's own words in reports and appeals are blanked (notifications: their package)."""
    for report in db.session.scalars(select(Report).where(Report.reporter_id == member.id)):
        report.text = ""
    for appeal in db.session.scalars(select(Appeal).where(Appeal.appellant_id == member.id)):
        appeal.text = ""
