"""English and French (every other language: test_i18n_complete.py): the locale follows the member, then
the language switch, then the browser; the compiled French catalog is complete and not stale."""

from __future__ import annotations

import configparser
import fnmatch
import html
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import coopol
from tests.conftest import TEST_PASSWORD

TRANSLATIONS = Path(coopol.__file__).parent / "translations"
FRENCH_PO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.po"
FRENCH_MO = TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo"


def test_english_by_default(client):
    page = client.get("/login").get_data(as_text=True)

    assert '<html lang="en">' in page
    assert "<h1>Log in</h1>" in page


@pytest.mark.parametrize("header", ["fr", "fr-FR,fr;q=0.9,en;q=0.5", "pt;q=0.9,fr;q=0.8"])
def test_french_from_accept_language(client, header):
    page = client.get("/login", headers={"Accept-Language": header}).get_data(as_text=True)

    assert '<html lang="fr">' in page
    assert "<h1>Se connecter</h1>" in page
    assert "Identifiant ou adresse e-mail" in page


def test_french_from_the_language_switch(client):
    client.post("/language", data={"lang": "fr", "next": "/login"})

    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Se connecter</h1>" in page

    client.post("/language", data={"lang": "en", "next": "/login"})
    assert "<h1>Log in</h1>" in client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)


def test_error_messages_are_translated_on_the_api_and_pages(client):
    api = client.post("/api/v1/tokens", json={"login": "nobody", "password": "whatever it is"},
                      headers={"Accept-Language": "fr"})
    page = client.get("/no/such/page", headers={"Accept-Language": "fr"})

    assert api.json["message"] == "Identifiant ou mot de passe incorrect."
    assert "Rien n'existe à cette adresse." in html.unescape(page.get_data(as_text=True))


def test_a_members_language_follows_them_and_the_switch_updates_it(app, create_member, token_for):
    create_member("alice")
    laptop, phone = app.test_client(), app.test_client()
    for browser in (laptop, phone):
        browser.post("/login", data={"login": "alice", "password": TEST_PASSWORD})

    laptop.post("/language", data={"lang": "fr", "next": "/settings"})

    # The other device (no cookie, an English browser) follows the member's saved choice.
    page = phone.get("/settings", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Réglages</h1>" in page
    assert phone.get("/api/v1/me").json["locale"] == "fr"


def test_the_french_catalog_is_complete_and_consistent():
    with FRENCH_PO.open("rb") as fh:
        catalog = read_po(fh, locale="fr")

    untranslated = [m.id for m in catalog if m.id and not (all(m.string) if m.pluralizable else m.string)]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    broken = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert untranslated == []
    assert fuzzy == []
    assert broken == []  # placeholders such as %(name)s match


def test_the_compiled_catalog_is_not_stale(tmp_path):
    with FRENCH_PO.open("rb") as fh:
        source = read_po(fh, locale="fr")
    fresh = tmp_path / "messages.mo"
    with fresh.open("wb") as fh:
        write_mo(fh, source)

    def messages(path: Path) -> dict:
        with path.open("rb") as fh:
            return {_hashable(m.id): _hashable(m.string) for m in read_mo(fh) if m.id}

    assert messages(FRENCH_MO) == messages(fresh), (
        "coopol/translations/fr/LC_MESSAGES/messages.mo is stale: run `pybabel compile -d coopol/translations`")


def test_the_package_ships_the_compiled_translations():
    config = configparser.ConfigParser()
    config.read(Path(coopol.__file__).parent.parent / "setup.cfg")
    patterns = config["options.package_data"]["coopol"].split()

    relative = FRENCH_MO.relative_to(TRANSLATIONS.parent).as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)


def _hashable(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_template_translations_remembered_per_request_follow_a_forced_locale(app):
    from flask import render_template_string
    from flask_babel import force_locale

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert render_template_string("{{ _('Log in') }}") == "Log in"
        with force_locale("fr"):
            assert render_template_string("{{ _('Log in') }} {{ _('Log in') }}") == "Se connecter Se connecter"
        assert render_template_string("{{ _('Log in') }}") == "Log in"
