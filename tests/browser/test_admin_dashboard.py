"""The dashboard in Chromium on a 360 px wide screen: nothing wider than the screen (tables scroll in
their own box), the charts drawn, no Content-Security-Policy violation, and a refused alliance request
answered on the page."""

from __future__ import annotations

import os

import pytest

from tests.conftest import TEST_PASSWORD

SCREENSHOT = os.environ.get("COOPOL_ADMIN_SCREENSHOT")  # a path, to look at the page by eye
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_dashboard_fits_a_small_screen(page, live_app, create_member):
    from playwright.sync_api import expect

    create_member("boss", role="admin", target_app=live_app)
    problems: list[str] = []
    # A Content-Security-Policy violation (an inline style, a script) is a console error "Refused to ...".
    page.on("console", lambda message: problems.append(message.text) if "Refused" in message.text else None)
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto("/login")
    page.get_by_label("Handle or e-mail address").fill("boss")
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("menu-button").click()  # the menu is folded on a phone
    page.get_by_test_id("admin-nav").click()
    expect(page.get_by_role("heading", name="Administration", exact=True)).to_be_visible()

    charts = page.locator(".admin svg.chart")
    expect(charts).to_have_count(4)
    for i in range(4):
        box = charts.nth(i).bounding_box()
        assert box and 200 < box["width"] <= 360 and box["height"] > 80, box
    too_wide = page.evaluate("""() => [...document.querySelectorAll('.admin *')]
        .filter(el => !el.closest('.scroll') && el.getBoundingClientRect().right > 360.5)
        .map(el => el.tagName + '.' + el.className)""")
    assert too_wide == []

    page.get_by_label("Ask another instance to ally (its address)").fill("https://")
    page.get_by_role("button", name="Ask to ally").click()
    expect(page.get_by_role("alert")).to_contain_text("Give the other instance's address")
    expect(page.locator(".flash.error")).to_contain_text("The alliance request was not sent")
    assert problems == []
    if SCREENSHOT:
        page.screenshot(path=SCREENSHOT, full_page=True)
