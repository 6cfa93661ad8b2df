"""Gathering pages (server-rendered, work without JavaScript): the listing, a gathering's page with RSVP,
the organisers' forms (Flask-WTF: the form carries the fields, services.py judges them) and the Atom feed
of a territory's gatherings. Thin handlers over services.py and rsvps.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import login_required
from flask_wtf import FlaskForm
from markupsafe import escape
from sqlalchemy import and_, or_, select
from wtforms import BooleanField, SelectField, StringField, TextAreaField

from coopol.accounts.auth import viewer as _viewer
from coopol.accounts.services import find_member_by_reference
from coopol.core.errors import DomainError, NotFound
from coopol.core.feeds import FEED_LIMIT, FeedEntry, atom_response, register_alternate
from coopol.core.parties import party_names
from coopol.core.scopes import scope_tree
from coopol.core.time import utcnow
from coopol.events import guards, presenters, rsvps, services
from coopol.events.models import RSVP_STATES, Event, EventMode, EventState, Rsvp, RsvpStatus
from coopol.extensions import db
from coopol.groups.models import Group, Membership, MembershipState, Role
from coopol.groups.services import find_group, list_groups

bp = Blueprint("events", __name__, template_folder="templates")
PER_PAGE = 20
WEEK = timedelta(days=7)
# The zone a new gathering starts in when the instance names none (TIMEZONE), by the party's language.
ZONES_BY_LANGUAGE = {"fr": "Europe/Paris", "es": "Europe/Madrid", "de": "Europe/Berlin", "it": "Europe/Rome",
                     "en": "Europe/London"}
COMMON_ZONES = ("Europe/Paris", "Europe/Brussels", "Europe/Berlin", "Europe/Madrid", "Europe/Rome",
                "Europe/Lisbon", "Europe/London", "Europe/Dublin", "Europe/Amsterdam", "Europe/Vienna",
                "Europe/Warsaw", "Europe/Athens", "Europe/Helsinki", "Atlantic/Canary", "UTC")
FORM_FIELDS = ("title", "description", "starts_at", "ends_at", "timezone", "mode", "place_name", "place_address",
               "latitude", "longitude", "online_url", "capacity", "waitlist", "requires_approval", "group",
               "scope", "language", "state")


class EventForm(FlaskForm):
    """The fields of a gathering; services.create_event / update_event check their values."""

    title = StringField(_l("Title"))
    description = TextAreaField(_l("Description"))
    starts_at = StringField(_l("Starts"))  # <input type="datetime-local">: a wall-clock time in `timezone`
    ends_at = StringField(_l("Ends"))
    timezone = StringField(_l("Time zone"))
    mode = SelectField(_l("How people meet"), choices=[m.value for m in EventMode], validate_choice=False,
                       default=EventMode.IN_PERSON.value)
    place_name = StringField(_l("Name of the place"))
    place_address = StringField(_l("Address"))
    latitude = StringField(_l("Latitude (optional)"))
    longitude = StringField(_l("Longitude (optional)"))
    online_url = StringField(_l("Link to meet online (online or hybrid)"))
    capacity = StringField(_l("Places (empty: no limit)"))
    waitlist = BooleanField(_l("When it is full, put newcomers on a waitlist"), default=True)
    requires_approval = BooleanField(_l("An organiser approves each person"), default=False)
    group = SelectField(_l("Host"), choices=[], validate_choice=False)
    scope = SelectField(_l("Territory"), choices=[], validate_choice=False)
    language = SelectField(_l("Language"), choices=[], validate_choice=False)
    state = SelectField(_l("State"), choices=[], validate_choice=False)


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"))


class ReportForm(FlaskForm):
    minutes = TextAreaField(_l("How it went (Markdown)"))
    turnout = StringField(_l("How many came"))


def _failed(error: DomainError, target: str):
    """A refused action writes nothing: roll back, say why, go back."""
    db.session.rollback()
    flash(error.message, "error")
    return redirect(target)


def _event(event_id: int) -> Event:
    return services.get_event(event_id, _viewer())


def _number(text: str | None, kind: type = int) -> Any:
    """A form's number: None when empty, the number, or the text itself (the service then names the field)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text


