"""Gathering pages: hosting through the form (errors on the page), RSVP with capacity and waitlist, the
organisers' list with approval, the listing's filters, the report after the end, the Atom feed."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.atom import parse_atom
from tests.conftest import TEST_PASSWORD
from tests.events.conftest import soon


def _login(app, handle: str):
    browser = app.test_client()
    assert browser.post("/login", data={"login": handle, "password": TEST_PASSWORD}).status_code == 302
    return browser


def _wall_clock(days: float, hours: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M")


FORM = {"title": "Repair café", "description": "Bring a *broken* toaster.", "timezone": "Europe/Paris",
        "mode": "in_person", "place_name": "Town hall", "place_address": "1 Main Street", "capacity": "2",
        "waitlist": "y", "scope": "fr-paris", "language": "en", "action": "publish"}


def _counts(page: str) -> str:
    found = re.search(r'data-testid="event-counts">([^<]+)<', page)
    assert found, page[:2000]
    return found.group(1)


def test_hosting_through_the_form_shows_each_error_on_the_page_and_stores_nothing(app, create_member, rows):
    create_member("ana")
    ana = _login(app, "ana")
    assert ana.get("/events/new").status_code == 200
    before = rows()

    bad = ana.post("/events/new", data={**FORM, "starts_at": _wall_clock(7, 2), "ends_at": _wall_clock(7),
                                        "timezone": "Mars/Olympus", "capacity": "zero", "mode": "online",
                                        "online_url": ""})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for field in ("timezone", "capacity", "online_url"):
        assert f'id="{field}-error"' in page, field
    assert 'value="Repair café"' in page  # what was typed stays
    assert rows() == before

    good = ana.post("/events/new", data={**FORM, "starts_at": _wall_clock(7), "ends_at": _wall_clock(7, 2)})
    assert good.status_code == 302
    page = ana.get(good.headers["Location"]).get_data(as_text=True)
    assert "Repair café" in page and "<em>broken</em>" in page and "(Europe/Paris)" in page
    assert _counts(page) == "0 going"


def test_three_rsvps_for_two_places_and_the_waitlist_moves_up(app, client, member, create_member, create_event,
                                                              check_counts):
    headers = member("ana")
    event = create_event(headers, capacity=2, title="Door to door")
    for handle in ("bea", "carl", "dora"):
        create_member(handle)
    people = {h: _login(app, h) for h in ("bea", "carl", "dora")}
    url = f"/events/{event['id']}"

    people["bea"].post(f"{url}/rsvp", data={"public": "1"})
    people["carl"].post(f"{url}/rsvp")
    people["dora"].post(f"{url}/rsvp")
    page = people["dora"].get(url).get_data(as_text=True)
    assert _counts(page) == "2 going, 1 on the waitlist"
    assert "number 1" in page and 'data-testid="leave-event"' in page
    check_counts()

    # Anyone sees the counts and only the attendees who opted in.
    public = client.get(url).get_data(as_text=True)
    assert _counts(public) == "2 going, 1 on the waitlist"
    listed = re.search(r'data-testid="attendee-list">(.*?)</ul>', public, re.S).group(1)
    assert "bea" in listed and "carl" not in listed and "dora" not in listed
    # The listing says the same.
    assert "2 going, 1 on the waitlist" in client.get("/events").get_data(as_text=True)

    people["carl"].post(f"{url}/leave")
    page = people["dora"].get(url).get_data(as_text=True)
    assert _counts(page) == "2 going" and "You are going." in page
    check_counts()

    # The organiser sees everyone, with their status.
    organiser = _login(app, "ana")
    full = re.search(r'data-testid="attendee-list">(.*?)</ul>', organiser.get(url).get_data(as_text=True), re.S)
    assert "@bea" in full.group(1) and "@dora" in full.group(1)


def test_the_online_link_is_for_the_people_going_and_the_organisers(app, client, member, create_member,
                                                                    create_event):
    headers = member("ana")
    event = create_event(headers, mode="online", online_url="https://meet.example.org/room")
    create_member("bea")
    bea = _login(app, "bea")
    url = f"/events/{event['id']}"
    assert "meet.example.org" not in client.get(url).get_data(as_text=True)
    assert "meet.example.org" not in bea.get(url).get_data(as_text=True)
    bea.post(f"{url}/rsvp")
    assert "meet.example.org/room" in bea.get(url).get_data(as_text=True)
    assert "meet.example.org/room" in _login(app, "ana").get(url).get_data(as_text=True)


def test_organisers_approve_and_decline_requests(app, member, create_member, create_event, check_counts):
    headers = member("ana")
    event = create_event(headers, requires_approval=True, capacity=5)
    for handle in ("bea", "carl"):
        create_member(handle)
        _login(app, handle).post(f"/events/{event['id']}/rsvp")
    ana = _login(app, "ana")
    url = f"/events/{event['id']}"
    page = ana.get(url).get_data(as_text=True)
    assert 'data-testid="approve-bea"' in page and 'data-testid="reject-carl"' in page
    ana.post(f"{url}/attendees", data={"handle": "bea", "action": "approve"})
    ana.post(f"{url}/attendees", data={"handle": "carl", "action": "reject"})
    assert _counts(ana.get(url).get_data(as_text=True)) == "1 going"
    # Somebody else cannot approve.
    create_member("eve")
    _login(app, "eve").post(f"{url}/rsvp")
    _login(app, "bea").post(f"{url}/attendees", data={"handle": "eve", "action": "approve"})
    assert _counts(ana.get(url).get_data(as_text=True)) == "1 going"
    check_counts()


def test_edit_and_cancel_through_the_forms(app, member, create_event):
    headers = member("ana")
    event = create_event(headers, title="Old title")
    ana = _login(app, "ana")
    url = f"/events/{event['id']}"
    form = ana.get(f"{url}/edit").get_data(as_text=True)
    starts = re.search(r'id="starts_at" name="starts_at" type="datetime-local" value="([^"]+)"', form).group(1)
    ends = re.search(r'id="ends_at" name="ends_at" type="datetime-local" value="([^"]+)"', form).group(1)
    data = {**FORM, "title": "New title", "starts_at": starts, "ends_at": ends, "capacity": "", "state": "scheduled"}
    bad = ana.post(f"{url}/edit", data={**data, "ends_at": starts})
    assert bad.status_code == 422 and 'id="ends_at-error"' in bad.get_data(as_text=True)
    assert ana.post(f"{url}/edit", data=data).status_code == 302
    assert "New title" in ana.get(url).get_data(as_text=True)

    assert ana.post(f"{url}/cancel", data={"reason": "Storm warning."}).status_code == 302
    page = ana.get(url).get_data(as_text=True)
    assert 'data-testid="cancelled"' in page and "Storm warning." in page


def test_the_listing_filters_by_territory_week_group_and_shows_past_reports(app, client, member, create_event):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.events.models import Event
    from coopol.events.services import file_report
    from coopol.extensions import db

    headers = member("ana")
    group = client.post("/api/v1/groups", json={"name": "Paris greens", "kind": "territorial", "scope": "fr-paris"},
                        headers=headers).json
    create_event(headers, title="Paris soon", scope="fr-paris", group=group["slug"], starts_at=soon(2),
                 ends_at=soon(2, 2))
    create_event(headers, title="Barcelona later", scope="es-barcelona", starts_at=soon(20), ends_at=soon(20, 2))
    past = create_event(headers, title="Last month's picnic", scope="fr-paris")
    with app.app_context(), unit_of_work():
        row = db.session.get(Event, past["id"])
        month_ago = datetime.now(UTC) - timedelta(days=30)
        row.starts_at, row.ends_at = month_ago - timedelta(hours=3), month_ago
        db.session.flush()
        file_report(get_member_by_handle("ana"), row, minutes="Forty people, **two** new groups.", turnout=40)

    def titles(query: str) -> list[str]:
        page = client.get(f"/events{query}").get_data(as_text=True)
        return re.findall(r'<h2><a href="/events/\d+">([^<]+)</a></h2>', page)

    assert titles("") == ["Paris soon", "Barcelona later"]
    assert titles("?scope=fr") == ["Paris soon"]
    assert titles("?week=1") == ["Paris soon"]
    assert titles(f"?group={group['slug']}") == ["Paris soon"]
    assert titles("?origin=local") == ["Paris soon", "Barcelona later"]
    past_page = client.get("/events?past=1").get_data(as_text=True)
    assert "Last month&#39;s picnic" in past_page and "<strong>two</strong>" in past_page and "40 came" in past_page
    unknown = client.get("/events?scope=atlantis").get_data(as_text=True)
    assert "Unknown scope" in unknown and "Paris soon" in unknown

    # Atom: a territory's gatherings, announced by the listing page.
    feed = parse_atom(client.get("/events.atom?scope=fr").data)
    assert [e["title"] for e in feed["entries"]] == ["Paris soon"]
    assert "0 going" in feed["entries"][0]["content"]
    assert '/events.atom?scope=fr"' in client.get("/events?scope=fr").get_data(as_text=True)
    assert client.get("/events.atom?scope=atlantis").status_code == 422
    # The group's feed has its gatherings too.
    group_feed = parse_atom(client.get(f"/groups/{group['slug']}.atom").data)
    assert "Paris soon" in [e["title"] for e in group_feed["entries"]]


def test_a_report_after_the_end_through_the_page(app, member, create_event):
    from coopol.core.uow import unit_of_work
    from coopol.events.models import Event
    from coopol.extensions import db

    headers = member("ana")
    event = create_event(headers)
    with app.app_context(), unit_of_work():
        row = db.session.get(Event, event["id"])
        row.starts_at, row.ends_at = datetime.now(UTC) - timedelta(hours=3), datetime.now(UTC) - timedelta(hours=1)
    ana = _login(app, "ana")
    url = f"/events/{event['id']}"
    bad = ana.post(f"{url}/report", data={"minutes": "", "turnout": "many"})
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="minutes-error"' in page and 'id="turnout-error"' in page
    assert ana.post(f"{url}/report", data={"minutes": "It went well.", "turnout": "12"}).status_code == 302
    page = ana.get(url).get_data(as_text=True)
    assert "It went well." in page and "12 came" in page
