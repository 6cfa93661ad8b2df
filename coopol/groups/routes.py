"""Group pages (server-rendered, work without JavaScript): thin handlers over services.py and memberships.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from coopol.accounts.auth import viewer as _viewer
from coopol.accounts.services import find_member_by_reference
from coopol.core.errors import DomainError, NotFound
from coopol.core.scopes import scope_tree
from coopol.extensions import db
from coopol.groups import guards, memberships, presenters, services
from coopol.groups.models import GroupKind, Joining
from coopol.groups.space import sections_for

bp = Blueprint("groups", __name__, template_folder="templates")
FORM_FIELDS = ("name", "slug", "description", "kind", "scope", "joining", "logo_url")


def _failed(error: DomainError, target: str):
    """A refused action writes nothing: roll back, say why, go back."""
    db.session.rollback()
    flash(error.message, "error")
    return redirect(target)


@bp.get("/groups")
def index():
    scope = request.args.get("scope") or None
    if scope and scope not in scope_tree():
        flash(_("Unknown scope '%(code)s'.", code=scope[:64]), "error")
        scope = None
    q = (request.args.get("q") or "").strip()[:200] or None
    found = services.directory(scope=scope, q=q)
    viewer = _viewer()
    by_scope: dict[str, list[dict]] = {}
    for view in presenters.group_views(found["territorial"], viewer):
        by_scope.setdefault(view["scope"], []).append(view)
    territories = [{"scope": s, "groups": by_scope[s.code]} for s in scope_tree().ordered() if s.code in by_scope]
    return render_template("groups/index.html", territories=territories,
                           themes=presenters.group_views(found["thematic"], viewer), scopes=scope_tree(),
                           scope=scope, q=q or "", total=len(found["territorial"]) + len(found["thematic"]))


def _form_values(form) -> dict:
    return {name: form.get(name, "") for name in FORM_FIELDS}


def _render_form(values: dict, errors: dict, group=None, status: int = 200):
    return render_template("groups/form.html", values=values, errors=errors, group=group, scopes=scope_tree(),
                           kinds=[k.value for k in GroupKind], joinings=[j.value for j in Joining]), status


@bp.route("/groups/new", methods=["GET", "POST"])
@login_required
def new():
    values = {"kind": "thematic", "joining": "open"}
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            group = services.create_group(_viewer(), **{**values, "scope": values["scope"] or None,
                                                        "slug": values["slug"] or None})
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return _render_form(values, error.errors, status=422)
        flash(_("Your group is open; you are its organiser."), "success")
        return redirect(url_for("groups.show", slug=group.slug))
    return _render_form(values, {})


@bp.get("/groups/<slug>")
def show(slug: str):
    viewer = _viewer()
    group = services.get_group(slug, viewer)
    return render_template("groups/show.html", group=presenters.one_group_view(group, viewer), model=group,
                           organisers=memberships.organisers(group), is_organiser=guards.is_organiser(group, viewer),
                           scope_path=scope_tree().path(group.scope), sections=sections_for(group, viewer))


@bp.route("/groups/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    group = services.get_group(slug, _viewer())
    if not guards.is_organiser(group, _viewer()):
        raise NotFound(_("No group '%(slug)s'.", slug=slug))
    values = {name: getattr(group, name) or "" for name in FORM_FIELDS}
    if request.method == "POST":
        values = {**_form_values(request.form), "slug": group.slug}
        changes = {name: values[name] for name in FORM_FIELDS if name != "slug"}
        changes["scope"] = changes["scope"] or None
        try:
            services.update_group(_viewer(), group, **changes)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return _render_form(values, error.errors, group=group, status=422)
        flash(_("The group is saved."), "success")
        return redirect(url_for("groups.show", slug=group.slug))
    return _render_form(values, {}, group=group)


@bp.post("/groups/<slug>/join")
@login_required
def join(slug: str):
    group = services.get_group(slug, _viewer())
    target = url_for("groups.show", slug=slug)
    try:
        membership = memberships.join_group(_viewer(), group)
    except DomainError as error:
        return _failed(error, target)
    flash(_("Welcome to the group.") if membership.state == "active"
          else _("Your request is sent; an organiser will answer it."), "success")
    return redirect(target)


@bp.post("/groups/<slug>/leave")
@login_required
def leave(slug: str):
    group = services.get_group(slug, _viewer())
    target = url_for("groups.show", slug=slug)
    try:
        memberships.leave_group(_viewer(), group)
    except DomainError as error:
        return _failed(error, target)
    flash(_("You left the group."), "success")
    return redirect(target)


def _managed(slug: str):
    group = services.get_group(slug, _viewer())
    if not (guards.is_organiser(group, _viewer()) or guards.is_moderator(_viewer())):
        raise NotFound(_("No group '%(slug)s'.", slug=slug))
    return group


@bp.get("/groups/<slug>/members")
@login_required
def members(slug: str):
    group = _managed(slug)
    page = memberships.list_members(group, _viewer(), cursor=request.args.get("cursor") or None, limit=100)
    return render_template("groups/members.html", group=presenters.one_group_view(group, _viewer()),
                           memberships=page.memberships, next_cursor=page.next_cursor,
                           is_organiser=guards.is_organiser(group, _viewer()))


MEMBER_ACTIONS = ("approve", "reject", "organiser", "remove", "hand_over")


@bp.post("/groups/<slug>/members")
@login_required
def manage(slug: str):
    group = _managed(slug)
    target = url_for("groups.members", slug=slug)
    action = request.form.get("action")
    member = find_member_by_reference(request.form.get("handle", ""))
    if action not in MEMBER_ACTIONS or member is None:
        flash(_("Choose a member and an action."), "error")
        return redirect(target)
    try:
        if action == "approve":
            memberships.approve_membership(_viewer(), group, member)
            message = _("@%(handle)s is now a member.", handle=member.handle)
        elif action == "reject":
            memberships.reject_membership(_viewer(), group, member)
            message = _("The request of @%(handle)s is declined.", handle=member.handle)
        elif action == "organiser":
            memberships.name_organiser(_viewer(), group, member)
            message = _("@%(handle)s is now an organiser.", handle=member.handle)
        elif action == "remove":
            memberships.remove_member(_viewer(), group, member, request.form.get("reason", ""))
            message = _("@%(handle)s was removed from the group.", handle=member.handle)
        else:
            memberships.hand_over_group(_viewer(), group, member)
            flash(_("@%(handle)s now runs the group.", handle=member.handle), "success")
            return redirect(url_for("groups.show", slug=slug))
    except DomainError as error:
        return _failed(error, target)
    flash(message, "success")
    return redirect(target)