def _local(moment, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def _when(view: dict) -> dict:
    """Start and end as the organiser gave them, in the gathering's own zone."""
    view["starts_local"] = _local(view["starts_at"], view["timezone"])
    view["ends_local"] = _local(view["ends_at"], view["timezone"])
    return view


def counts_text(view: dict) -> str:
    """"23 going, 4 on the waitlist": the same words wherever a gathering is shown."""
    text = ngettext("%(num)d going", "%(num)d going", view["going_count"])
    if view["waitlist_count"]:
        text += ", " + ngettext("%(num)d on the waitlist", "%(num)d on the waitlist", view["waitlist_count"])
    return text


# --- The listing and its feed ----------------------------------------------------------------------------


def _filters(args) -> dict[str, Any]:
    """The listing's filters; a wrong one is said on the page and left out."""
    found: dict[str, Any] = {"scope": None, "group": None, "origin": None, "week": False, "past": False}
    scope = (args.get("scope") or "").strip()
    if scope:
        if scope in scope_tree():
            found["scope"] = scope
        else:
            flash(_("Unknown scope '%(code)s'.", code=scope[:64]), "error")
    slug = (args.get("group") or "").strip()
    if slug:
        group = find_group(slug)
        if group is not None:
            found["group"] = slug
        else:
            flash(_("No group '%(slug)s'.", slug=slug[:64]), "error")
    origin = (args.get("origin") or "").strip().lower()[:255]
    found["origin"] = origin or None
    found["week"] = args.get("week") == "1"
    found["past"] = args.get("past") == "1"
    return found


def _origins() -> list[dict[str, str]]:
    """Who hosts gatherings listed here: this party first, then each ally whose gatherings reached us."""
    hosts = sorted(h for h in db.session.scalars(select(Event.origin_host).distinct().where(
        Event.origin_host.is_not(None), *Event.listed())) if h)
    names = party_names(hosts)
    return [{"value": "local", "name": current_app.config["NAME"]}] + \
        [{"value": host, "name": names.get(host, host)} for host in hosts]


@bp.get("/events")
def index():
    filters = _filters(request.args)
    now = utcnow()
    try:
        page = services.list_events(_viewer(), scope=filters["scope"], group=filters["group"],
                                    origin=filters["origin"], past=filters["past"],
                                    from_=now if filters["week"] else None,
                                    to=now + WEEK if filters["week"] and not filters["past"] else None,
                                    cursor=request.args.get("cursor") or None, limit=PER_PAGE)
    except DomainError as error:  # a cursor that is not one
        flash(error.message, "error")
        page = services.list_events(_viewer(), past=filters["past"], limit=PER_PAGE)
    views = [_when(v) for v in presenters.event_views(page.events, _viewer())]
    params = {k: ("1" if v is True else v) for k, v in filters.items() if v}
    links = {"upcoming": {k: v for k, v in params.items() if k != "past"}, "past": {**params, "past": "1"},
             "ics": {k: v for k, v in params.items() if k in ("scope", "group")},
             "atom": {k: v for k, v in params.items() if k in ("scope", "origin")}}
    return render_template("events/index.html", events=views, next_cursor=page.next_cursor, filters=filters,
                           params=params, links=links, scopes=scope_tree(), origins=_origins(),
                           groups=list_groups(None, limit=100).groups, counts_text=counts_text)


def event_entry(event: Event) -> FeedEntry:
    view = _when(presenters.one_event_view(event, None))
    where = view["place"] and (view["place"]["name"] or view["place"]["address"])
    facts = [f'{view["starts_local"]} – {view["ends_local"]} ({view["timezone"]})', counts_text(view)]
    if where:
        facts.insert(1, where)
    if event.state in (EventState.CANCELLED, EventState.POSTPONED):
        facts.insert(0, str(_("cancelled") if event.is_cancelled else _("postponed")))
    content = "<p>" + " · ".join(str(escape(f)) for f in facts) + "</p>" + (event.description_html or "")
    return FeedEntry(id=view["ap_id"], title=event.title, url=view["url"], updated=event.updated_at,
                     published=event.published_at, author=view["organiser"]["name"] if view["organiser"] else None,
                     content_html=content, category=str(_("Gathering")))


def _feed_events(**filters: Any) -> list[Event]:
    """Upcoming gatherings, soonest first (a feed reader sorts them by `updated`, when they were announced)."""
    stmt = services.listing(**filters).order_by(Event.starts_at, Event.id).limit(FEED_LIMIT)
    return list(db.session.scalars(stmt))


@bp.get("/events.atom")
def feed():
    scope = (request.args.get("scope") or "").strip() or None
    origin = (request.args.get("origin") or "").strip().lower()[:255] or None
    events = _feed_events(scope=scope, origin=origin)  # an unknown scope: 422 naming it
    name = scope_tree().name(scope) if scope else current_app.config["NAME"]
    params = {k: v for k, v in (("scope", scope), ("origin", origin)) if v}
    base = current_app.config["URL"]
    return atom_response(feed_id=base + url_for("events.feed", **params),
                         title=f"{_('Gatherings')} · {name}", page_url=base + url_for("events.index", **params),
                         entries=[event_entry(e) for e in events])


def group_gatherings(group: Group, limit: int) -> list[FeedEntry]:
    """The group's feed (coopol/groups/feeds.py): its upcoming gatherings."""
    return [event_entry(e) for e in _feed_events(group=group)[:limit]]


# --- One gathering ---------------------------------------------------------------------------------------


def _waitlist_position(event: Event, rsvp: Rsvp | None) -> int | None:
    if rsvp is None or rsvp.status != RsvpStatus.WAITLISTED:
        return None
    ahead = db.session.scalar(select(db.func.count()).select_from(Rsvp).where(
        Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.WAITLISTED.value,
        or_(Rsvp.queued_at < rsvp.queued_at, and_(Rsvp.queued_at == rsvp.queued_at, Rsvp.id < rsvp.id))))
    return (ahead or 0) + 1


def _render_show(event: Event, *, report_form: ReportForm | None = None, errors: dict | None = None,
                 status: int = 200):
    viewer = _viewer()
    view = _when(presenters.one_event_view(event, viewer))
    mine = rsvps.rsvp_of(event, viewer) if viewer is not None else None
    attendees = rsvps.list_attendees(event, viewer, limit=200)
    ended = event.ends_at < utcnow()
    is_organiser = guards.is_organiser(event, viewer)
    if report_form is None:
        report_form = ReportForm(data={"minutes": event.report_minutes or "",
                                       "turnout": "" if event.turnout is None else str(event.turnout)})
    return render_template(
        "events/show.html", event=view, model=event, counts_text=counts_text, mine=mine,
        position=_waitlist_position(event, mine), attendees=attendees, ended=ended, is_organiser=is_organiser,
        can_rsvp=event.state in RSVP_STATES and not ended and event.is_listed and not event.is_locked,
        organisers=services.organisers_of(event), scope_path=scope_tree().path(event.scope) if event.scope else [],
        origin_name=party_names([event.origin_host])[event.origin_host or current_app.config["SERVER_HOST"]],
        report_form=report_form, errors=errors or {}), status


@bp.get("/events/<int:event_id>")
def show(event_id: int):
    return _render_show(_event(event_id))


@bp.post("/events/<int:event_id>/rsvp")
@login_required
def rsvp(event_id: int):
    event = _event(event_id)
    target = url_for("events.show", event_id=event.id)
    try:
        status = rsvps.rsvp(event, _viewer(), public=request.form.get("public") == "1")
    except DomainError as error:
        return _failed(error, target)
    flash({"going": _("You are going. See you there!"),
           "waitlisted": _("The gathering is full: you are on the waitlist and move up when a place frees."),
           "pending": _("Your request is sent; the organisers will answer it.")}[status], "success")
    return redirect(target)


@bp.post("/events/<int:event_id>/leave")
@login_required
def leave(event_id: int):
    event = _event(event_id)
    try:
        previous = rsvps.leave(event, _viewer())
    except DomainError as error:
        return _failed(error, url_for("events.show", event_id=event.id))
    if previous:
        flash(_("You are no longer going.") if previous == "going" else _("Your place in line is given up."),
              "success")
    return redirect(url_for("events.show", event_id=event.id))


@bp.post("/events/<int:event_id>/attendees")
@login_required
def manage_attendees(event_id: int):
    event = _event(event_id)
    target = url_for("events.show", event_id=event.id, _anchor="attendees")
    member = find_member_by_reference(request.form.get("handle", ""))
    action = request.form.get("action")
    if member is None or action not in ("approve", "reject"):
        flash(_("Choose a member and an action."), "error")
        return redirect(target)
    try:
        if action == "approve":
            status = rsvps.approve_rsvp(_viewer(), event, member)
            flash(_("@%(handle)s is going.", handle=member.handle) if status == "going"
                  else _("@%(handle)s is on the waitlist.", handle=member.handle), "success")
        else:
            rsvps.reject_rsvp(_viewer(), event, member)
            flash(_("The request of @%(handle)s is declined.", handle=member.handle), "success")
    except DomainError as error:
        return _failed(error, target)
    return redirect(target)


@bp.post("/events/<int:event_id>/report")
@login_required
def report(event_id: int):
    event = _event(event_id)
    form = ReportForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("events.show", event_id=event.id))
    try:
        services.file_report(_viewer(), event, minutes=form.minutes.data or "", turnout=_number(form.turnout.data))
    except DomainError as error:
        db.session.rollback()
        if error.status_code != 422:
            return _failed(error, url_for("events.show", event_id=event.id))
        flash(error.message, "error")
        return _render_show(event, report_form=form, errors=error.errors, status=422)
    flash(_("The report is published."), "success")
    return redirect(url_for("events.show", event_id=event.id, _anchor="report"))


