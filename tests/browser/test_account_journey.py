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


def _register_and_log_in(page, handle: str = "olympe") -> None:
    page.goto("/register")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("E-mail address").fill(f"{handle}@example.org")
    page.get_by_label("Password").fill("liberté égalité fraternité")
    page.get_by_role("button", name="Register").click()
    expect(page).to_have_url(re.compile(rf"/members/{handle}$"))


def test_create_an_api_token_on_the_settings_page_and_use_it(page, live_server):
    _register_and_log_in(page)

    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_label("Token name").fill("my script")
    page.get_by_role("button", name="Create a token").click()
    token = page.get_by_test_id("new-token").inner_text().strip()
    assert token.startswith("cpl_")

    # A script (no browser cookies) uses it.
    import requests

    me = requests.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.status_code == 200 and me.json()["handle"] == "olympe"

    page.get_by_role("link", name="Back to settings").click()
    expect(page.get_by_role("cell", name="my script")).to_be_visible()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("The token was revoked.")).to_be_visible()
    gone = requests.get(f"{live_server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert gone.status_code == 401


def test_switching_the_language_to_french(page, live_server):
    page.goto("/login")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    page.get_by_label("Language").select_option("fr")
    page.get_by_role("button", name="Change").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Se connecter")).to_be_visible()
    expect(page.get_by_label("Identifiant ou adresse e-mail")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")

    # The choice sticks: other pages are in French too, and it can be switched back.
    page.goto("/register")
    expect(page.get_by_role("button", name="S'inscrire")).to_be_visible()
    page.get_by_label("Langue").select_option("en")
    page.get_by_role("button", name="Changer").click()
    expect(page.get_by_role("button", name="Register")).to_be_visible()
