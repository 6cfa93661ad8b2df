def test_home_page_renders_with_security_headers(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers
    assert b"Coopol local" in response.data


def test_me_requires_authentication(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["code"] == 401


def test_me_with_token(client, create_member, token_for):
    create_member("alice")
    response = client.get("/api/v1/me", headers=token_for("alice"))
    assert response.status_code == 200, response.json
    assert response.json["handle"] == "alice"
    assert response.json["email"] == "alice@example.org"
