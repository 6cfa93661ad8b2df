"""What members get by e-mail, read at a real SMTP server: reset, confirmation, notifications, digests."""

from __future__ import annotations

import re
import time
from datetime import timedelta

from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.events import publish
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.mail.models import OutboxMail
from tests.conftest import TEST_PASSWORD
from tests.mail.conftest import forget_queued, parts, send_all

NEW_PASSWORD = "another long and unusual phrase"


def _link(message, path: str) -> str:
    text, _html = parts(message)
    match = re.search(re.escape(path) + r"([A-Za-z0-9_.\-]+)", text)
    assert match, text
    return match.group(1)


def _notify(app, member_id: int, notification_id: int, text: str, channel: str = "email") -> None:
    with app.app_context(), unit_of_work():
        publish("notification_created", member_id=member_id, kind="reply", notification_id=notification_id,
                text=text, url="/ideas/1", channel=channel)


def test_password_reset_end_to_end_through_the_api(app, mailbox, create_member):
    create_member("alice")
    forget_queued(app)
    client = app.test_client()

    known = client.post("/api/v1/password-reset", json={"email": "Alice@Example.org"})
    unknown = client.post("/api/v1/password-reset", json={"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 202 and known.data == unknown.data
    send_all(app)
    [message] = mailbox.messages
    assert message["To"] == "alice@example.org"
    token = _link(message, "/password-reset/")

    confirm = client.post("/api/v1/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert confirm.status_code == 204
    assert client.post("/api/v1/tokens", json={"login": "alice", "password": NEW_PASSWORD}).status_code == 201
    assert client.post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD}).status_code == 401

    again = client.post("/api/v1/password-reset/confirm", json={"token": token, "password": "yet another phrase 42"})
    forged = client.post("/api/v1/password-reset/confirm", json={"token": token[:-3] + "abc", "password": NEW_PASSWORD})
    for refused in (again, forged):
        assert refused.status_code == 422 and list(refused.json["errors"]) == ["token"]
    with app.app_context():  # the address is proven by the reset
        assert db.session.scalar(select(Member.email_confirmed_at).where(Member.handle == "alice")) is not None


def test_an_expired_reset_token_is_refused(app, create_member, monkeypatch):
    from itsdangerous.timed import TimestampSigner

    from coopol.accounts.services import get_member_by_handle
    from coopol.mail.tokens import reset_token

    create_member("alice")
    with app.app_context():
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 7200)
        token = reset_token(get_member_by_handle("alice"))
        monkeypatch.undo()
    response = app.test_client().post("/api/v1/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD})
    assert response.status_code == 422 and "token" in response.json["errors"]


def test_password_reset_pages_from_the_login_page(app, mailbox, create_member):
    create_member("alice")
    forget_queued(app)
    client = app.test_client()
    assert b'href="/password-reset"' in client.get("/login").data
    page = client.post("/password-reset", data={"email": "alice@example.org"})
    assert page.status_code == 200 and b"notice" in page.data
    send_all(app)
    token = _link(mailbox.messages[0], "/password-reset/")
    assert client.get(f"/password-reset/{token}").status_code == 200
    weak = client.post(f"/password-reset/{token}", data={"password": "short"})
    assert weak.status_code == 422 and b"field-error" in weak.data
    done = client.post(f"/password-reset/{token}", data={"password": NEW_PASSWORD})
    assert done.status_code == 302 and done.location.endswith("/login")
    assert client.get(f"/password-reset/{token}").status_code == 422  # used: one clear refusal
    assert client.post("/login", data={"login": "alice", "password": NEW_PASSWORD}).status_code == 302


def test_registration_sends_a_confirmation_and_voting_can_require_it(make_app, mailbox, create_member):
    app = make_app("strict", SMTP_URL=mailbox.url, REQUIRE_CONFIRMED_EMAIL_TO_VOTE=True)
    client = app.test_client()
    created = client.post("/api/v1/members", json={"handle": "voter", "email": "voter@example.org",
                                                   "password": TEST_PASSWORD})
    assert created.status_code == 201
    create_member("author", target_app=app)
    with app.test_request_context(), unit_of_work():
        from coopol.accounts.services import get_member_by_handle
        from coopol.ideas.services import create_idea

        idea_id = create_idea(get_member_by_handle("author"), title="Night trains", body="To Lyon.").id
    headers = {"Authorization": "Bearer " + client.post(
        "/api/v1/tokens", json={"login": "voter", "password": TEST_PASSWORD}).json["token"]}

    refused = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=headers)
    assert refused.status_code == 403 and "e-mail" in refused.json["message"]
    client.post("/login", data={"login": "voter", "password": TEST_PASSWORD})
    page = client.post(f"/ideas/{idea_id}/vote", data={"value": "support"}, follow_redirects=True)
    assert b"Confirm your e-mail address before voting" in page.data

    send_all(app)
    [message] = mailbox.to("voter@example.org")
    token = _link(message, "/mail/confirm/")
    assert client.get(f"/mail/confirm/{token}").status_code == 200
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=headers).status_code == 200
    assert client.get("/mail/confirm/forged").status_code == 422


