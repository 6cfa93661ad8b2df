"""A Spanish and a German party, each in its own language from the first page: a visitor registers,
proposes an idea, comments against it and votes; a moderator hides the comment; the public log tells it.
Every label on the way (states, stances, votes, actions, target types) is in the party's language."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.conftest import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WORDS = {
    "es": {
        "register": "Registrarse", "handle": "Identificador", "email": "Correo electrónico", "password": "Contraseña",
        "welcome": "¡Te damos la bienvenida a Horizonte Común!", "propose": "Proponer una idea", "title": "Título",
        "description": "Descripción", "publish": "Publicar", "published_flash": "Tu idea se ha publicado.",
        "published": "publicada", "against": "en contra", "comment": "Tu comentario",
        "post_comment": "Publicar el comentario", "commented": "Tu comentario se ha publicado.",
        "support": "Apoyar", "counted": "Tu voto se ha contado: apoyo.", "my_vote": "Tu voto: apoyo",
        "login": "Identificador o dirección de correo electrónico", "log_in": "Iniciar sesión",
        "moderate": "Moderar", "action": "Acción", "hide": "Ocultar", "reason": "Motivo (público, obligatorio)",
        "apply": "Aplicar", "done": "Hecho: Ocultación (Comentario", "hidden_badge": "no visible",
        "hidden_comment": "Este comentario ha sido ocultado por la moderación.",
        "hidden_for_moderators": "Ocultado por la moderación: solo tú y la moderación lo veis.",
        "log_action": "Ocultación", "log_target": "Comentario:",
        "log_notice": "Este comentario está oculto a la espera de revisión.", "sort_new": "recientes",
    },
    "de": {
        "register": "Registrieren", "handle": "Benutzername", "email": "E-Mail-Adresse", "password": "Passwort",
        "welcome": "Willkommen bei Gemeinwohl-Liste!", "propose": "Idee vorschlagen", "title": "Titel",
        "description": "Beschreibung", "publish": "Veröffentlichen",
        "published_flash": "Deine Idee ist veröffentlicht.",
        "published": "veröffentlicht", "against": "dagegen", "comment": "Dein Kommentar",
        "post_comment": "Kommentar veröffentlichen", "commented": "Dein Kommentar ist veröffentlicht.",
        "support": "Unterstützen", "counted": "Deine Stimme wurde gezählt: Unterstützung.",
        "my_vote": "Deine Stimme: Unterstützung", "login": "Benutzername oder E-Mail-Adresse", "log_in": "Anmelden",
        "moderate": "Moderieren", "action": "Aktion", "hide": "Ausblenden",
        "reason": "Begründung (öffentlich, erforderlich)", "apply": "Anwenden",
        "done": "Erledigt: Ausgeblendet (Kommentar",
        "hidden_badge": "ausgeblendet", "hidden_comment": "Dieser Kommentar ist von der Moderation ausgeblendet.",
        "hidden_for_moderators": "Von der Moderation ausgeblendet: nur du und die Moderation sehen ihn.",
        "log_action": "Ausgeblendet", "log_target": "Kommentar:",
        "log_notice": "Dieser Kommentar ist bis zur Prüfung ausgeblendet.", "sort_new": "neueste",
    },
}
PARTIES = {"es": "Horizonte Común", "de": "Gemeinwohl-Liste"}
CONTENT = {"es": ("Trenes nocturnos a Lyon", "Tres veces por semana."),
           "de": ("Nachtzüge nach Lyon", "Dreimal pro Woche.")}
# The English words these pages used to show for stored values, and their buttons and headings.
# ("neutral", "Idea" and "Debate" are Spanish words too.)
ENGLISH = re.compile(r"\b(published|for|against|support|oppose|hide|hidden|Comment|hot|top|new|"
                     r"Your vote|Votes|Reply|Edit|Delete|Report|Moderate|Debate view|Log out)\b")


@pytest.fixture(params=["es", "de"])
def party(request, make_app) -> Iterator[tuple[str, LiveServer]]:
    import socket

    lang = request.param
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = make_app(f"party-{lang}", URL=f"http://127.0.0.1:{port}", WTF_CSRF_ENABLED=True, LANGUAGE=lang,
                   NAME=PARTIES[lang])
    from coopol.accounts.services import register_member
    from coopol.core.uow import unit_of_work

    with app.app_context(), unit_of_work():
        register_member("moderadora", "moderadora@example.org", TEST_PASSWORD, role="moderator", bypass_policy=True)
    server = LiveServer(app, port).start()
    yield lang, server
    server.stop()


def _no_english(page) -> None:
    text = page.locator("main").inner_text()
    leftovers = ENGLISH.findall(text)
    assert leftovers == [], f"{page.url}: English left: {leftovers}"


def test_register_propose_comment_vote_and_moderate_in_the_partys_language(browser, party):
    lang, server = party
    w = WORDS[lang]
    # The browser asks for nothing in particular: the party's language is the default.
    context = browser.new_context(base_url=server.url, extra_http_headers={"Accept-Language": ""})
    member = context.new_page()
    member.set_default_timeout(10_000)

    member.goto("/register")
    expect(member.locator("html")).to_have_attribute("lang", lang)
    member.get_by_label(w["handle"], exact=True).fill("lucia")
    member.get_by_label(w["email"], exact=True).fill("lucia@example.org")
    member.get_by_label(w["password"], exact=True).fill(TEST_PASSWORD)
    member.get_by_role("button", name=w["register"]).click()
    expect(member.get_by_text(w["welcome"])).to_be_visible()

    member.get_by_role("link", name=w["propose"]).first.click()
    member.get_by_label(w["title"], exact=True).fill(CONTENT[lang][0])
    member.get_by_label(w["description"], exact=True).fill(CONTENT[lang][1])
    member.get_by_role("button", name=w["publish"], exact=True).click()
    expect(member.get_by_text(w["published_flash"])).to_be_visible()
    expect(member.get_by_test_id("idea").locator(".badge.state-published")).to_have_text(w["published"])
    idea_url = member.url

    member.locator("#comment-form").get_by_label(w["against"], exact=True).check()
    member.get_by_label(w["comment"], exact=True).fill("Demasiado caro." if lang == "es" else "Zu teuer.")
    member.get_by_role("button", name=w["post_comment"]).click()
    expect(member.get_by_text(w["commented"])).to_be_visible()
    expect(member.get_by_test_id("stance").first).to_have_text(w["against"])

    member.locator("form.vote-form").get_by_role("button", name=w["support"], exact=True).click()
    expect(member.get_by_text(w["counted"])).to_be_visible()
    expect(member.get_by_test_id("my-vote")).to_have_text(w["my_vote"])
    _no_english(member)

    member.goto("/ideas")
    expect(member.locator("nav.sorts")).to_contain_text(w["sort_new"])
    _no_english(member)

    # A moderator hides the comment from its review page.
    moderator_context = browser.new_context(base_url=server.url, locale=lang)
    moderator = moderator_context.new_page()
    moderator.set_default_timeout(10_000)
    moderator.goto("/login")
    moderator.get_by_label(w["login"], exact=True).fill("moderadora")
    moderator.get_by_label(w["password"], exact=True).fill(TEST_PASSWORD)
    moderator.get_by_role("button", name=w["log_in"]).click()
    moderator.goto(idea_url)
    moderator.get_by_test_id("comment").first.get_by_role("link", name=w["moderate"]).click()
    form = moderator.locator("form.action-form")
    expect(form.get_by_label(w["action"], exact=True).locator("option[value=hide]")).to_have_text(w["hide"])
    form.get_by_label(w["action"], exact=True).select_option("hide")
    form.get_by_label(w["reason"]).fill("Tono insultante." if lang == "es" else "Beleidigender Ton.")
    form.get_by_role("button", name=w["apply"]).click()
    expect(moderator.get_by_text(w["done"])).to_be_visible()
    expect(moderator.locator("p.meta .badge").first).to_have_text(w["hidden_badge"])  # back on the review page

    moderator.goto(idea_url)
    expect(moderator.get_by_test_id("comment").first).to_contain_text(w["hidden_for_moderators"])
    _no_english(moderator)

    visitor = browser.new_context(base_url=server.url, locale=lang).new_page()
    visitor.goto(idea_url)
    expect(visitor.get_by_test_id("comment").first).to_contain_text(w["hidden_comment"])
    visitor.goto("/modlog")
    row = visitor.locator("table.modlog tbody tr").first
    expect(row).to_contain_text(w["log_action"])
    expect(row).to_contain_text(w["log_target"])
    expect(row).to_contain_text(w["log_notice"])
    _no_english(visitor)
    for page_context in (context, moderator_context, visitor.context):
        page_context.close()
