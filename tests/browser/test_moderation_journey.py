"""Reports until the idea is hidden, a moderator removes it with a reason, the author appeals, another
moderator reverses, and the public log shows all of it without naming the reporters."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import TEST_PASSWORD

REPORTERS = ("rosa", "jean", "olympe")


@pytest.fixture
def seeded(live_app):
    from coopol.accounts.services import register_member
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea

    with live_app.app_context(), unit_of_work():
        members = {}
        for handle, role in [("amelie", "member"), *[(h, "member") for h in REPORTERS],
                             ("modmarie", "moderator"), ("modpaul", "moderator")]:
            members[handle] = register_member(handle, f"{handle}@example.org", TEST_PASSWORD, role=role,
                                              bypass_policy=True)
        idea = create_idea(members["amelie"], title="Community gardens on every roof", body="Green roofs.")
        idea_id = idea.id
    return idea_id


@pytest.fixture
def session_for(browser, live_server):
    contexts = []

    def open_as(handle):
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/login")
        page.get_by_label("Handle or e-mail address").fill(handle)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_test_id("me")).to_be_visible()
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_report_remove_appeal_reverse_and_the_public_log(page, seeded, session_for):
    idea_id = seeded
    for handle, reason in zip(REPORTERS, ("Spam", "Spam", "Off topic"), strict=True):
        reporter = session_for(handle)
        reporter.goto(f"/report/idea/{idea_id}")
        reporter.get_by_label(reason, exact=True).check()
        reporter.get_by_label("Details (optional)").fill(f"Reported by {handle}")
        reporter.get_by_role("button", name="Send the report").click()
        expect(reporter.get_by_text("Thank you: your report was sent to the moderators.")).to_be_visible()

    # The third report hid the idea; its author is told why, without the reporters' names.
    author = session_for("amelie")
    author.goto("/notifications")
    hidden_note = author.locator("li", has_text="is hidden until a moderator reviews it")
    expect(hidden_note).to_contain_text("spam (2), off-topic (1)")
    for handle in REPORTERS:
        expect(author.locator("main")).not_to_contain_text(handle)

    # A moderator sees the reports (and who made them) and removes the idea with a reason.
    marie = session_for("modmarie")
    marie.goto("/moderation")
    item = marie.get_by_test_id(f"queue-idea-{idea_id}")
    expect(item).to_contain_text("3 open reports")
    expect(item).to_contain_text("@rosa")
    item.get_by_label("Action").select_option("remove")
    item.get_by_label("Reason (public, required)").fill("Advertising for a private company.")
    item.get_by_role("button", name="Apply").click()
    expect(marie.get_by_text(f"Done: Removed (Idea {idea_id})")).to_be_visible()
    expect(marie.get_by_text("Nothing to review: no open report.")).to_be_visible()

    # The author appeals from the notification.
    author.goto("/notifications")
    removal_note = author.locator("li", has_text="A moderator removed your idea")
    expect(removal_note).to_contain_text("Advertising for a private company.")
    removal_note.get_by_role("link", name="Appeal this decision").click()
    author.get_by_label("Why should this decision be reversed?").fill("It is a cooperative project, not an advert.")
    author.get_by_role("button", name="Send the appeal").click()
    expect(author.get_by_text("Your appeal was sent.")).to_be_visible()
    expect(author.get_by_text("Waiting for a decision by a different moderator.")).to_be_visible()

    # The moderator who removed it cannot decide; another one reverses.
    marie.goto("/moderation")
    expect(marie.get_by_text("You took this decision: another moderator must decide the appeal.")).to_be_visible()
    paul = session_for("modpaul")
    paul.goto("/moderation")
    appeal = paul.locator("article", has_text="Appeal by @amelie")
    expect(appeal).to_contain_text("It is a cooperative project, not an advert.")
    appeal.get_by_label("Reverse (restore what was there)").check()
    appeal.get_by_label("Reason for the decision (public)").fill("A cooperative is welcome here.")
    appeal.get_by_role("button", name="Decide").click()
    expect(paul.get_by_text("The appeal was decided and recorded in the public log.")).to_be_visible()

    # The idea is back for everyone, and the public log tells the whole story.
    page.goto(f"/ideas/{idea_id}")
    expect(page.get_by_role("heading", name="Community gardens on every roof")).to_be_visible()
    page.goto("/modlog")
    rows = page.locator("table.modlog tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Appeal granted, decision reversed")
    expect(rows.nth(0)).to_contain_text("@modpaul")
    expect(rows.nth(0)).to_contain_text("A cooperative is welcome here.")
    expect(rows.nth(0).get_by_role("link", name="Community gardens on every roof")).to_be_visible()
    expect(rows.nth(1)).to_contain_text("Removed")
    expect(rows.nth(1)).to_contain_text("@modmarie")
    expect(rows.nth(1)).to_contain_text("Advertising for a private company.")
    expect(rows.nth(2)).to_contain_text("automatic")
    expect(rows.nth(2)).to_contain_text("Hidden automatically after 3 reports")
    for handle in REPORTERS:
        expect(page.locator("main")).not_to_contain_text(handle)
    expect(page).to_have_url(re.compile(r"/modlog$"))