@bp.post("/events/<int:event_id>/publish")
@login_required
def publish(event_id: int):
    event = _event(event_id)
    target = url_for("events.show", event_id=event.id)
    try:
        services.publish_event(_viewer(), event)
    except DomainError as error:
        return _failed(error, target)
    flash(_("The gathering is published."), "success")
    return redirect(target)


# --- Hosting: create, edit, cancel -------------------------------------------------------------------------


def _hosted_groups(viewer) -> list[Group]:
    """The groups a member may host for: those they organise."""
    return list(db.session.scalars(select(Group).join(Membership, Membership.group_id == Group.id).where(
        Membership.member_id == viewer.id, Membership.role == Role.ORGANISER.value,
        Membership.state == MembershipState.ACTIVE.value, *Group.listed()).order_by(Group.name)))


def _default_zone() -> str:
    return current_app.config.get("TIMEZONE") or ZONES_BY_LANGUAGE.get(current_app.config["LANGUAGE"], "UTC")


def _choices(form: EventForm, event: Event | None) -> None:
    viewer = _viewer()
    form.scope.choices = [("", _("none"))] + [(s.code, "— " * s.depth + s.name) for s in scope_tree().ordered()]
    form.language.choices = [(code, code) for code in current_app.config["LANGUAGES"]]
    form.group.choices = [("", _("Nobody: I host it myself"))] + [(g.slug, g.name) for g in _hosted_groups(viewer)]
    form.mode.choices = [(m.value, m.value) for m in EventMode]
    form.state.choices = [(s, s) for s in (EventState.SCHEDULED.value, EventState.POSTPONED.value)]


