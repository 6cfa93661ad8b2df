import re

from playwright.sync_api import expect


def test_register_log_out_log_in_and_see_profile(page, live_server):
    page.goto("/register")
    page.get_by_label("Handle").fill("marianne")
    page.get_by_label("Display name").fill("Marianne Dupont")
    page.get_by_label("E-mail address").fill("marianne@example.org")
    page.get_by_label("Password").fill("liberté égalité fraternité")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(r"/members/marianne$"))
    expect(page.get_by_role("heading", name="Marianne Dupont")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out.")).to_be_visible()

    page.goto("/login")
    page.get_by_label("Handle or e-mail address").fill("marianne")
    page.get_by_label("Password").fill("wrong password entirely")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Invalid login or password.")).to_be_visible()

    page.get_by_label("Handle or e-mail address").fill("marianne@example.org")
    page.get_by_label("Password").fill("liberté égalité fraternité")
    page.get_by_role("button", name="Log in").click()
    page.get_by_test_id("me").click()
    expect(page.get_by_role("heading", name="Marianne Dupont")).to_be_visible()
    expect(page.get_by_text("@marianne")).to_be_visible()
    # The e-mail address is private: not on the public profile.
    expect(page.get_by_text("marianne@example.org")).to_have_count(0)
