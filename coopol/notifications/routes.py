"""Pages: notifications (mark one or all read), the home feed, follow buttons, followers and following,
block and unblock, notification preferences and the block list. A form that fails says why in a flash
message and changes nothing."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coopol.accounts.services import get_member_by_handle
from coopol.core.errors import DomainError
from coopol.core.schemas import parse_id
from coopol.core.web import safe_redirect_target
from coopol.notifications import blocks, feed, follows, preferences, store
from coopol.notifications.models import FollowKind

bp = Blueprint("notifications", __name__, template_folder="templates")


def _me():
    return current_user._get_current_object()


@bp.get("/notifications")
@login_required
def page():
    items, next_cursor = store.list_notifications(_me(), cursor=request.args.get("cursor"))
    return render_template("notifications/notifications.html", items=items, next_cursor=next_cursor,
                           unread=store.unread_count(_me()))


@bp.post("/notifications/read")
@login_required
def mark_read():
    try:
        # No id marks them all; an id that is no id (fullwidth digits, too large) marks none.
        wanted = request.form.get("id")
        store.mark_read(_me(), (parse_id(wanted) or 0) if wanted else None)
    except DomainError as error:
        flash(error.message, "error")
    return redirect(url_for("notifications.page"))


@bp.get("/feed")
@login_required
def home_feed():
    items, next_cursor = feed.feed_page(_me(), cursor=request.args.get("cursor"))
    return render_template("notifications/feed.html", items=items, next_cursor=next_cursor)


@bp.post("/follow")
@login_required
def toggle_follow():
    kind, target = request.form.get("kind", ""), request.form.get("target", "")
    if kind in (FollowKind.IDEA, ) and parse_id(target) is not None:
        target = parse_id(target)
    try:
        if request.form.get("action") == "unfollow":
            follows.unfollow(_me(), kind, target)
            flash(_("You no longer follow this."), "success")
        else:
            row = follows.follow(_me(), kind, target)
            flash(_("You follow this now.") if row.state == "active"
                  else _("Follow requested: their instance has to confirm it."), "success")
    except DomainError as error:
        flash(error.message, "error")
    return redirect(safe_redirect_target(request.form.get("next")))


@bp.post("/members/<handle>/block")
@login_required
def toggle_block(handle: str):
    try:
        if request.form.get("action") == "unblock":
            blocks.unblock_member(_me(), handle)
            flash(_("You no longer block this member."), "success")
        else:
            blocks.block_member(_me(), handle)
            flash(_("You block this member now: no follows between you, no notices from them."), "success")
    except DomainError as error:
        flash(error.message, "error")
    return redirect(safe_redirect_target(request.form.get("next")))


def _visible_lists(member) -> bool:
    is_self = current_user.is_authenticated and current_user.id == member.id
    return is_self or not preferences.follows_hidden(member)


@bp.get("/members/<handle>/followers")
def followers(handle: str):
    member = get_member_by_handle(handle)
    if member.is_erased:
        abort(404)
    shown = _visible_lists(member)
    return render_template("notifications/people.html", member=member, shown=shown, title=_("Followers"),
                           people=follows.list_followers(member) if shown else [])


@bp.get("/members/<handle>/following")
def following(handle: str):
    from sqlalchemy import select

    from coopol.accounts.models import Member
    from coopol.extensions import db

    member = get_member_by_handle(handle)
    if member.is_erased:
        abort(404)
    shown = _visible_lists(member)
    people = []
    if shown:
        handles = [m["handle"] for m in follows.list_following(member)["members"] if m["state"] == "active"]
        people = list(db.session.scalars(select(Member).where(Member.handle.in_(handles)))) if handles else []
    return render_template("notifications/people.html", member=member, shown=shown, title=_("Following"),
                           people=people)


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings():
    errors, status = {}, 200
    if request.method == "POST":
        form = request.form
        try:
            preferences.update_preferences(
                _me(), email_digest=form.get("email_digest") or None,
                notify={kind: form[f"notify_{kind}"] for kind in preferences.KINDS if form.get(f"notify_{kind}")},
                hide_follows=bool(form.get("hide_follows")))
        except DomainError as error:
            flash(error.message, "error")
            errors, status = error.errors, error.status_code
        else:
            flash(_("Your notification settings were saved."), "success")
            return redirect(url_for("notifications.settings"))
    blocked, _cursor = blocks.list_blocks(_me(), limit=100)
    return render_template("notifications/settings.html", prefs=preferences.get_preferences(_me()),
                           errors=errors, kinds=preferences.KINDS, channels=preferences.CHANNELS,
                           digests=preferences.DIGESTS, blocked=blocked), status