def _values(form: EventForm) -> dict[str, Any]:
    """What the form says, in the services' terms."""
    place = {"name": form.place_name.data or None, "address": form.place_address.data or None,
             "lat": _number(form.latitude.data, float), "lon": _number(form.longitude.data, float)}
    return {"title": form.title.data or "", "description": form.description.data or "",
            "starts_at": form.starts_at.data or "", "ends_at": form.ends_at.data or "",
            "timezone": form.timezone.data or "", "mode": form.mode.data or "", "place": place,
            "online_url": form.online_url.data or None, "capacity": _number(form.capacity.data),
            "waitlist": bool(form.waitlist.data), "requires_approval": bool(form.requires_approval.data),
            "scope": form.scope.data or None, "language": form.language.data or None}


def _render_form(form: EventForm, errors: dict, event: Event | None = None, status: int = 200):
    # Errors about the place are the service's `place`; the form shows them under the place's fields.
    return render_template("events/form.html", form=form, errors=errors, event=event, zones=COMMON_ZONES,
                           mode_labels={"in_person": _("In person"), "online": _("Online"),
                                        "hybrid": _("Hybrid: in person and online")}), status


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def new():
    form = EventForm(data={"timezone": _default_zone(), "language": current_app.config["LANGUAGE"],
                           "group": request.args.get("group", "")} if request.method == "GET" else None)
    _choices(form, None)
    if request.method == "POST":
        if not form.validate():
            return _render_form(form, {"form": [_("The form expired; please try again.")]}, status=400)
        values = _values(form)
        try:
            event = services.create_event(_viewer(), **values, group=form.group.data or None,
                                          publish=request.form.get("action") != "draft")
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return _render_form(form, error.errors, status=error.status_code)
        flash(_("The gathering is published.") if event.state == EventState.SCHEDULED
              else _("Your draft is saved; only the organisers can see it."), "success")
        return redirect(url_for("events.show", event_id=event.id))
    return _render_form(form, {})


