"""Group pages: the directory by territory and theme, the group page with its registered sections,
the create and edit forms, join/leave buttons and member management."""

from __future__ import annotations

import re


def test_directory_groups_by_territory_and_theme_with_counts(client, member, create_group):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Paris centre", slug="paris", kind="territorial", scope="fr-paris")
    create_group(alice, name="Barcelona greens", slug="bcn", kind="territorial", scope="es-barcelona")
    create_group(alice, name="Cycling", slug="cycling")
    client.post("/api/v1/groups/paris/join", headers=bob)

    page = client.get("/groups").get_data(as_text=True)
    assert "3 groups" in page
    paris = page[page.index('data-testid="territory-fr-paris"'):]
    assert "Paris centre" in paris[:paris.index("</section>")] and "2 members" in paris[:paris.index("</section>")]
    assert 'data-testid="territory-es-barcelona"' in page
    theme = page[page.index('id="by-theme"'):]
    assert "Cycling" in theme and "(1)" in theme
    france = client.get("/groups?scope=fr").get_data(as_text=True)
    assert "Paris centre" in france and "Barcelona greens" not in france and "Cycling" in france
    assert "Unknown scope" in client.get("/groups?scope=atlantis").get_data(as_text=True)
    assert 'href="/groups"' in client.get("/").get_data(as_text=True)  # in the main navigation


def test_the_landing_page_counts_listed_groups(app, client, member, create_group):
    from coopol.core.landing import participation

    alice = member("alice")
    create_group(alice, name="Cycling", slug="cycling")
    create_group(alice, name="Walking", slug="walking")
    with app.test_request_context():
        counters = {c["key"]: c["value"] for c in participation()}
    assert counters["groups"] == 2


