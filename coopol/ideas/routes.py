"""Idea pages (server-rendered, work without JavaScript): thin handlers over services.py."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from coopol.accounts.auth import viewer as _viewer
from coopol.core.cache import public_cache
from coopol.core.database import reads_first
from coopol.core.errors import DomainError, ValidationFailed
from coopol.extensions import db
from coopol.groups.services import find_group
from coopol.ideas import presenters, queries, services
from coopol.ideas.comments import max_depth
from coopol.ideas.diffs import revision_changes
from coopol.ideas.extend import extra_sorts, idea_sections
from coopol.ideas.guards import content_visible, is_moderator
from coopol.ideas.in_groups import groups_to_post_in
from coopol.ideas.labels import label
from coopol.ideas.models import ANSWER_STATES, STANCES, WITHDRAW_REASONS, IdeaState
from coopol.ideas.scopes import scope_tree
from coopol.ideas.stats import chart, participation_stats

bp = Blueprint("ideas", __name__, template_folder="templates")
PER_PAGE = 20
FILTERS = ("state", "tag", "scope", "language", "origin", "author", "group")


def _failed(error: DomainError, target: str):
    """A refused action writes nothing: roll back, say why, go back."""
    db.session.rollback()
    flash(error.message, "error")
    return redirect(target)


def _int_arg(name: str, default: int | None = None) -> int | None:
    try:
        return int(request.args.get(name, ""))
    except ValueError:
        return default


@bp.get("/ideas")
@public_cache
def index():
    args = request.args
    filters = {key: args.get(key) or None for key in FILTERS}
    if filters["state"] and filters["state"] not in {s.value for s in IdeaState}:
        filters["state"] = None
    if filters["scope"] and filters["scope"] not in scope_tree():
        flash(_("Unknown scope '%(code)s'.", code=filters["scope"][:64]), "error")
        filters["scope"] = None
    sort = args.get("sort") if args.get("sort") in queries.sort_names() else None
    q = (args.get("q") or "").strip()[:200] or None
    # Keyset pages, as the API's: "next" and "previous" carry a cursor, so a page deep in a long list costs
    # what the first does (no OFFSET), and the total is an estimate counted at most once a minute.
    cursor, before = args.get("cursor") or None, args.get("before") or None
    try:
        page = services.list_ideas(_viewer(), sort=sort, q=q, cursor=cursor, before=before, with_previous=True,
                                   limit=PER_PAGE, **filters)
    except ValidationFailed as error:  # a cursor of another sort, or broken: the first page, and why
        flash(error.message, "error")
        page = services.list_ideas(_viewer(), sort=sort, q=q, limit=PER_PAGE, **filters)
    page.total = queries.approximate_total(_viewer(), q, **filters)
    params = {key: value for key, value in {**filters, "q": q, "sort": sort}.items() if value}
    group = find_group(filters["group"]) if filters["group"] else None
    extra = extra_sorts().get(page.sort)
    return render_template("ideas/index.html", page=page, ideas=presenters.idea_views(page.ideas, _viewer()),
                           sort_note=extra.note() if extra and extra.note else None,
                           params=params, filters=filters, q=q or "", sorts=queries.sort_names(), scopes=scope_tree(),
                           states=[s.value for s in IdeaState], total_cap=queries.TOTAL_CAP,
                           group=group if group is not None and group.is_listed else None)


def _form_values(form) -> dict:
    return {"title": form.get("title", ""), "body": form.get("body", ""), "tags": form.get("tags", ""),
            "scope": form.get("scope") or None, "language": form.get("language") or None,
            "group": form.get("group") or None}


@bp.route("/ideas/new", methods=["GET", "POST"])
@login_required
def new():
    errors, values = {}, {"language": current_app.config["LANGUAGE"]}
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            idea = services.create_idea(_viewer(), **values, publish=request.form.get("action") != "draft")
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            errors = error.errors
        else:
            flash(_("Your idea is published.") if idea.state == IdeaState.PUBLISHED
                  else _("Your draft is saved; only you can see it."), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    return render_template("ideas/form.html", values=values, errors=errors, idea=None,
                           scopes=scope_tree(), groups=groups_to_post_in(_viewer())), (422 if errors else 200)


def _render_show(idea, *, errors=None, form=None, status: int = 200):
    viewer = _viewer()
    view_mode = "sides" if request.args.get("view") == "sides" else "thread"
    comment_page = queries.list_comments(idea, cursor=request.args.get("comments") or None, limit=100)
    sides = None
    if view_mode == "sides":
        sides = {k: presenters.comment_views(v, viewer) for k, v in queries.debate_sides(idea).items()}
    view = presenters.one_idea_view(idea, viewer)
    return render_template(
        "ideas/show.html", idea=view, model=idea, sections=idea_sections(idea, view, viewer),
        comments=presenters.comment_views(comment_page.comments, viewer), next_comments=comment_page.next_cursor,
        sides=sides, view_mode=view_mode, errors=errors or {}, form=form or {}, stances=STANCES,
        answer_states=ANSWER_STATES, can_moderate=is_moderator(viewer), scope_path=scope_tree().path(idea.scope),
        max_depth=max_depth()), status


@bp.get("/ideas/<int:idea_id>")
@public_cache
def show(idea_id: int):
    return _render_show(services.get_idea(idea_id, _viewer()))


@bp.get("/comments/<int:comment_id>")
def comment(comment_id: int):
    found = services.get_comment(comment_id, _viewer())
    return redirect(url_for("ideas.show", idea_id=found.idea_id, _anchor=f"comment-{found.id}"))


@bp.route("/ideas/<int:idea_id>/edit", methods=["GET", "POST"])
@login_required
def edit(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    errors = {}
    values = {"title": idea.title, "body": idea.body, "tags": " ".join(services.idea_tags(idea)),
              "scope": idea.scope, "language": idea.language, "group": idea.group.slug if idea.group else None}
    if request.method == "POST":
        values = _form_values(request.form)
        try:
            services.update_idea(_viewer(), idea, **values)
        except DomainError as error:
            db.session.rollback()
            if error.status_code != 422:
                raise
            flash(error.message, "error")
            errors = error.errors
        else:
            flash(_("Your changes are saved."), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    elif idea.author_id != _viewer().id:
        flash(_("Only the author can edit this idea."), "error")
        return redirect(url_for("ideas.show", idea_id=idea.id))
    groups = groups_to_post_in(_viewer())
    if idea.group is not None and idea.group not in groups:
        groups.append(idea.group)  # where it is now stays a choice
    return render_template("ideas/form.html", values=values, errors=errors, idea=idea,
                           scopes=scope_tree(), groups=groups), (422 if errors else 200)


@bp.post("/ideas/<int:idea_id>/publish")
@login_required
def publish(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    target = url_for("ideas.show", idea_id=idea.id)
    try:
        services.publish_idea(_viewer(), idea)
    except DomainError as error:
        return _failed(error, target)
    flash(_("Your idea is published."), "success")
    return redirect(target)


@bp.route("/ideas/<int:idea_id>/withdraw", methods=["GET", "POST"])
@login_required
def withdraw(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    errors, form = {}, {}
    if request.method == "POST":
        form = request.form
        try:
            services.withdraw_idea(_viewer(), idea, form.get("reason", ""), form.get("explanation", ""))
        except DomainError as error:
            db.session.rollback()
            if error.status_code != 422:
                return _failed(error, url_for("ideas.show", idea_id=idea.id))
            flash(error.message, "error")
            errors = error.errors
        else:
            flash(_("Your idea is withdrawn."), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    return render_template("ideas/withdraw.html", idea=idea, errors=errors, form=form,
                           reasons=WITHDRAW_REASONS), (422 if errors else 200)


@bp.post("/ideas/<int:idea_id>/answer")
@login_required
def answer(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    try:
        services.answer_idea(_viewer(), idea, request.form.get("state", ""), request.form.get("answer", ""))
    except DomainError as error:
        db.session.rollback()
        if error.status_code != 422:
            return _failed(error, url_for("ideas.show", idea_id=idea.id))
        flash(error.message, "error")
        return _render_show(idea, errors=error.errors, form=request.form, status=422)
    flash(_("The official answer is published."), "success")
    return redirect(url_for("ideas.show", idea_id=idea.id))


@bp.post("/ideas/<int:idea_id>/vote")
@reads_first
@login_required
def vote(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    target = url_for("ideas.show", idea_id=idea.id, _anchor="tally")
    value = request.form.get("value", "")
    try:
        if value == "withdraw":
            services.withdraw_vote(_viewer(), idea)
            flash(_("Your vote is withdrawn."), "success")
        else:
            services.cast_vote(_viewer(), idea, value)
            flash(_("Your vote is counted: %(value)s.", value=label("idea_vote", value)), "success")
    except DomainError as error:
        return _failed(error, target)
    return redirect(target)


@bp.post("/ideas/<int:idea_id>/comments")
@login_required
def post_comment(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    parent = request.form.get("parent_id") or None
    try:
        parent_id = int(parent) if parent is not None else None
    except ValueError:
        parent_id = -1
    try:
        posted = services.post_comment(_viewer(), idea, body=request.form.get("body", ""),
                                       stance=request.form.get("stance") or "neutral", parent_id=parent_id)
    except DomainError as error:
        db.session.rollback()
        if error.status_code != 422:
            return _failed(error, url_for("ideas.show", idea_id=idea.id))
        flash(error.message, "error")
        return _render_show(idea, errors=error.errors, form=request.form, status=422)
    flash(_("Your comment is posted."), "success")
    return redirect(url_for("ideas.show", idea_id=idea.id, _anchor=f"comment-{posted.id}"))


@bp.get("/ideas/<int:idea_id>/revisions")
def revisions(idea_id: int):
    idea = services.get_idea(idea_id, _viewer())
    changes = revision_changes(services.list_revisions(idea)) if content_visible(idea, _viewer()) else []
    return render_template("ideas/revisions.html", idea=idea, changes=changes)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_comment(comment_id: int):
    found = services.get_comment(comment_id, _viewer())
    target = url_for("ideas.show", idea_id=found.idea_id, _anchor=f"comment-{found.id}")
    errors, form = {}, {"body": found.body, "stance": found.stance}
    if request.method == "POST":
        form = request.form
        try:
            services.edit_comment(_viewer(), found, body=form.get("body", ""), stance=form.get("stance") or None)
        except DomainError as error:
            db.session.rollback()
            if error.status_code != 422:
                return _failed(error, target)
            flash(error.message, "error")
            errors = error.errors
        else:
            flash(_("Your comment is saved."), "success")
            return redirect(target)
    elif found.author_id != _viewer().id:
        flash(_("Only the author can edit this comment."), "error")
        return redirect(target)
    return render_template("ideas/comment_edit.html", comment=found, form=form, errors=errors,
                           stances=STANCES), (422 if errors else 200)


@bp.post("/comments/<int:comment_id>/delete")
@login_required
def delete_comment(comment_id: int):
    found = services.get_comment(comment_id, _viewer())
    target = url_for("ideas.show", idea_id=found.idea_id, _anchor=f"comment-{found.id}")
    try:
        services.delete_comment(_viewer(), found)
    except DomainError as error:
        return _failed(error, target)
    flash(_("Your comment is deleted."), "success")
    return redirect(target)


@bp.post("/comments/<int:comment_id>/vote")
@login_required
def vote_comment(comment_id: int):
    found = services.get_comment(comment_id, _viewer())
    target = url_for("ideas.show", idea_id=found.idea_id, _anchor=f"comment-{found.id}")
    try:
        services.cast_comment_vote(_viewer(), found, request.form.get("value", ""))
    except DomainError as error:
        return _failed(error, target)
    return redirect(target)


@bp.get("/stats")
def stats():
    data = participation_stats()
    return render_template("ideas/stats.html", stats=data, chart=chart(data["over_time"]))
