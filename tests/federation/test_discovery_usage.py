"""NodeInfo counts what was written here (ideas as `localPosts`, comments as `localComments`), and
host-meta (XRD, and its JSON form) points to WebFinger, as older fediverse clients look for it."""

from __future__ import annotations

from xml.etree import ElementTree


def test_nodeinfo_counts_local_ideas_and_comments(app, client, create_member):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.comments import delete_comment, post_comment
    from coopol.ideas.services import create_idea

    create_member("alice")
    with app.test_request_context(), unit_of_work():
        alice = get_member_by_handle("alice")
        first = create_idea(alice, title="Night buses", body="Free at night.")
        create_idea(alice, title="A draft only", body="Not yet.", publish=False)
        create_idea(alice, title="A copy of an ally's", body="Theirs.", ap_id="https://ally.example/ideas/1",
                    origin_host="ally.example", url="https://ally.example/ideas/1")
        post_comment(alice, first, body="Yes.")
        gone = post_comment(alice, first, body="Second thoughts.")
        delete_comment(alice, gone)
    usage = client.get("/nodeinfo/2.1").json["usage"]
    assert usage["localPosts"] == 1
    assert usage["localComments"] == 1
    assert usage["users"]["total"] == 1


def test_host_meta_points_to_webfinger(client):
    response = client.get("/.well-known/host-meta")
    assert response.status_code == 200 and response.mimetype == "application/xrd+xml"
    xrd = ElementTree.fromstring(response.data)
    (link,) = xrd.findall("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
    assert link.get("rel") == "lrdd"
    assert link.get("template") == "http://local.coopol.test/.well-known/webfinger?resource={uri}"
    as_json = client.get("/.well-known/host-meta.json")
    assert as_json.status_code == 200
    assert as_json.json["links"] == [{"rel": "lrdd", "type": "application/jrd+json",
                                      "template": "http://local.coopol.test/.well-known/webfinger?resource={uri}"}]
