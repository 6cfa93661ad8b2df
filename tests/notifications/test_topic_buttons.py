"""Follow buttons (with their follower counts) where the pages show a tag's ideas and a territory's ideas
and gatherings."""

from __future__ import annotations


def test_tag_and_territory_pages_have_a_follow_button_with_the_count(client, auth, people):
    assert 'data-testid="topic-follow"' not in client.get("/ideas?tag=trains").get_data(as_text=True)  # visitor
    client.put("/api/v1/tags/trains/follow", headers=people["bea"])
    auth.login("ana")
    page = client.get("/ideas?tag=Trains").get_data(as_text=True)
    assert 'data-testid="topic-follow"' in page and 'data-testid="follow"' in page and "1 follower" in page
    response = client.post("/follow", data={"kind": "tag", "target": "Trains", "next": "/ideas?tag=Trains"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/ideas?tag=Trains")
    page = client.get("/ideas?tag=Trains").get_data(as_text=True)
    assert 'data-testid="unfollow"' in page and "2 followers" in page
    assert client.get("/api/v1/me/following", headers=people["ana"]).json["tags"] == ["trains"]

    for path in ("/ideas?scope=fr", "/events?scope=fr"):
        page = client.get(path).get_data(as_text=True)
        assert 'data-testid="topic-follow"' in page and 'data-testid="follow"' in page, path
    client.post("/follow", data={"kind": "scope", "target": "fr"})
    assert 'data-testid="unfollow"' in client.get("/events?scope=fr").get_data(as_text=True)
    assert client.get("/api/v1/me/following", headers=people["ana"]).json["scopes"] == ["fr"]

    # a tag that cannot be followed, an unknown scope: the list shows, without a button, never a 500
    for path in ("/ideas?tag=no%20such!", "/ideas?scope=atlantis", "/events?scope=atlantis"):
        response = client.get(path)
        assert response.status_code == 200 and 'data-testid="topic-follow"' not in response.get_data(as_text=True), path
