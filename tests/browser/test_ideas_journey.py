"""Members propose, debate, vote, search and filter ideas in a real browser (no JavaScript needed)."""

import re

from playwright.sync_api import expect

PASSWORD = "a long and unusual pass phrase"


def seed_members(live_app, *handles):
    from coopol.accounts.services import register_member
    from coopol.core.uow import unit_of_work

    with live_app.app_context(), unit_of_work():
        for handle in handles:
            register_member(handle, f"{handle}@example.org", PASSWORD, display_name=handle.title(), bypass_policy=True)


def log_in(page, handle):
    page.goto("/login")
    page.get_by_label("Handle or e-mail address").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("me")).to_be_visible()


def log_out(page):
    page.get_by_role("button", name="Log out").click()


def test_propose_debate_vote_search_filter_and_revisions(page, live_app):
    seed_members(live_app, "alice", "bob")

    # Alice proposes an idea.
    log_in(page, "alice")
    page.get_by_role("link", name="Propose an idea").first.click()
    page.get_by_label("Title").fill("Free night buses")
    page.get_by_label("Description").fill("Buses every **night**.\n\nLine two.")
    page.get_by_label("Tags").fill("transport night")
    page.get_by_label("Scope").select_option("fr-paris")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("heading", name="Free night buses")).to_be_visible()
    expect(page.get_by_test_id("idea-body").locator("strong")).to_have_text("night")
    idea_url = page.url
    log_out(page)

    # Bob finds it by searching, votes and changes his vote.
    log_in(page, "bob")
    page.get_by_role("link", name="Ideas", exact=True).click()
    page.get_by_text("Search and filters").click()  # folded under the list's head
    page.get_by_label("Search").fill("night bus")
    page.get_by_role("button", name="Apply").click()
    page.get_by_role("link", name="Free night buses").click()
    page.get_by_role("button", name="Support").click()
    expect(page.get_by_test_id("my-vote")).to_have_text("Your vote: support")
    expect(page.get_by_test_id("tally")).to_contain_text("1 support")
    page.get_by_role("button", name="Oppose").click()
    expect(page.get_by_test_id("my-vote")).to_have_text("Your vote: oppose")
    expect(page.get_by_test_id("tally")).to_contain_text("0 support")
    expect(page.get_by_test_id("tally")).to_contain_text("1 oppose")

    # Bob comments with a stance, then replies to himself against it.
    form = page.locator("#comment-form")
    form.get_by_label("for", exact=True).check()
    form.get_by_label("Your comment").fill("Good for night workers.")
    form.get_by_role("button", name="Post the comment").click()
    comment = page.get_by_test_id("comment").filter(has_text="Good for night workers.")
    expect(comment.get_by_test_id("stance").first).to_have_text("for")
    comment.locator("summary", has_text="Reply").click()
    comment.get_by_label("against", exact=True).check()
    comment.get_by_label("Your reply").fill("But who pays?")
    comment.get_by_role("button", name="Post the reply").click()
    reply = page.get_by_test_id("comment").filter(has_text="But who pays?")
    expect(reply).to_have_class(re.compile(r"depth-1"))
    expect(reply.get_by_test_id("stance")).to_have_text("against")
    page.get_by_role("link", name="For and against").click()
    expect(page.get_by_test_id("side-for")).to_contain_text("Good for night workers.")
    expect(page.get_by_test_id("side-against")).to_contain_text("But who pays?")
    log_out(page)

    # Alice edits after Bob voted: the page says "edited" and the history shows the diff.
    log_in(page, "alice")
    page.goto(idea_url)
    page.get_by_role("link", name="Edit", exact=True).first.click()
    page.get_by_label("Description").fill("Buses every **night**.\n\nLine two, now funded by the city.")
    page.get_by_role("button", name="Save").click()
    page.get_by_test_id("edited").click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    expect(page.get_by_test_id("revision")).to_have_count(2)
    expect(page.locator(".diff-added")).to_contain_text("Line two, now funded by the city.")
    expect(page.locator(".diff-removed")).to_contain_text("Line two.")

    # Filters: by scope (France includes Paris) and by tag.
    page.goto("/ideas")
    page.get_by_text("Search and filters").click()  # folded until a filter is set
    page.get_by_label("Scope").select_option("de")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("No idea matches.")).to_be_visible()
    page.get_by_label("Scope").select_option("fr")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("idea-card")).to_have_count(1)
    page.get_by_role("link", name="#transport").click()
    expect(page).to_have_url(re.compile(r"tag=transport"))
    expect(page.get_by_role("link", name="Free night buses")).to_be_visible()


def test_errors_are_shown_next_to_the_fields(page, live_app):
    seed_members(live_app, "carol")
    log_in(page, "carol")
    page.goto("/ideas/new")
    page.get_by_label("Title").fill("no")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#title-error")).to_contain_text("at least 3")
    expect(page.locator("#body-error")).to_contain_text("required")
    expect(page.get_by_label("Title")).to_have_value("no")