def test_a_member_asks_for_a_new_confirmation_link(app, mailbox, create_member):
    create_member("alice")
    forget_queued(app)
    client = app.test_client()
    client.post("/login", data={"login": "alice", "password": TEST_PASSWORD})
    assert b"/settings/email" in client.get("/settings").data
    assert client.get("/settings/email").status_code == 200
    assert client.post("/settings/email/confirmation").status_code == 302
    send_all(app)
    token = _link(mailbox.messages[0], "/mail/confirm/")
    assert client.post("/api/v1/email-confirmation", json={"token": token}).status_code == 204


def test_notifications_by_email_coalesce_and_carry_one_click_unsubscribe(make_app, mailbox, create_member):
    app = make_app("csrf", SMTP_URL=mailbox.url, WTF_CSRF_ENABLED=True)  # one-click must not need a CSRF token
    alice = create_member("alice", target_app=app)
    forget_queued(app)
    _notify(app, alice, 7, "Bruno replied to your comment.", channel="web")  # not by e-mail
    _notify(app, alice, 8, "Bruno replied to your comment.")
    _notify(app, alice, 8, "40 people replied to your comment.")  # the same notification, counted up
    send_all(app)
    [message] = mailbox.messages
    text, html = parts(message)
    assert "40 people replied" in text and "40 people replied" in html and "http://csrf.coopol.test/ideas/1" in text
    _notify(app, alice, 8, "41 people replied to your comment.")  # already sent: no second mail
    assert send_all(app) == 0

    header = message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.fullmatch(r"<(http://csrf\.coopol\.test(/mail/unsubscribe/\S+))>", header)
    assert url, header
    mail_client = app.test_client()  # no cookies, no session
    page = mail_client.get(url.group(2))
    assert page.status_code == 200 and b'method="post"' in page.data
    _notify(app, alice, 9, "Still subscribed: a GET changes nothing.")
    one_click = mail_client.post(url.group(2), data="List-Unsubscribe=One-Click",
                                 content_type="application/x-www-form-urlencoded")
    assert one_click.status_code == 200
    assert mail_client.post("/mail/unsubscribe/forged").status_code == 404
    _notify(app, alice, 10, "Nobody will read this by e-mail.")
    assert send_all(app) == 0  # the queued #9 was dropped with the unsubscribe, #10 never queued
    assert len(mailbox.messages) == 1


def test_a_french_member_reads_french(app, mailbox, create_member, token_for):
    from coopol.mail.digests import register_digest_choice, register_digest_source, send_due_digests

    marie = create_member("marie")
    app.test_client().patch("/api/v1/me", json={"locale": "fr"}, headers=token_for("marie"))
    forget_queued(app)
    register_digest_choice(app, lambda member: "daily")
    register_digest_source(app, lambda member, since: [{"title": "Trains de nuit", "url": "/ideas/1", "kind": "idea"}])
    # 1 December of next year: always after the real clock, which dates the queued mails (on 2 December of
    # this year, "a day later" was a moment before the second digest was queued, so it was not due yet).
    now = utcnow().replace(year=utcnow().year + 1, month=12, day=1)
    with app.app_context():
        assert send_due_digests(now=now) >= 1
        assert send_due_digests(now=now) == 0  # looked at already
        db.session.remove()
    _notify(app, marie, 3, "Bruno a répondu.")
    send_all(app)
    digest = next(m for m in mailbox.messages if "Trains de nuit" in parts(m)[0])
    text, html = parts(digest)
    assert "novembre" in text and '<html lang="fr">' in html  # "30 novembre": the day before, in French
    assert "http://local.coopol.test/ideas/1" in text and digest["List-Unsubscribe"]
    assert all('<html lang="fr">' in parts(m)[1] for m in mailbox.messages)

    with app.app_context():  # once per period
        assert send_due_digests(now=now + timedelta(hours=2)) >= 1
        db.session.remove()
    assert send_all(app) == 0
    with app.app_context():
        send_due_digests(now=now + timedelta(days=1))
        db.session.remove()
    assert send_all(app, now=now + timedelta(days=1)) == 1
    with app.app_context():
        assert db.session.scalar(select(db.func.count(OutboxMail.id)).where(OutboxMail.kind == "digest")) == 2


def test_email_addresses_never_leave_the_instance(app, create_member):
    create_member("alice")
    person = app.test_client().get("/u/alice", headers={"Accept": "application/activity+json"})
    assert person.status_code == 200 and person.json["type"] == "Person"
    assert "alice@example.org" not in person.get_data(as_text=True)
    assert "email" not in person.get_data(as_text=True).lower()


def test_the_export_tells_what_mail_stores(app, create_member, token_for):
    create_member("alice")
    headers = token_for("alice")
    data = app.test_client().get("/api/v1/me/export", headers=headers).json
    assert data["account"]["email_confirmed_at"] is None
    assert data["mail"]["unsubscribed_at"] is None
    assert [m["kind"] for m in data["mail"]["messages"]] == ["confirm_email"]
    assert app.test_client().get("/api/v1/me", headers=headers).json["email_confirmed_at"] is None
