"""Moderation API: reports, the moderators' queue and actions, appeals, the public log."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from coopol.accounts.auth import require_moderator
from coopol.core.errors import AuthenticationFailed, NotFound
from coopol.core.schemas import Blueprint
from coopol.extensions import db
from coopol.moderation import schemas, services, targets
from coopol.moderation.models import ModlogEntry, Report, ReportStatus

blp = Blueprint("moderation_api", __name__, url_prefix="/api/v1",
                description="Reports, moderation, appeals and the public moderation log")


@blp.post("/reports")
@login_required
@blp.arguments(schemas.ReportCreateSchema)
@blp.response(201, schemas.ReportSchema)
def create_report(data):
    """Report an idea, a comment or a member. One report per member per item; moderators only see who."""
    report = services.file_report(current_user, data["target_type"], data["target_id"], data["reason"],
                                  data["text"])
    return services.report_view(report)


@blp.get("/moderation/queue")
@blp.arguments(schemas.PageQuerySchema, location="query")
@blp.response(200, schemas.QueueSchema)
def queue(args):
    """Open reports grouped by item, oldest first, with the item and its context (moderators)."""
    items, next_cursor = services.moderation_queue(require_moderator(), cursor=args["cursor"],
                                                   limit=args["limit"])
    return {"items": items, "next_cursor": next_cursor}


@blp.post("/moderation/actions")
@blp.arguments(schemas.ActionCreateSchema)
@blp.response(201, schemas.ActionSchema)
def create_action(data):
    """Act on an item or a member, with a reason (moderators). Every action goes to the public log."""
    action = services.take_action(require_moderator(), data["action"], data["target_type"], data["target_id"],
                                  data["reason"], until=data["until"], state=data["state"],
                                  answer=data["answer"])
    return services.action_view(action)


@blp.get("/moderation/actions/<int:action_id>")
@blp.response(200, schemas.ActionSchema)
def get_action(action_id: int):
    """One moderation action (public, like the log)."""
    return services.action_view(services.get_action(action_id))


@blp.post("/moderation/actions/<int:action_id>/appeal")
@blp.arguments(schemas.AppealCreateSchema)
@blp.response(201, schemas.AppealSchema)
def appeal(data, action_id: int):
    """Appeal a hide, removal, suspension or ban, once, as the affected member.

    Suspended or banned members cannot use their tokens: they send `login` and `password` instead.
    """
    if data["login"] is not None:
        member = services.member_for_appeal(data["login"], data["password"] or "")
    elif current_user.is_authenticated:
        member = current_user._get_current_object()
    else:
        raise AuthenticationFailed(_("Authentication required: a token, a session, or login and password."))
    return services.appeal_view(services.appeal_action(member, action_id, data["text"]))


@blp.get("/moderation/appeals")
@blp.arguments(schemas.PageQuerySchema, location="query")
@blp.response(200, schemas.AppealListSchema)
def pending_appeals(args):
    """Appeals waiting for a decision (moderators)."""
    require_moderator()
    return {"items": [services.appeal_view(a, for_moderator=True) for a in services.pending_appeals()],
            "next_cursor": None}


@blp.post("/moderation/appeals/<int:appeal_id>/decision")
@blp.arguments(schemas.AppealDecisionSchema)
@blp.response(200, schemas.ModeratorAppealSchema)
def decide_appeal(data, appeal_id: int):
    """Uphold or reverse (moderators other than the one who acted). Reversal restores what was there."""
    appeal = services.decide_appeal(require_moderator(), appeal_id, data["decision"], data["reason"])
    return services.appeal_view(appeal, for_moderator=True)


@blp.get("/moderation/ideas/<int:idea_id>")
@blp.response(200, schemas.IdeaSignalsSchema)
def idea_signals(idea_id: int):
    """Signals of astroturfing on an idea (moderators): votes from accounts younger than 24 hours."""
    require_moderator()
    idea = targets.load_target("idea", idea_id)
    open_reports = db.session.scalar(select(func.count(Report.id)).where(
        Report.target_type == "idea", Report.target_id == idea_id, Report.status == ReportStatus.OPEN))
    return {"idea_id": idea.id, "votes": idea.support_count + idea.oppose_count,
            "new_account_votes": targets.new_account_vote_count(idea.id), "open_reports": open_reports or 0}


@blp.get("/modlog")
@blp.arguments(schemas.PageQuerySchema, location="query")
@blp.response(200, schemas.ModlogSchema)
def modlog(args):
    """The public moderation log, newest first. Reporters are never named; entries never change."""
    items, next_cursor = services.list_modlog(cursor=args["cursor"], limit=args["limit"])
    return {"items": items, "next_cursor": next_cursor}


@blp.get("/modlog/<int:entry_id>")
@blp.response(200, schemas.ModlogEntrySchema)
def modlog_entry(entry_id: int):
    entry = db.session.get(ModlogEntry, entry_id)
    if entry is None:
        raise NotFound(_("No such log entry."))
    return services.modlog_view(entry)
