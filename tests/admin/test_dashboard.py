"""The admin dashboard: who may see it, each registered panel with real numbers, server-drawn charts,
and the alliance handshake driven through its forms between two live instances."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from coopol.accounts.services import get_member_by_handle
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from tests.conftest import TEST_PASSWORD


def login(client, handle: str) -> None:
    response = client.post("/login", data={"login": handle, "password": TEST_PASSWORD})
    assert response.status_code == 302, response.text


def section(html: str, key: str) -> str:
    """The HTML of one panel's <section>."""
    match = re.search(rf'<section id="{key}" .*?</section>', html, re.S)
    assert match, f"no {key} panel"
    return match.group(0)


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}"><dt>[^<]*</dt>\s*<dd>(.*?)</dd>', html, re.S)
    assert match, f"no figure {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


# ------------------------------------------------------------------------------------------ access


def test_only_administrators_reach_the_dashboard(app, client, create_member):
    for handle, role in (("mia", "member"), ("mod", "moderator"), ("boss", "admin")):
        create_member(handle, role=role)
    for path in ("/admin", "/admin/allies", "/admin/moderation", "/admin/participation"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert client.post("/admin/allies/request", data={"url": "http://b.example"}).status_code == 302

    for handle in ("mia", "mod"):
        login(client, handle)
        home = client.get("/ideas").text
        assert 'data-testid="me"' in home and 'data-testid="admin-nav"' not in home
        for path in ("/admin", "/admin/allies", "/admin/participation", "/admin/allies/x.example/revoke"):
            assert client.get(path).status_code == 403, (handle, path)
        assert client.post("/admin/allies/request", data={"url": "http://b.example"}).status_code == 403
        assert client.post("/admin/allies/x.example/accept").status_code == 403
        assert client.post("/admin/followers/1/approve").status_code == 403
        client.post("/logout")

    login(client, "boss")
    home = client.get("/ideas").text
    assert re.search(r'<a href="/admin" data-testid="admin-nav">Administration</a>', home)
    page = client.get("/admin")
    assert page.status_code == 200
    assert [m for m in re.findall(r'<section id="(\w+)"', page.text)] == ["allies", "followers", "moderation",
                                                                          "participation", "bridging"]
    assert client.get("/admin/nothing-here").status_code == 404
    with app.app_context():
        from coopol.federation.models import Ally

        assert db.session.scalar(select(func.count()).select_from(Ally)) == 0


def test_a_domain_registers_its_panel_without_the_dashboard_knowing_it(make_app):
    from coopol.admin import list_panels, register_panel

    app = make_app("local")
    with app.app_context():
        assert [(p.key, p.template) for p in list_panels()] == [
            ("allies", "federation/allies.html"), ("followers", "federation/followers.html"),
            ("moderation", "moderation/admin_panel.html"),
            ("participation", "ideas/admin_panel.html"), ("bridging", "bridging/admin_panel.html")]
        with pytest.raises(ValueError, match="already registered"):
            register_panel(app, "moderation", "Again", "x.html", dict)


# ------------------------------------------------------------------------------------------ panels


@pytest.fixture
def seeded(app, create_member):
    """Ideas, comments and votes this month and two months ago; reports, actions and an appeal."""
    from coopol.accounts.models import Member
    from coopol.ideas.comments import post_comment
    from coopol.ideas.services import create_idea
    from coopol.ideas.stats import _months
    from coopol.ideas.votes import cast_vote
    from coopol.moderation.models import ModerationAction, Report
    from coopol.moderation.services import appeal_action, file_report, take_action

    for handle, role in (("author", "member"), ("rosa", "member"), ("jean", "member"), ("olympe", "member"),
                         ("mod", "moderator"), ("boss", "admin")):
        create_member(handle, role=role)
    with app.test_request_context():
        from coopol.core.time import utcnow

        now = utcnow()
        earlier = now.replace(day=1, hour=12) - timedelta(days=1)  # last month
        earlier = earlier.replace(day=1) - timedelta(days=1)  # the month before
        assert earlier.strftime("%Y-%m") == _months(now)[-3]
        with unit_of_work():
            m = {h: get_member_by_handle(h) for h in ("author", "rosa", "jean", "olympe", "mod")}
            old = create_idea(m["author"], title="An older idea", body="From before.", published_at=earlier)
            first = create_idea(m["author"], title="Free public transport", body="Let us do it.")
            second = create_idea(m["olympe"], title="Open council meetings", body="Every month.")
            post_comment(m["rosa"], old, body="Old thoughts.", created_at=earlier)
            comment = post_comment(m["author"], first, body="A rude remark.")
            for voter in ("rosa", "jean", "olympe"):
                cast_vote(m[voter], first, "support")
            cast_vote(m["jean"], second, "oppose")
            file_report(m["rosa"], "idea", second.id, "spam")
            file_report(m["jean"], "idea", second.id, "off_topic")
            file_report(m["olympe"], "comment", comment.id, "offensive")
            hide = take_action(m["mod"], "hide", "comment", comment.id, "Insults.")
            take_action(m["mod"], "pin", "idea", first.id, "The question of the month.")
            appeal_action(m["author"], hide.id, "It was a joke.")
            # One action 20 days old, the idea reports opened three days ago, one member from months ago.
            db.session.execute(update(ModerationAction).where(ModerationAction.action == "pin")
                               .values(created_at=now - timedelta(days=20)))
            db.session.execute(update(Report).where(Report.target_type == "idea")
                               .values(created_at=now - timedelta(days=3, hours=1)))
            db.session.execute(update(Member).where(Member.handle == "olympe").values(created_at=earlier))
    return {"now": now}


def test_the_dashboard_shows_real_numbers_from_every_panel(client, seeded):
    login(client, "boss")
    html = client.get("/admin").text

    moderation = section(html, "moderation")
    assert figure(moderation, "open_reports") == "2"  # the comment's report was resolved by the hide
    assert figure(moderation, "queue_items") == "1"
    assert figure(moderation, "oldest_open") == "3 days"
    assert figure(moderation, "actions_7_days") == "1"
    assert figure(moderation, "actions_30_days") == "2"
    assert figure(moderation, "pending_appeals") == "1"

    participation = section(html, "participation")
    assert (figure(participation, "members"), figure(participation, "ideas"), figure(participation, "comments"),
            figure(participation, "votes")) == ("6", "3", "2", "4")
    assert "<script" not in html

    allies = section(html, "allies")
    assert "No alliances and no requests yet." in allies and 'name="url"' in allies


def test_each_chart_has_a_point_per_month_and_the_last_month_labelled(client, seeded):
    from flask_babel import format_date

    login(client, "boss")
    html = client.get("/admin/participation").text
    expected = {"members": [5, 0, 1, 0, 0], "ideas": [2, 0, 1], "comments": [1, 0, 1], "votes": [4, 0, 0]}
    with client.application.test_request_context():
        this_month = format_date(seeded["now"].date().replace(day=1), "MMM yy")
    for key, newest_first in expected.items():
        chart = re.search(rf'<figure data-chart="{key}">(.*?)</figure>', html, re.S).group(1)
        assert chart.startswith("<svg") and "viewBox" in chart
        values = [int(v) for v in re.findall(r"<circle [^>]*><title>[^<]*: (\d+)</title>", chart)]
        assert len(values) == 12 and len(re.findall(r"<polyline ", chart)) == 1
        assert list(reversed(values))[:len(newest_first)] == newest_first, key
        labels = re.findall(r'<text class="x-label"[^>]*>([^<]*)</text>', chart)
        assert len(labels) == 6 and labels[-1] == this_month  # every other month, always the latest
    table = re.search(r'<table class="participation-months">.*?</table>', html, re.S).group(0)
    assert len(re.findall(r"<tr><th scope=\"row\">", table)) == 12


def test_line_chart_geometry():
    from coopol.core.charts import Series, line_chart, render_svg

    chart = line_chart(["a", "b", "c"], [Series("Votes", [0, 5, 3]), Series("Ideas", [1, 1, 0])], width=300,
                       height=100)
    assert chart.peak == 5 and [len(line.points) for line in chart.lines] == [3, 3]
    xs = [x for x, _y, _v, _l in chart.lines[0].points]
    assert xs[0] == chart.left and xs[-1] == chart.right and xs[1] == (chart.left + chart.right) / 2
    ys = [y for _x, y, _v, _l in chart.lines[0].points]
    assert ys[0] == chart.bottom and ys[1] == chart.top
    assert [text for _x, text in chart.labels] == ["a", "b", "c"]
    assert [text for _x, text in line_chart([str(i) for i in range(13)], [], max_labels=6).labels] == [
        "0", "3", "6", "9", "12"]
    single = line_chart(["only"], [Series("Votes", [7])])
    assert single.peak == 10 and single.lines[0].points[0][0] == (single.left + single.right) / 2
    svg = render_svg(line_chart(["<b>"], [Series("A & B", [1])]), "Title <i>")
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "A &amp; B" in svg and svg.count("<circle") == 1
    with pytest.raises(ValueError):
        line_chart(["a", "b"], [Series("Votes", [1])])


def test_the_followers_panel_lists_fediverse_followers_and_an_admin_approves_or_removes_them(app, client,
                                                                                            create_member):
    from coopol.federation.models import Follower, OutboxActivity

    create_member("boss", role="admin")
    with app.app_context(), unit_of_work():
        for n, state in ((1, "pending"), (2, "accepted")):
            db.session.add(Follower(group_actor=f"{app.config['URL']}/g/ideas", host="masto.example",
                                    actor_id=f"https://masto.example/users/u{n}", name=f"User {n}",
                                    inbox=f"https://masto.example/users/u{n}/inbox",
                                    shared_inbox="https://masto.example/inbox",
                                    follow_id=f"https://masto.example/f/{n}", state=state))
    login(client, "boss")
    panel = section(client.get("/admin").text, "followers")
    assert "User 1" in panel and "waiting for approval" in panel and "User 2" in panel
    assert client.post("/admin/followers/1/approve", data={"back": "dashboard"}).status_code == 302
    assert client.post("/admin/followers/2/revoke").status_code == 302
    assert client.post("/admin/followers/2/revoke").status_code == 302  # already removed: a message, no change
    with app.app_context():
        states = dict(db.session.execute(select(Follower.id, Follower.state)).all())
        answers = [(row.type, row.payload["object"]["id"]) for row in db.session.scalars(select(OutboxActivity))]
    assert states == {1: "accepted", 2: "revoked"}
    assert answers == [("Accept", "https://masto.example/f/1"), ("Reject", "https://masto.example/f/2")]
