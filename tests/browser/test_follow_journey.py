"""Issue 14 "done when", in a browser: Ana follows Bob, a member of an allied instance, from his profile and
finds his new idea in her home feed; Bob's reply to her comment shows in her header's unread count within
seconds (the real worker loops of both instances run meanwhile); Ana reads French, goes to a gathering that
starts within a day and asks for the daily digest: the reminder and the digest reach the SMTP server (aiosmtpd,
in this process) in French; she resets her password end to end; the idea list's Atom feed is Atom 1.0."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
import requests
from playwright.sync_api import expect

from tests.atom import parse_atom
from tests.federation.conftest import instance  # noqa: F401  (fixture)
from tests.federation.content.conftest import parties, settle  # noqa: F401  (fixtures)
from tests.federation.content.test_travel_ideas import publish
from tests.mail.conftest import mailbox, parts  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "correct horse 12"  # tests/federation/content/conftest.py Party.member
NEW_PASSWORD = "a brand new and unusual phrase"


def _log_in(page, handle: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.locator("input[name=login]").fill(handle)
    page.locator("input[name=password]").fill(password)
    page.locator("form:has(input[name=login]) button[type=submit]").click()
    page.get_by_test_id("me").wait_for(state="attached")


def _person(browser, party, handle: str):
    context = browser.new_context(base_url=party.url, locale="en-GB", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(10_000)
    _log_in(page, handle)
    return page


class Workers:
    """`coopol worker` of each instance, looping in a thread as in production (woken by commits)."""

    def __init__(self, *instances) -> None:
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(p.app,), daemon=True) for p in instances]

    def _run(self, app) -> None:
        from coopol.federation.delivery import run_worker

        with app.app_context():
            run_worker(concurrency=2, poll_seconds=0.1, stop=self.stop)

    def __enter__(self) -> Workers:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def _mails(box, address: str, subject: str) -> list:
    return [m for m in box.to(address) if subject in m["Subject"]]


def test_a_member_follows_an_allys_member_is_told_of_replies_and_reads_mail_in_french(
        browser, parties, mailbox):  # noqa: F811
    started = time.monotonic()
    a, b = parties(2, SMTP_URL=mailbox.url, MAIL_FROM="ideas@party.example")
    a.member("ana")
    a.member("carl")
    b.member("bob")
    ana_address = f"ana@{a.host.split(':')[0]}.example"
    first = publish(b, "bob", title="Free night buses")
    settle(a, b)

    # Ana follows Bob from his profile on her own instance.
    ana = _person(browser, a, "ana")
    ana.goto(f"/members/bob@{b.host}")
    ana.get_by_test_id("follow").click()
    expect(ana.get_by_test_id("unfollow")).to_be_visible()
    settle(a, b)  # the Follow of his Person reaches B

    # Bob proposes a new idea at home: it is in Ana's home feed.
    second = publish(b, "bob", title="Night trains to Lyon", body="Sleepers every night.")
    settle(a, b)
    copy_id = a.copy_of(second["ap_id"])["id"]
    ana.goto("/")
    expect(ana.get_by_test_id("home-feed").get_by_test_id(f"feed-idea-{copy_id}")).to_contain_text(
        "Night trains to Lyon")
    ana.get_by_test_id("home-feed").get_by_role("link", name="Night trains to Lyon").click()
    expect(ana).to_have_url(f"{a.url}/ideas/{copy_id}")  # our copy, where Ana votes and comments

    # Ana comments on Bob's first idea; Bob answers her from B, with both workers running: within seconds
    # her header counts one unread notice.
    ana.goto(f"/ideas/{a.copy_of(first['ap_id'])['id']}")
    form = ana.locator("#comment-form")
    form.get_by_label("for", exact=True).check()
    form.get_by_label("Your comment").fill("Yes, and on Sundays too.")
    form.get_by_role("button", name="Post the comment").click()
    expect(ana.get_by_test_id("comment").filter(has_text="Yes, and on Sundays too.")).to_be_visible()
    settle(a, b)
    mine_on_b = next(c for c in b.comments(first["id"]) if c["body"].startswith("Yes, and on Sundays"))
    expect(ana.get_by_test_id("unread-count")).to_have_count(0)
    with Workers(a, b):
        b.api("POST", f"/ideas/{first['id']}/comments", as_="bob", expect=201,
              json={"body": "Sundays too, agreed.", "stance": "for", "parent_id": mine_on_b["id"]})
        told = time.monotonic()
        deadline = told + 10
        while True:
            ana.goto("/")
            if ana.get_by_test_id("unread-count").count() or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        expect(ana.get_by_test_id("unread-count")).to_have_text("1")
        expect(ana.get_by_test_id("menu-unread")).to_be_visible()  # the menu is folded on a phone
        expect(ana.get_by_test_id("menu-unread")).to_have_text("1")
        reply_seconds = time.monotonic() - told
    ana.goto("/notifications")
    expect(ana.locator("main")).to_contain_text("Bob replied to your comment on “Free night buses”.")
    ana.get_by_role("button", name="Mark all as read").click()
    expect(ana.get_by_test_id("unread-count")).to_have_count(0)

    # Ana reads French from now on, wants reminders by e-mail and a daily digest.
    ana.goto("/settings")
    profile = ana.locator("form:has(input[name=display_name])")
    profile.locator("select[name=locale]").select_option("fr")
    profile.locator("button[type=submit]").click()
    expect(ana.locator("html")).to_have_attribute("lang", "fr")
    ana.goto("/settings/notifications")
    ana.locator("select[name=notify_event_reminder]").select_option("email")
    ana.locator("select[name=email_digest]").select_option("daily")
    ana.locator("main form button[type=submit]").click()
    expect(ana.locator("select[name=email_digest]")).to_have_value("daily")

    # Carl hosts a gathering in three hours; Ana goes.
    def host_gathering() -> int:
        from coopol.accounts.services import get_member_by_handle
        from coopol.core.time import utcnow
        from coopol.core.uow import unit_of_work
        from coopol.events.services import create_event

        with a.app.test_request_context(), unit_of_work():
            soon = utcnow() + timedelta(hours=3)
            return create_event(get_member_by_handle("carl"), title="Sleeper train picnic", starts_at=soon,
                                ends_at=soon + timedelta(hours=2), timezone="Europe/Paris",
                                place={"name": "Gare de Lyon"}).id

    event_id = host_gathering()
    ana.goto(f"/events/{event_id}")
    ana.get_by_test_id("rsvp-button").click()
    expect(ana.get_by_test_id("my-rsvp")).to_have_count(1)

    # The worker reminds her; an hour later it looks at digests again (MAIL_DIGEST_CHECK_SECONDS): hers goes.
    a.live.drain()
    with a.app.app_context():
        from coopol.core.time import utcnow
        from coopol.extensions import db
        from coopol.mail.digests import send_due_digests

        send_due_digests(now=utcnow() + timedelta(seconds=a.app.config["MAIL_DIGEST_CHECK_SECONDS"] + 1))
        db.session.remove()
    a.live.drain()
    [reminder] = _mails(mailbox, ana_address, "Sleeper train picnic")
    text, html = parts(reminder)
    text = text.replace("\xa0", " ").replace("\u202f", " ")  # French typography: no-break spaces
    assert "Rappel : « Sleeper train picnic » commence le" in text and '<html lang="fr">' in html
    assert "(Europe/Paris)" in text  # at the gathering's own time
    [digest] = _mails(mailbox, ana_address, "Du nouveau dans ce que vous suivez")
    text, html = parts(digest)
    assert "Night trains to Lyon" in text and f"{a.url}/ideas/{copy_id}" in text and '<html lang="fr">' in html
    assert digest["List-Unsubscribe"] and digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # She forgot her password: the link arrives by mail (in French), she chooses a new one and logs in.
    ana.context.clear_cookies()
    ana.goto("/login")
    ana.locator("a[href='/password-reset']").click()
    ana.locator("input[name=email]").fill(ana_address)
    ana.locator("main form button[type=submit]").click()
    a.live.drain()
    [reset] = _mails(mailbox, ana_address, "Réinitialisez votre mot de passe")
    link = re.search(re.escape(a.url) + r"(/password-reset/[A-Za-z0-9_.\-]+)", parts(reset)[0])
    assert link, parts(reset)[0]
    ana.goto(link.group(1))
    ana.locator("input[name=password]").fill(NEW_PASSWORD)
    ana.locator("main form button[type=submit]").click()
    expect(ana).to_have_url(re.compile(r"/login$"))
    _log_in(ana, "ana", NEW_PASSWORD)
    expect(ana.locator("html")).to_have_attribute("lang", "fr")

    # The idea list links its Atom feed, which is Atom 1.0 and carries Bob's idea.
    ana.goto("/ideas")
    href = ana.locator("link[rel=alternate][type='application/atom+xml']").first.get_attribute("href")
    atom = requests.get(href if href.startswith("http") else a.url + href, timeout=10)
    assert atom.status_code == 200 and atom.headers["Content-Type"].startswith("application/atom+xml")
    feed = parse_atom(atom.content)
    assert "Night trains to Lyon" in [entry["title"] for entry in feed["entries"]]
    ana.context.close()
    print(f"reply seen after {reply_seconds:.1f} s; journey {time.monotonic() - started:.1f} s")
