"""The alliance handshake driven through the dashboard's forms between two live instances (the same
services as `coopol allies request|accept|reject|revoke`), and every bad input answered on the page."""

from __future__ import annotations

import html
import re

import pytest

from coopol.federation.models import Ally, Delivery, RemoteActor
from tests.conftest import TEST_PASSWORD


def admin_client(live, create_member, handle: str = "boss"):
    create_member(handle, role="admin", target_app=live.app)
    client = live.app.test_client()
    assert client.post("/login", data={"login": handle, "password": TEST_PASSWORD}).status_code == 302
    client.get("/ideas")  # shows (and so clears) the "logged in" message
    return client


def ally_row_html(page: str, host: str) -> str:
    match = re.search(rf'<tr data-host="{re.escape(host)}">.*?</tr>', page, re.S)
    assert match, f"{host} not listed"
    return match.group(0)


def flashes(page: str) -> list[str]:
    found = re.findall(r'<li class="flash \w+">(.*?)</li>', page, re.S)
    return [html.unescape(re.sub(r"\s+", " ", message).strip()) for message in found]


def test_request_accept_and_revoke_through_the_web(instance, create_member):
    a, b = instance("a"), instance("b")
    on_a, on_b = admin_client(a, create_member), admin_client(b, create_member)

    asked = on_a.post("/admin/allies/request", data={"url": b.url, "back": "dashboard"})
    assert asked.status_code == 302 and asked.headers["Location"] == "/admin#allies"
    assert a.ally_row(b.host).status == "requested"
    assert a.deliveries() == [("Follow", "pending")]  # the worker delivers it
    assert f"Asked {b.host} to ally" in " ".join(flashes(on_a.get("/admin").text))
    a.drain()
    assert b.ally_row(a.host).status == "pending"

    dashboard = on_b.get("/admin").text
    row = ally_row_html(dashboard, a.host)
    assert "ally-pending" in row and f"/admin/allies/{a.host}/accept" in row and "/reject" in row
    accepted = on_b.post(f"/admin/allies/{a.host}/accept", data={"back": "dashboard"}, follow_redirects=True)
    assert accepted.status_code == 200
    assert f"Alliance with {a.host} accepted; our own request was sent back." in flashes(accepted.text)
    for _ in range(3):
        b.drain()
        a.drain()
    assert a.ally_row(b.host).is_allied and b.ally_row(a.host).is_allied
    row = ally_row_html(on_a.get("/admin/allies").text, b.host)
    assert "ally-allied" in row and re.search(r'<td class="tally queued">0', row)
    assert "never" not in row  # a delivery to b succeeded

    # Revoking asks for a confirmation first: the button leads to a page, a bare POST changes nothing.
    assert f'href="/admin/allies/{b.host}/revoke?back=panel"' in row
    confirm = on_a.get(f"/admin/allies/{b.host}/revoke?back=panel")
    assert confirm.status_code == 200 and 'name="confirm" value="yes"' in confirm.text
    unconfirmed = on_a.post(f"/admin/allies/{b.host}/revoke", data={"back": "panel"})
    assert unconfirmed.status_code == 200 and 'name="confirm" value="yes"' in unconfirmed.text
    assert a.ally_row(b.host).is_allied
    revoked = on_a.post(f"/admin/allies/{b.host}/revoke", data={"confirm": "yes", "back": "panel"})
    assert revoked.status_code == 302 and revoked.headers["Location"] == "/admin/allies"
    assert a.ally_row(b.host).status == "revoked"
    a.drain()
    assert b.ally_row(a.host).status == "revoked"
    assert f"Alliance with {b.host} revoked." in flashes(on_a.get("/admin/allies").text)


def test_reject_through_the_web(instance, create_member):
    a, b = instance("a"), instance("b")
    on_a, on_b = admin_client(a, create_member), admin_client(b, create_member)
    on_a.post("/admin/allies/request", data={"url": b.url})
    a.drain()
    rejected = on_b.post(f"/admin/allies/{a.host}/reject", follow_redirects=True)
    assert f"Request from {a.host} rejected." in flashes(rejected.text)
    b.drain()
    assert a.ally_row(b.host).status == "rejected" and b.ally_row(a.host).status == "rejected"
    again = on_b.post(f"/admin/allies/{a.host}/accept", follow_redirects=True)
    assert again.status_code == 200 and any("no pending alliance request" in m for m in flashes(again.text))


def counts(live) -> tuple[int, int, int]:
    return (live.count(Ally), live.count(Delivery), live.count(RemoteActor))


@pytest.mark.parametrize("case", ["not a url", "ftp", "too long", "own", "not coopol", "garbage webfinger",
                                  "unreachable"])
