"""Issue 13 "done when", in a browser: a member starts a territorial group, another joins, an organiser hosts a
gathering with 2 places, three members RSVP (the third waitlisted, promoted when someone leaves), a member of
an allied party finds it in their own listing and RSVPs from home, both instances show the same counts, and
the calendar file parses. Two allied instances live in this process, served over HTTP; their delivery
workers run between steps (`settle`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import requests
from icalendar import Calendar
from playwright.sync_api import expect

from tests.federation.conftest import instance  # noqa: F401  (fixture)
from tests.federation.content.conftest import parties, settle  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse 12"  # tests/federation/content/conftest.py Party.member


def _person(browser, party, handle: str):
    """A browser of its own for one member, logged in on their instance, on a phone-sized screen."""
    context = browser.new_context(base_url=party.url, locale="en-GB", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto("/login")
    page.get_by_label("Handle or e-mail address").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("me").wait_for(state="attached")
    return page


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, page.url


def _counts(page) -> str:
    return page.get_by_test_id("event-counts").first.inner_text().strip()


def test_members_organise_a_gathering_that_an_allys_member_joins_from_home(browser, parties):  # noqa: F811
    a, b = parties(2)
    for handle in ("ana", "bea", "carl", "dora"):
        a.member(handle)
    b.member("rosa")

    # Ana starts a territorial group; Bea joins it.
    ana = _person(browser, a, "ana")
    ana.goto("/groups/new")
    ana.get_by_label("Name").fill("Paris night buses")
    ana.get_by_label("Territorial: the members of a place").check()
    ana.get_by_label("Territory").select_option("fr-paris")
    ana.get_by_role("button", name="Start the group").click()
    expect(ana.get_by_test_id("member-count")).to_have_text("1 member")
    group_path = ana.url.removeprefix(a.url)
    bea = _person(browser, a, "bea")
    bea.goto(group_path)
    bea.get_by_test_id("join").click()
    expect(bea.get_by_test_id("member-count")).to_have_text("2 members")

    # Ana hosts a gathering for the group, 2 places.
    start = (datetime.now(UTC) + timedelta(days=5)).replace(hour=18, minute=30)
    ana.goto(f"/events/new?group={group_path.rsplit('/', 1)[1]}")
    _fits(ana)
    ana.get_by_label("Title").fill("Night bus rally")
    ana.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT%H:%M"))
    ana.get_by_label("Ends").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    ana.get_by_label("Time zone").fill("Europe/Paris")
    ana.get_by_label("Name of the place").fill("Town hall")
    ana.get_by_label("Places (empty: no limit)").fill("2")
    ana.get_by_test_id("publish-event").click()
    expect(ana.get_by_test_id("event-counts")).to_have_text("0 going")
    event_path = ana.url.removeprefix(a.url)
    event_id = int(re.search(r"/events/(\d+)", event_path).group(1))
    assert "(Europe/Paris)" in ana.get_by_test_id("event-when").inner_text()
    ana.goto(group_path)  # the group page lists it
    expect(ana.get_by_test_id(f"group-event-{event_id}")).to_contain_text("Night bus rally")

    # Three members RSVP: two places, then the waitlist.
    people = {"bea": bea, "carl": _person(browser, a, "carl"), "dora": _person(browser, a, "dora")}
    for page in people.values():
        page.goto(event_path)
        page.get_by_test_id("rsvp-button").click()
    expect(people["bea"].get_by_test_id("my-rsvp")).to_have_count(1)
    people["dora"].goto(event_path)
    expect(people["dora"].get_by_test_id("my-rsvp")).to_contain_text("waitlist, number 1")
    expect(people["dora"].get_by_test_id("event-counts")).to_have_text("2 going, 1 on the waitlist")
    _fits(people["dora"])

    # Carl leaves: Dora moves up.
    people["carl"].goto(event_path)
    people["carl"].get_by_test_id("leave-event").click()
    people["dora"].goto(event_path)
    expect(people["dora"].get_by_test_id("my-rsvp")).to_have_text("You are going.")
    expect(people["dora"].get_by_test_id("event-counts")).to_have_text("2 going")

    # Rosa, of the allied party, finds it in her own instance's listing and answers from home.
    settle(a, b)
    rosa = _person(browser, b, "rosa")
    rosa.goto("/events")
    rosa.get_by_label("Hosted by").select_option(a.host)
    rosa.get_by_role("button", name="Show").click()
    card = rosa.locator("article.event-card", has_text="Night bus rally")
    expect(card.get_by_test_id("event-counts")).to_have_text("2 going")
    card.get_by_role("link", name="Night bus rally").click()
    copy_path = rosa.url.removeprefix(b.url)
    rosa.get_by_test_id("rsvp-button").click()
    settle(a, b)
    rosa.goto(copy_path)
    expect(rosa.get_by_test_id("my-rsvp")).to_contain_text("waitlist")
    expect(rosa.get_by_test_id("event-counts")).to_have_text("2 going, 1 on the waitlist")
    ana.goto(event_path)
    expect(ana.get_by_test_id("event-counts")).to_have_text("2 going, 1 on the waitlist")
    expect(ana.get_by_test_id("attendee-list")).to_contain_text(f"@rosa@{b.host}")

    # Bea leaves at home: the ally's member moves up, and both instances say so.
    bea.goto(event_path)
    bea.get_by_test_id("leave-event").click()
    settle(a, b)
    for page, path in ((ana, event_path), (rosa, copy_path)):
        page.goto(path)
        expect(page.get_by_test_id("event-counts")).to_have_text("2 going")
    expect(rosa.get_by_test_id("my-rsvp")).to_have_text("You are going.")

    # The calendar file imports: one VEVENT in the gathering's own zone, with a stable UID.
    ics = requests.get(f"{a.url}/events/{event_id}.ics", timeout=10)
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    (vevent,) = Calendar.from_ical(ics.content).walk("VEVENT")
    assert str(vevent["SUMMARY"]) == "Night bus rally"
    assert vevent["DTSTART"].params.get("TZID") == "Europe/Paris"
    assert str(vevent["UID"])
    for page in (ana, rosa, *people.values()):
        page.context.close()
