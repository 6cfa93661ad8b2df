"""Every page on a 360 px phone and a 1280 px screen, signed out and signed in as member, moderator and
admin: no page wider than the viewport, controls at least 44 px tall on the phone, and the header's menu
opens without JavaScript. `COOPOL_SCREENSHOTS=DIR` also saves a full-page screenshot of each page."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.browser.site import ALLY_NAME, ROLES, log_in, pages, seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
WIDTHS = (360, 1280)
MIN_TAP = 44
# Controls a finger must hit: the header, the forms, buttons and button-like links, the list's pills.
TAP_SELECTOR = ", ".join([
    "header.site a", "header.site button", "header.site label.menu-button", "footer.site select",
    "footer.site button", "main button", "main select", "main summary", "main a.button",
    "main input:not([type=hidden]):not([type=checkbox]):not([type=radio])",
    "main label:has(> input[type=checkbox])", "main label:has(> input[type=radio])",
    ".sorts a", ".views a", ".pages a",
])
MEASURE = """([selector, minimum]) => {
  const seen = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || style.visibility === 'hidden' || el.closest('details:not([open])')) continue;
    if (el.classList.contains('skip')) continue;  // off-screen until focused
    const name = (el.innerText || el.value || el.name || '').trim().slice(0, 40);
    if (box.height < minimum) seen.push(`${el.tagName.toLowerCase()} "${name}" ${Math.round(box.height)}px`);
  }
  return seen;
}"""
WIDER = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(el => !el.closest('table') || el.tagName === 'TABLE')
  .slice(0, 5)
  .map(el => `${el.tagName.toLowerCase()}.${el.className} ${Math.round(el.getBoundingClientRect().right)}px`)"""


@pytest.fixture
def site(live_app, live_server):
    return seed(live_app)


def _screenshot(page, role: str, width: int, path: str) -> None:
    folder = os.environ.get("COOPOL_SCREENSHOTS")
    if folder:
        name = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "landing"
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{width}-{role}-{name}.png"), full_page=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_is_wider_than_the_screen_and_controls_are_big_enough(browser, live_server, live_app, site, width):
    problems: list[str] = []
    visited = 0
    for role in ROLES:
        context = browser.new_context(base_url=live_server.url, locale="en-GB",
                                      viewport={"width": width, "height": 800})
        page = context.new_page()
        page.set_default_timeout(10_000)
        log_in(page, role)
        for path in pages(live_app, site, role):
            response = page.goto(path)
            visited += 1
            where = f"{role} {width}px {path}"
            if response is None or response.status >= 500:
                problems.append(f"{where}: status {response and response.status}")
                continue
            if width < 600 and page.locator("#menu-toggle").count():
                page.locator("label.menu-button").click()  # the menu open: its links are measured too
            scroll_width, inner_width = page.evaluate(
                "() => [document.documentElement.scrollWidth, window.innerWidth]")
            if scroll_width > inner_width:
                problems.append(f"{where}: {scroll_width}px wide > {inner_width}px ({page.evaluate(WIDER)})")
            if width < 600:
                small = page.evaluate(MEASURE, [TAP_SELECTOR, MIN_TAP])
                if small:
                    problems.append(f"{where}: under {MIN_TAP}px: {small[:6]}")
            _screenshot(page, role, width, path)
        context.close()
    assert visited > 100
    assert not problems, "\n".join(problems)


def test_the_menu_opens_without_javascript(browser, live_server, site):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", java_script_enabled=False,
                                  viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto("/")
    ideas_link = page.locator("#site-nav").get_by_role("link", name="Ideas", exact=True)
    assert not ideas_link.is_visible()
    page.get_by_test_id("menu-button").click()
    assert ideas_link.is_visible()
    ideas_link.click()
    assert page.url.endswith("/ideas")
    # The list shows ideas first; the filters are folded and open without JavaScript too.
    assert page.get_by_test_id("idea-card").first.is_visible()
    assert not page.get_by_label("Tag").is_visible()
    page.get_by_text("Search and filters").click()
    assert page.get_by_label("Tag").is_visible()
    context.close()


def test_the_menu_is_open_on_a_wide_screen(browser, live_server, site):
    context = browser.new_context(base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"/ideas/{site.idea_id}")
    assert not page.get_by_test_id("menu-button").is_visible()
    assert page.locator("#site-nav").get_by_role("link", name="Stats").is_visible()
    # Votes and comments from the ally show its party's name.
    assert ALLY_NAME in page.locator("table.by-instance").inner_text()
    assert ALLY_NAME in page.get_by_test_id("comment").nth(1).inner_text()
    context.close()


def test_dark_scheme_follows_the_system(browser, live_server, site):
    context = browser.new_context(base_url=live_server.url, color_scheme="dark")
    page = context.new_page()
    page.goto("/")
    background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(18, 19, 22)"
    context.close()
