"""The API's validation messages (marshmallow's own and ours in core/schemas.py) speak the reader's
language: Accept-Language for a visitor or a token without a saved language, the member's saved one."""

import pytest

from coopol.core.uow import unit_of_work

MIN_LIMIT = "Must be greater than or equal to 1 and less than or equal to 100."


def _errors(response, status):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    return body["errors"]


@pytest.fixture
def alice(create_member, token_for):
    create_member("alice")
    return token_for("alice")


@pytest.fixture
def marta(create_member, token_for):
    create_member("marta", role="moderator")
    return token_for("marta")


def test_without_a_language_the_messages_are_english(client, alice):
    errors = _errors(client.post("/api/v1/ideas", json={"body": 5, "bogus": 1}, headers=alice), 422)
    assert errors == {"title": ["Missing data for required field."], "body": ["Not a valid string."],
                      "bogus": ["Unknown field."]}
    assert _errors(client.get("/api/v1/ideas?limit=0"), 422) == {"limit": [MIN_LIMIT]}
    assert _errors(client.get("/api/v1/ideas?limit=x"), 422) == {"limit": ["Not a valid integer."]}


def test_marshmallow_messages_in_french(client, alice):
    fr = {**alice, "Accept-Language": "fr"}
    errors = _errors(client.post("/api/v1/ideas", json={"body": 5, "bogus": 1, "publish": "maybe"}, headers=fr),
                     422)
    assert errors == {"title": ["Champ obligatoire manquant."], "body": ["Texte non valide."],
                      "bogus": ["Champ inconnu."], "publish": ["Booléen non valide."]}
    assert _errors(client.get("/api/v1/ideas?limit=0", headers={"Accept-Language": "fr"}), 422) == {
        "limit": ["Doit être supérieur ou égal à 1 et inférieur ou égal à 100."]}
    assert _errors(client.get("/api/v1/ideas?limit=x", headers={"Accept-Language": "fr"}), 422) == {
        "limit": ["Nombre entier non valide."]}


def test_marshmallow_and_core_messages_in_german(client, marta):
    de = {**marta, "Accept-Language": "de"}
    errors = _errors(client.post("/api/v1/moderation/actions", json={
        "action": "explode", "target_type": "idea", "target_id": 1, "reason": "x", "until": "tomorrow"}, headers=de),
        422)
    assert errors["until"] == ["Gib ein Datum wie 2030-01-31 oder 2030-01-31T18:00:00Z an."]
    assert errors["action"][0].startswith("Muss einer der folgenden Werte sein: ")
    assert "explode" not in errors["action"][0] and "hide" in errors["action"][0]
    errors = _errors(client.post("/api/v1/moderation/actions", json={
        "action": "hide", "target_type": "idea", "target_id": 1, "reason": "x", "until": "9999-01-01"}, headers=de),
        422)
    assert errors["until"] == ["Wähle ein Datum zwischen 1900-01-01 und 9000-01-01."]
    errors = _errors(client.post("/api/v1/ideas", json={"title": "a\u0000b", "body": "ok"}, headers=de), 422)
    assert errors == {"title": ["Dieser Text enthält nicht erlaubte Zeichen (NUL oder ungültiges Unicode)."]}
    response = client.post("/api/v1/ideas", data="{", content_type="application/json", headers=de)
    assert _errors(response, 400) == {"_schema": ["Ungültiger JSON-Inhalt."]}
    assert response.get_json()["message"] == "Ungültiger JSON-Inhalt."


def test_a_members_saved_language_wins(app, client, alice):
    from coopol.accounts.services import get_member_by_handle

    with app.app_context(), unit_of_work():
        get_member_by_handle("alice").locale = "es"
    es = {**alice, "Accept-Language": "fr"}
    errors = _errors(client.post("/api/v1/ideas", json={"title": 7, "body": "ok", "tags": [1]}, headers=es), 422)
    assert errors == {"title": ["No es un texto válido."], "tags": ["0: No es un texto válido."]}
    response = client.post("/api/v1/ideas", data="[", content_type="application/json", headers=es)
    assert _errors(response, 400) == {"_schema": ["Cuerpo JSON no válido."]}


def test_italian_range_and_unknown(client):
    it = {"Accept-Language": "it"}
    assert _errors(client.get("/api/v1/ideas?limit=500", headers=it), 422) == {
        "limit": ["Deve essere maggiore o uguale a 1 e minore o uguale a 100."]}


def test_a_schemas_messages_are_lists_of_text_in_the_request_language(app):
    from marshmallow import ValidationError

    from coopol.ideas.schemas import IdeaCreateSchema

    with app.test_request_context(headers={"Accept-Language": "it"}):
        with pytest.raises(ValidationError) as raised:
            IdeaCreateSchema().load({"body": "ok", "tags": [3]})
    assert raised.value.messages == {"title": ["Manca questo campo obbligatorio."],
                                     "tags": {0: ["Non è un testo valido."]}}
    assert all(type(m) is str for m in raised.value.messages["title"])