def _managed(event_id: int) -> Event:
    event = _event(event_id)
    if not (guards.is_organiser(event, _viewer()) and event.is_local):
        raise NotFound(_("No gathering %(id)s.", id=event_id))
    return event


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    event = _managed(event_id)
    place = services.place_of(event) or {}
    current = {"title": event.title, "description": event.description,
               "starts_at": event.starts_at.astimezone(ZoneInfo(event.timezone)).strftime("%Y-%m-%dT%H:%M"),
               "ends_at": event.ends_at.astimezone(ZoneInfo(event.timezone)).strftime("%Y-%m-%dT%H:%M"),
               "timezone": event.timezone, "mode": event.mode, "place_name": place.get("name") or "",
               "place_address": place.get("address") or "",
               "latitude": "" if place.get("lat") is None else str(place["lat"]),
               "longitude": "" if place.get("lon") is None else str(place["lon"]),
               "online_url": event.online_url or "", "capacity": "" if event.capacity is None else str(event.capacity),
               "waitlist": event.waitlist, "requires_approval": event.requires_approval,
               "group": event.group.slug if event.group else "", "scope": event.scope or "",
               "language": event.language, "state": event.state}
    form = EventForm(data=current if request.method == "GET" else None)
    _choices(form, event)
    if request.method == "POST":
        if not form.validate():
            return _render_form(form, {"form": [_("The form expired; please try again.")]}, event, status=400)
        changes = _values(form)
        if event.state != EventState.DRAFT and form.state.data in (EventState.SCHEDULED, EventState.POSTPONED):
            changes["state"] = form.state.data
        try:
            services.update_event(_viewer(), event, **changes)
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
            return _render_form(form, error.errors, event, status=error.status_code)
        flash(_("Your changes are saved; the people going will be told what changed."), "success")
        return redirect(url_for("events.show", event_id=event.id))
    return _render_form(form, {}, event)


@bp.route("/events/<int:event_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(event_id: int):
    event = _managed(event_id)
    form = CancelForm()
    errors: dict = {}
    if request.method == "POST":
        if not form.validate():
            errors = {"form": [_("The form expired; please try again.")]}
        else:
            try:
                services.cancel_event(_viewer(), event, form.reason.data or "")
            except DomainError as error:
                db.session.rollback()
                if error.status_code != 422:
                    return _failed(error, url_for("events.show", event_id=event.id))
                flash(error.message, "error")
                errors = error.errors
            else:
                flash(_("The gathering is cancelled; the people going will be told."), "success")
                return redirect(url_for("events.show", event_id=event.id))
    view = _when(presenters.one_event_view(event, _viewer()))
    return render_template("events/cancel.html", event=view, counts_text_value=counts_text(view), form=form,
                           errors=errors), (422 if errors else 200)


# --- Registration ----------------------------------------------------------------------------------------


def _listing_feed_url(_args: dict) -> str:
    params = {k: request.args[k] for k in ("scope", "origin") if request.args.get(k)}
    return url_for("events.feed", **params)


def init_pages(app: Flask) -> None:
    from coopol.core.templating import add_nav
    from coopol.groups.feeds import register_feed_source

    app.register_blueprint(bp)
    add_nav(app, "events.index", _l("Gatherings"))
    add_nav(app, "events.new", _l("Host a gathering"), members_only=True)
    register_feed_source(app, "gatherings", group_gatherings)
    register_alternate(app, "events.index", _l("Gatherings of this territory (Atom)"), _listing_feed_url)


__all__ = ["bp", "counts_text", "init_pages"]