def test_create_form_makes_a_group_and_shows_errors_next_to_fields(client, member, auth, rows):
    member("alice")
    assert client.get("/groups/new").status_code == 302  # visitors are sent to log in
    auth.login("alice")
    bad = client.post("/groups/new", data={"name": "ab", "kind": "territorial", "scope": "", "joining": "open"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'id="name-error"' in html and 'id="scope-error"' in html
    assert rows() == {"groups": 0, "group_memberships": 0}

    done = client.post("/groups/new", data={"name": "Paris centre", "kind": "territorial", "scope": "fr-paris",
                                            "joining": "approval", "description": "*hello*"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/groups/paris-centre")
    page = client.get("/groups/paris-centre").get_data(as_text=True)
    assert "<em>hello</em>" in page and "1 member" in page and 'data-testid="edit-group"' in page
    assert "Île-de-France" in page and "@alice" in page


def test_a_logo_shows_when_it_is_an_https_address(client, member, create_group):
    alice = member("alice")
    create_group(alice, name="With logo", slug="with-logo", logo_url="https://example.org/logo.png")
    create_group(alice, name="Plain http", slug="plain-http", logo_url="http://example.org/logo.png")
    assert 'src="https://example.org/logo.png"' in client.get("/groups/with-logo").get_data(as_text=True)
    assert 'data-testid="group-logo"' not in client.get("/groups/plain-http").get_data(as_text=True)


def test_join_and_leave_buttons(client, member, create_group, auth, check_counts):
    alice = member("alice")
    member("bob")
    create_group(alice, name="Cycling", slug="cycling")
    assert 'data-testid="join"' not in client.get("/groups/cycling").get_data(as_text=True)
    auth.login("bob")
    assert 'data-testid="join"' in client.get("/groups/cycling").get_data(as_text=True)
    client.post("/groups/cycling/join")
    page = client.get("/groups/cycling").get_data(as_text=True)
    assert 'data-testid="leave"' in page and "2 members" in page
    client.post("/groups/cycling/leave")
    assert "1 member" in client.get("/groups/cycling").get_data(as_text=True)
    check_counts()


def test_the_last_organiser_leaving_gets_a_message_not_an_error(client, member, create_group, auth):
    alice = member("alice")
    create_group(alice, name="Cycling", slug="cycling")
    auth.login("alice")
    response = client.post("/groups/cycling/leave", follow_redirects=True)
    assert response.status_code == 200 and "last organiser" in response.get_data(as_text=True)


def test_join_needs_the_csrf_token(make_app, create_member):
    app = make_app("csrf", WTF_CSRF_ENABLED=True)
    for handle in ("alice", "bob"):
        create_member(handle, target_app=app)
    with app.app_context():
        from coopol.accounts.services import get_member_by_handle
        from coopol.core.uow import unit_of_work
        from coopol.groups.services import create_group

        with app.test_request_context(), unit_of_work():
            create_group(get_member_by_handle("alice"), name="Cycling", kind="thematic", slug="cycling")
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"login": "bob", "password": "a long and unusual pass phrase", "csrf_token": token})
    assert client.post("/groups/cycling/join").status_code == 400
    page = client.get("/groups/cycling").get_data(as_text=True)
    token = re.search(r'action="/groups/cycling/join">\s*<input type="hidden" name="csrf_token" value="([^"]+)"',
                      page).group(1)
    assert client.post("/groups/cycling/join", data={"csrf_token": token}).status_code == 302
    assert "2 members" in client.get("/groups/cycling").get_data(as_text=True)


def test_edit_form_for_organisers_only(client, member, create_group, auth):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Cycling", slug="cycling")
    client.post("/api/v1/groups/cycling/join", headers=bob)
    auth.login("bob")
    assert client.get("/groups/cycling/edit").status_code == 404
    assert client.post("/groups/cycling/edit", data={"name": "Mine now"}).status_code == 404
    auth.logout()
    auth.login("alice")
    form = client.get("/groups/cycling/edit").get_data(as_text=True)
    assert 'value="Cycling"' in form
    bad = client.post("/groups/cycling/edit", data={"name": "Cycling", "kind": "territorial", "scope": "",
                                                    "joining": "open"})
    assert bad.status_code == 422 and 'id="scope-error"' in bad.get_data(as_text=True)
    ok = client.post("/groups/cycling/edit", data={"name": "Cycling Paris", "kind": "territorial",
                                                   "scope": "fr-paris", "joining": "open", "description": ""})
    assert ok.status_code == 302
    assert client.get("/api/v1/groups/cycling").json["scope"] == "fr-paris"


def test_member_management_approve_name_and_remove(client, member, create_group, auth, check_counts):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    create_group(alice, name="Circle", slug="circle", joining="approval")
    client.post("/api/v1/groups/circle/join", headers=bob)
    client.post("/api/v1/groups/circle/join", headers=carol)

    auth.login("bob")
    assert client.get("/groups/circle/members").status_code == 404
    auth.logout()
    auth.login("alice")
    page = client.get("/groups/circle/members").get_data(as_text=True)
    assert 'data-testid="membership-bob"' in page and "request to join" in page
    client.post("/groups/circle/members", data={"handle": "bob", "action": "approve"})
    client.post("/groups/circle/members", data={"handle": "carol", "action": "approve"})
    client.post("/groups/circle/members", data={"handle": "bob", "action": "organiser"})
    refused = client.post("/groups/circle/members", data={"handle": "carol", "action": "remove", "reason": ""},
                          follow_redirects=True)
    assert "Say why" in refused.get_data(as_text=True)
    client.post("/groups/circle/members", data={"handle": "carol", "action": "remove", "reason": "Off topic"})
    unknown = client.post("/groups/circle/members", data={"handle": "nobody", "action": "approve"},
                          follow_redirects=True)
    assert "Choose a member" in unknown.get_data(as_text=True)
    members = client.get("/api/v1/groups/circle/members").json["items"]
    assert [(m["member"]["handle"], m["role"]) for m in members] == [("alice", "organiser"), ("bob", "organiser")]
    check_counts()


def test_registered_sections_and_counters_show_on_the_group(make_app, create_member, tmp_path):
    """A module (events, later) registers a section and the upcoming_event_count counter."""
    from coopol.groups.space import register_counter, register_section

    app = make_app("sections")
    template_dir = tmp_path / "section-templates"
    (template_dir / "demo").mkdir(parents=True)
    (template_dir / "demo" / "_section.html").write_text('<p data-testid="demo">{{ data.text }}</p>')
    from jinja2 import ChoiceLoader, FileSystemLoader

    app.jinja_loader = ChoiceLoader([app.jinja_loader, FileSystemLoader(str(template_dir))])
    app.jinja_env.loader = ChoiceLoader([app.jinja_env.loader, FileSystemLoader(str(template_dir))])
    # The events module registers the real ones: stand-ins replace them here.
    app.extensions["coopol.groups.sections"].pop("gatherings", None)
    app.extensions["coopol.groups.counters"].pop("upcoming_event_count", None)
    register_section(app, "gatherings", "Upcoming gatherings", "demo/_section.html",
                     lambda group, viewer: {"text": f"Meet {group.slug}"})
    register_section(app, "hidden", "Never shown", "demo/_section.html", lambda group, viewer: None)
    register_counter(app, "upcoming_event_count", lambda ids: {i: 7 for i in ids})
    create_member("alice", target_app=app)
    with app.test_request_context():
        from coopol.accounts.services import get_member_by_handle
        from coopol.core.uow import unit_of_work
        from coopol.groups.services import create_group

        with unit_of_work():
            create_group(get_member_by_handle("alice"), name="Cycling", kind="thematic", slug="cycling")
    client = app.test_client()
    page = client.get("/groups/cycling").get_data(as_text=True)
    assert "Upcoming gatherings" in page and "Meet cycling" in page and "Never shown" not in page
    assert client.get("/api/v1/groups/cycling").json["upcoming_event_count"] == 7
    assert client.get("/api/v1/groups").json["items"][0]["upcoming_event_count"] == 7