def test_a_refused_request_says_why_on_the_page_and_stores_nothing(instance, peer, create_member, case):
    a = instance("a")
    on_a = admin_client(a, create_member)
    stranger = peer()
    stranger.answer("/.well-known/webfinger", body={"links": [1, "x"]},
                    headers={"Content-Type": "application/jrd+json"})
    down = peer()
    down.served.stop()
    url, reason = {
        "not a url": ("party dot example", "Give the other instance's address"),
        "ftp": ("ftp://ideas.example", "Give the other instance's address"),
        "too long": ("https://ideas.example/" + "x" * 3000, "at most 2048 characters"),
        "own": (a.url, "This is our own instance."),
        "not coopol": (peer().url, "Cannot discover a Coopol Group"),
        "garbage webfinger": (stranger.url, "has no ActivityPub link"),
        "unreachable": (down.url, "Cannot discover a Coopol Group"),
    }[case]
    before = counts(a)
    for back in ("dashboard", "panel"):
        response = on_a.post("/admin/allies/request", data={"url": url, "back": back})
        assert response.status_code == 422, response.text
        messages = flashes(response.text)
        assert len(messages) == 1 and messages[0].startswith("The alliance request was not sent:")
        assert reason in messages[0]
        assert f'value="{url[:2048]}"' in response.text and 'role="alert"' in response.text  # the form keeps it
        assert ('<section id="moderation"' in response.text) == (back == "dashboard")
        assert counts(a) == before


def test_asking_an_ally_again_is_refused_and_changes_nothing(instance, create_member):
    from tests.federation.conftest import run_handshake

    a, b = instance("a"), instance("b")
    run_handshake(a, b)
    on_a = admin_client(a, create_member)
    before = (counts(a), a.deliveries())
    response = on_a.post("/admin/allies/request", data={"url": b.url})
    assert response.status_code == 409
    assert flashes(response.text) == [f"The alliance request was not sent: {b.host} is already an ally."]
    assert (counts(a), a.deliveries()) == before and a.ally_row(b.host).is_allied


def test_answers_to_unknown_hosts_or_actions_are_messages(instance, create_member):
    a = instance("a")
    on_a = admin_client(a, create_member)
    for action in ("accept", "reject"):
        page = on_a.post(f"/admin/allies/nowhere.example/{action}", follow_redirects=True)
        assert page.status_code == 200
        assert any("No alliance or request with 'nowhere.example'" in m for m in flashes(page.text))
    page = on_a.get("/admin/allies/nowhere.example/revoke", follow_redirects=True)
    assert 'name="confirm"' not in page.text and any("No alliance or request" in m for m in flashes(page.text))
    page = on_a.post("/admin/allies/nowhere.example/revoke", data={"confirm": "yes"}, follow_redirects=True)
    assert any("No alliance or request" in m for m in flashes(page.text))
    page = on_a.post("/admin/allies/nowhere.example/befriend", follow_redirects=True)
    assert flashes(page.text) == ["Unknown action."]
    assert counts(a) == (0, 0, 0)


def test_the_forms_need_their_csrf_token(instance, create_member):
    b = instance("b")
    a = instance("a", WTF_CSRF_ENABLED=True)
    create_member("boss", role="admin", target_app=a.app)
    client = a.app.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"login": "boss", "password": TEST_PASSWORD, "csrf_token": token})
    assert client.post("/admin/allies/request", data={"url": b.url}).status_code == 400
    assert a.count(Ally) == 0
    page = client.get("/admin").text
    form = re.search(r'<form method="post" action="/admin/allies/request".*?</form>', page, re.S).group(0)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post("/admin/allies/request", data={"url": b.url, "csrf_token": token}).status_code == 302
    assert a.ally_row(b.host).status == "requested"


def test_the_allies_panel_shows_queue_failures_and_breaker_from_real_deliveries(instance, peer, create_member):
    from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity

    a = instance("a")
    remote = peer()
    remote.ally_of(a, consecutive_failures=3)

    def queue(n: int):
        def write():
            from coopol.core.uow import unit_of_work
            from coopol.federation.actors import group_id

            with unit_of_work():
                enqueue_activity(build_activity("Create", group_id(), {"id": f"{a.url}/notes/{n}", "type": "Note"}),
                                 ally_inboxes())

        a.query(write)

    for path in ("/inbox", "/g/ideas/inbox"):
        remote.answer(path, 400, b"no")
    queue(1)
    a.drain()  # refused for good
    for path in ("/inbox", "/g/ideas/inbox"):
        remote.answer(path, 503, b"busy")
    queue(2)
    queue(3)
    a.drain()  # both retry later; the fifth failure in a row trips the breaker
    queue(4)  # due at once, but waits for the breaker
    on_a = admin_client(a, create_member)
    row = ally_row_html(on_a.get("/admin").text, remote.host)
    cells = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell)).strip()
             for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells[1].startswith("allied paused until")
    assert cells[2] == "never"
    assert cells[3] == "3 1 due now"
    assert cells[4].startswith("5 · 1 failed for good") and "503" in cells[4]
    assert cells[5] == "—"  # no backfill job


def test_asking_back_an_instance_that_asked_first_accepts_its_request(instance, create_member):
    a, b = instance("a"), instance("b")
    on_b = admin_client(b, create_member)
    a.cli("allies", "request", b.url)
    assert b.ally_row(a.host).status == "pending"
    page = on_b.post("/admin/allies/request", data={"url": a.url}, follow_redirects=True)
    assert f"{a.host} had asked to ally" in " ".join(flashes(page.text))
    for _ in range(3):
        b.drain()
        a.drain()
    assert a.ally_row(b.host).is_allied and b.ally_row(a.host).is_allied
