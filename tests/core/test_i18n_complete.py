"""Every shipped language is complete: the catalogs hold every msgid of the code (extracted afresh), none
empty or fuzzy, placeholders intact and the compiled `.mo` up to date; every page, as a visitor, a member,
a moderator and an admin, asks only for msgids its catalog translates and declares the language it is in;
every stored value shown to people has a word in its label table."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

import coopol
from coopol.core.labels import label_choices
from coopol.core.uow import unit_of_work
from tests.conftest import TEST_PASSWORD

PACKAGE = Path(coopol.__file__).parent
TRANSLATIONS = PACKAGE / "translations"
CATALOGS = ("fr", "es", "de", "it")
LANGUAGES = ("en", *CATALOGS)  # English is the msgid language: no catalog
NAMES = {"en": "English", "fr": "Français", "es": "Español", "de": "Deutsch", "it": "Italiano"}


# --- the catalogs ---------------------------------------------------------------------------------------

def _extracted() -> set[str]:
    """The msgids of the code now, as `pybabel extract -F babel.cfg -k _l` finds them."""
    with (PACKAGE.parent / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(PACKAGE), method_map, options_map, keywords=keywords):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


def _po(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def _key(message_id) -> str:
    return message_id[0] if isinstance(message_id, tuple | list) else message_id


def test_the_committed_template_is_extracted_from_the_code_as_it_is(extracted):
    with (TRANSLATIONS / "messages.pot").open("rb") as fh:
        template = {_key(m.id) for m in read_po(fh) if m.id}

    assert sorted(extracted - template) == [], "run the pybabel commands of README's Translations section"
    assert sorted(template - extracted) == []


@pytest.mark.parametrize("lang", CATALOGS)
def test_each_catalog_translates_every_msgid_of_the_code(lang, extracted):
    catalog = _po(lang)
    entries = {_key(m.id): m for m in catalog if m.id}

    missing = sorted(extracted - set(entries))
    empty = sorted(k for k, m in entries.items() if not (all(m.string) if m.pluralizable else m.string))
    fuzzy = sorted(k for k, m in entries.items() if m.fuzzy)
    broken = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]  # %(name)s kept
    wrong_plurals = sorted(k for k, m in entries.items() if m.pluralizable and len(m.string) != catalog.num_plurals)
    assert (missing, empty, fuzzy, broken, wrong_plurals) == ([], [], [], [], [])
    assert f"nplurals={catalog.num_plurals};" in catalog.plural_forms


@pytest.mark.parametrize("lang", CATALOGS)
def test_each_compiled_catalog_is_up_to_date(lang):
    fresh = io.BytesIO()
    write_mo(fresh, _po(lang))
    fresh.seek(0)

    def messages(fh) -> dict:
        return {_hashable(m.id): _hashable(m.string) for m in read_mo(fh) if m.id}

    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.mo").open("rb") as fh:
        assert messages(fh) == messages(fresh), f"{lang}: run `pybabel compile -d coopol/translations`"


def _hashable(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def test_every_stored_value_shown_to_people_has_a_word(app):
    from coopol.accounts.models import Role, Status
    from coopol.federation.models import BACKFILL
    from coopol.ideas.models import COMMENT_VOTE_VALUES, IDEA_VOTE_VALUES, STANCES, WITHDRAW_REASONS, IdeaState
    from coopol.ideas.queries import SORTS
    from coopol.moderation.models import ActionKind, AppealStatus, ReportReason, ReportStatus, TargetType
    from coopol.moderation.services import APPLIES_TO

    expected = {
        "idea_state": set(IdeaState), "stance": set(STANCES), "sort": set(SORTS), "idea_vote": set(IDEA_VOTE_VALUES),
        "comment_vote": set(COMMENT_VOTE_VALUES), "withdraw_reason": set(WITHDRAW_REASONS),
        "role": set(Role), "member_status": set(Status), "report_reason": set(ReportReason),
        "report_status": set(ReportStatus), "target_type": set(TargetType), "appeal_status": set(AppealStatus),
        "action": set(ActionKind) | {f"appeal_{s}" for s in AppealStatus if s != AppealStatus.PENDING},
        "action_choice": set(APPLIES_TO), "backfill_state": set(BACKFILL.states),
        "ally_status": {"allied", "requested", "pending", "rejected", "revoked", "none"},
        "removed_notice": {TargetType.IDEA, TargetType.COMMENT}, "hidden_notice": {TargetType.IDEA, TargetType.COMMENT},
        "your_target": set(TargetType), "your_target_capital": set(TargetType), "reason_word": set(ReportReason),
        "decision_on_yours": set(ActionKind) - {ActionKind.DISMISS},
    }
    for kind, values in expected.items():
        assert {str(v) for v in values} <= set(label_choices(kind)), kind


# --- the pages ------------------------------------------------------------------------------------------

@pytest.fixture
def misses(monkeypatch):
    """Every msgid asked of a loaded catalog that it does not translate."""
    found: set[str] = set()
    original_gettext, original_ngettext = Translations.gettext, Translations.ngettext

    def gettext(self, message):
        if message and message not in self._catalog:
            found.add(message)
        return original_gettext(self, message)

    def ngettext(self, singular, plural, n):
        if (singular, 0) not in self._catalog:
            found.add(singular)
        return original_ngettext(self, singular, plural, n)

    for name, fn in (("gettext", gettext), ("ugettext", gettext), ("ngettext", ngettext), ("ungettext", ngettext)):
        monkeypatch.setattr(Translations, name, fn)
    return found


def _seed(app, create_member) -> dict:
    """An idea with a vote, an official answer and a debate, a withdrawn idea, a draft, a hidden comment with
    an appeal, an open report, a suspended member, an ally asking to ally and a backfill job."""
    from coopol.accounts.services import get_member_by_handle
    from coopol.admin import PANELS
    from coopol.extensions import db
    from coopol.federation.models import Ally, Backfill
    from coopol.ideas import comments, services, votes
    from coopol.moderation import services as moderation

    for handle, role in (("ana", "member"), ("luis", "member"), ("eva", "member"), ("marta", "moderator"),
                         ("pablo", "moderator"), ("admina", "admin")):
        create_member(handle, role=role)
    with app.app_context(), unit_of_work():
        ana, luis, eva = (get_member_by_handle(h) for h in ("ana", "luis", "eva"))
        marta = get_member_by_handle("marta")
        idea = services.create_idea(ana, title="Night trains", body="**Night** trains to Lyon.", publish=True)
        withdrawn = services.create_idea(ana, title="Old idea", body="Done elsewhere.", publish=True)
        services.create_idea(ana, title="A draft", body="Not yet.", publish=False)
        votes.cast_vote(luis, idea, "support")
        against = comments.post_comment(luis, idea, body="Too expensive.", stance="against")
        comments.post_comment(ana, idea, body="It pays back.", stance="for", parent_id=against.id)
        db.session.flush()
        services.withdraw_idea(ana, withdrawn, reason="duplicate", explanation="")
        moderation.file_report(eva, "idea", idea.id, "off_topic", "Not our topic.")
        moderation.file_report(eva, "comment", against.id, "offensive")
        hide = moderation.take_action(marta, "hide", "comment", against.id, "Insulting tone.")
        moderation.take_action(marta, "answer", "idea", idea.id, "Congress topic.", state="evaluating",
                               answer="We will study it.")
        moderation.take_action(marta, "suspend", "member", eva.id, "Spam wave.", until="2099-01-01")
        db.session.flush()
        moderation.appeal_action(luis, hide.id, "It was a fair point.")
        db.session.add(Ally(host="ally.example", base_url="https://ally.example", group_id="https://ally.example/g",
                            group_inbox="https://ally.example/g/inbox", name="Ally", outgoing="none",
                            incoming="pending", consecutive_failures=0, last_error=""))
        db.session.add(Backfill(host="ally.example", state="running", total=10, seen=3))
        from coopol.groups import memberships
        from coopol.groups import services as groups

        group = groups.create_group(ana, name="Lyon rail users", description="We *ride*.", kind="thematic",
                                    joining="approval")
        memberships.join_group(luis, group)
        from coopol.events import rsvps
        from coopol.events import services as events

        gathering = events.create_event(ana, title="Rail assembly", description="Bring *ideas*.",
                                        starts_at="2099-03-01T18:00", ends_at="2099-03-01T20:00",
                                        timezone="Europe/Paris", place={"name": "Gare"}, capacity=1,
                                        group=group.slug)
        rsvps.rsvp(gathering, luis)
        db.session.flush()
        from coopol.bridging.services import fit_bridging

        app.config["BRIDGING_MIN_VOTES"] = 1  # the idea page's "across parties" section, ranked and not
        fit_bridging()
        entry = db.session.execute(db.text("SELECT max(id) FROM modlog_entries")).scalar()
        return {"idea_id": [idea.id, withdrawn.id], "comment_id": [against.id], "handle": ["ana", "eva"],
                "action_id": [hide.id], "entry_id": [entry], "target": [("idea", idea.id), ("comment", against.id),
                                                                       ("member", eva.id)],
                "activity_uuid": [uuid.uuid4()], "filename": ["coopol.css"],
                "key": sorted(app.extensions[PANELS]), "host": ["ally.example"], "slug": [group.slug],
                "event_id": [gathering.id], "token": ["not-a-token"]}


def _urls(app, values: dict) -> list[str]:
    urls = ["/no/such/page"]
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        arguments = set(rule.arguments)
        choices: list[dict] = [{}]
        if {"target_type", "target_id"} <= arguments:
            choices = [{"target_type": t, "target_id": i} for t, i in values["target"]]
            arguments -= {"target_type", "target_id"}
        for name in sorted(arguments):
            assert name in values, f"{rule.rule}: give test_i18n_complete a seeded value for <{name}>"
            choices = [{**c, name: v} for c in choices for v in values[name]]
        with app.test_request_context():
            from flask import url_for

            urls += [url_for(rule.endpoint, **c) for c in choices]
    return sorted(set(urls))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_is_in_the_language_it_declares(lang, app, create_member, misses):
    values = _seed(app, create_member)
    urls = _urls(app, values)
    problems = []
    for who in (None, "ana", "marta", "admina"):
        browser = app.test_client()
        if who:
            assert browser.post("/login", data={"login": who, "password": TEST_PASSWORD}).status_code == 302
        misses.clear()
        for url in urls:
            response = browser.get(url, headers={"Accept-Language": lang})
            if response.status_code >= 500:
                problems.append(f"{who or 'visitor'} {url}: {response.status_code}")
            if response.mimetype == "text/html" and not 300 <= response.status_code < 400:  # pages, error pages
                page = response.get_data(as_text=True)
                declared = re.search(r'<html lang="([^"]+)"', page)
                if declared is None or declared.group(1) != lang:
                    problems.append(f"{who or 'visitor'} {url}: <html lang> is {declared and declared.group(1)}")
            if misses and lang != "en":  # English is the msgids: its (empty) catalog misses them all
                problems.append(f"{who or 'visitor'} {url}: untranslated {sorted(misses)}")
                misses.clear()
    assert problems == [], "\n".join(problems)
    assert len(urls) > 40  # the enumeration found the app's pages


def test_the_switch_offers_each_language_by_its_own_name(client):
    page = client.get("/login").get_data(as_text=True)
    switch = page[page.index('<select id="lang"'):]
    switch = switch[:switch.index("</select>")]

    for code in LANGUAGES:
        assert f'<option value="{code}"' in switch and NAMES[code] in switch


@pytest.mark.parametrize("lang", CATALOGS)
def test_an_instance_speaks_its_own_language_and_falls_back_to_it(lang, make_app, create_member):
    app = make_app(f"party-{lang}", LANGUAGE=lang)
    heading = {"fr": "Se connecter", "es": "Iniciar sesión", "de": "Anmelden", "it": "Accedi"}[lang]
    visitor = app.test_client()

    for headers in ({}, {"Accept-Language": "ja, zh;q=0.5"}, {"Accept-Language": "*"}):
        page = visitor.get("/login", headers=headers).get_data(as_text=True)
        assert f'<html lang="{lang}">' in page and f"<h1>{heading}</h1>" in page
    visitor.set_cookie("lang", "xx")
    assert f'<html lang="{lang}">' in visitor.get("/login").get_data(as_text=True)

    from coopol.extensions import db
    with app.app_context(), unit_of_work():
        from coopol.accounts.services import register_member

        register_member("zoe", "zoe@example.org", TEST_PASSWORD).locale = "xx"  # an old, removed language
        db.session.flush()
    member = app.test_client()
    member.post("/login", data={"login": "zoe", "password": TEST_PASSWORD})
    response = member.get("/settings")
    assert response.status_code == 200 and f'<html lang="{lang}">' in response.get_data(as_text=True)


def test_init_with_a_language_serves_it_to_a_visitor(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from coopol import create_app
    from coopol.cli import cli

    monkeypatch.delenv("DATABASE_URL", raising=False)
    for key in [k for k in __import__("os").environ if k.startswith("COOPOL_")]:
        monkeypatch.delenv(key)
    folder = tmp_path / "partido"
    result = CliRunner().invoke(cli, ["--instance", str(folder), "init", "--name", "Horizonte Común",
                                      "--url", "http://127.0.0.1:5998", "--language", "es"])
    assert result.exit_code == 0, result.output
    monkeypatch.setenv("COOPOL_INSTANCE", str(folder))
    app = create_app()

    page = app.test_client().get("/login").get_data(as_text=True)
    assert '<html lang="es">' in page and "<h1>Iniciar sesión</h1>" in page
    with app.app_context():
        from coopol.extensions import db

        db.session.remove()
        db.engine.dispose()


def test_notifications_are_written_in_their_readers_language(app, create_member):
    from coopol.accounts.services import get_member_by_handle
    from coopol.extensions import db
    from coopol.ideas import services
    from coopol.moderation import services as moderation
    from coopol.notifications.models import Notification

    create_member("ana")
    create_member("marta", role="moderator")
    for handle in ("luis", "eva", "rosa"):
        create_member(handle)
    with app.app_context(), unit_of_work():
        ana = get_member_by_handle("ana")
        ana.locale = "de"
        get_member_by_handle("luis").locale = "es"
        idea = services.create_idea(ana, title="Nachtzüge", body="Nach Lyon.", publish=True)
        db.session.flush()
        for handle in ("luis", "eva", "rosa"):  # the third report hides it
            moderation.file_report(get_member_by_handle(handle), "idea", idea.id, "off_topic")
        moderation.take_action(get_member_by_handle("marta"), "remove", "idea", idea.id, "Kein Parteithema.")

    with app.app_context():
        from coopol.accounts.models import Member

        rows = db.session.execute(db.select(Member.handle, Notification.kind, Notification.message)
                                  .join(Member, Member.id == Notification.member_id))
        notes = {(handle, kind): message for handle, kind, message in rows}
        from coopol.moderation.models import ModerationAction

        hidden = db.session.scalar(db.select(ModerationAction.reason).where(ModerationAction.moderator_id.is_(None)))
    assert notes["ana", "content_hidden"].startswith("Deine Idee „Nachtzüge“ ist ausgeblendet")
    assert "mehrere Mitglieder haben es gemeldet (themenfremd (3))" in notes["ana", "content_hidden"]
    assert notes["ana", "moderation_remove"] == ("Die Moderation hat deine Idee „Nachtzüge“ entfernt. Grund: "
                                                 "Kein Parteithema. Du kannst gegen diese Entscheidung Einspruch "
                                                 "erheben.")
    assert notes["luis", "report_outcome"] == ("Gracias por tu denuncia sobre Nachtzüge. Decisión de la moderación: "
                                               "Retirada. Motivo: Kein Parteithema.")
    assert notes["eva", "report_outcome"].startswith("Thank you for your report about Nachtzüge.")
    # The public log's automatic reason is in the instance's language (English here), whoever reported.
    assert hidden == "Hidden automatically after 3 reports (off-topic (3)), pending review by a moderator."


def test_an_impossible_state_change_is_told_with_the_states_words(client, create_member, token_for):
    create_member("ana")
    headers = {**token_for("ana"), "Accept-Language": "es"}
    idea = client.post("/api/v1/ideas", json={"title": "Night trains", "body": "To Lyon."}, headers=headers).json

    again = client.post(f"/api/v1/ideas/{idea['id']}/publish", headers=headers)
    assert again.status_code == 409
    assert again.json["message"] == "No es posible pasar de «publicada» a «publicada»."
    assert again.json["errors"] == {"state": ["No es posible desde «publicada»."]}
