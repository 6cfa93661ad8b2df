"""Configuration layers: defaults < coopol.toml < COOPOL_* environment < test_config; and bad values."""

from __future__ import annotations

import stat

import pytest

from coopol import create_app
from coopol.config import DEFAULTS, ConfigError, check_base_url, load_config, write_instance_config


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("COOPOL_") or key == "DATABASE_URL":
            monkeypatch.delenv(key)
    return monkeypatch


def test_the_layers_override_in_order(tmp_path, clean_env):
    (tmp_path / "coopol.toml").write_text(
        'name = "From the file"\ndescription = "File description"\nurl = "https://file.example"\n'
        'password_min_length = 12\nregistration = "invite"\n')
    clean_env.setenv("COOPOL_DESCRIPTION", "From the environment")
    clean_env.setenv("COOPOL_PASSWORD_MIN_LENGTH", "14")
    clean_env.setenv("COOPOL_REGISTRATION", "closed")

    config = load_config(tmp_path, {"REGISTRATION": "open"})

    assert config["LANGUAGE"] == DEFAULTS["LANGUAGE"]  # default
    assert config["NAME"] == "From the file"  # file over default
    assert config["URL"] == "https://file.example"
    assert config["DESCRIPTION"] == "From the environment"  # environment over file
    assert config["PASSWORD_MIN_LENGTH"] == 14
    assert config["REGISTRATION"] == "open"  # test_config over everything


def test_environment_values_take_the_type_of_the_setting(tmp_path, clean_env):
    clean_env.setenv("COOPOL_NAME", "true")  # text, even if it looks like something else
    clean_env.setenv("COOPOL_DESCRIPTION", "2024")
    clean_env.setenv("COOPOL_RATELIMIT_ENABLED", "no")
    clean_env.setenv("COOPOL_MAX_CONTENT_LENGTH", "2048")
    clean_env.setenv("COOPOL_LANGUAGES", "en, fr")
    clean_env.setenv("COOPOL_SECRET_KEY", "12345")
    clean_env.setenv("COOPOL_SOMETHING_NEW", "[1, 2]")

    config = load_config(tmp_path)

    assert config["NAME"] == "true" and config["DESCRIPTION"] == "2024"
    assert config["RATELIMIT_ENABLED"] is False
    assert config["MAX_CONTENT_LENGTH"] == 2048
    assert config["LANGUAGES"] == ["en", "fr"]
    assert config["SECRET_KEY"] == "12345"
    assert config["SOMETHING_NEW"] == [1, 2]


def test_cli_only_variables_are_not_configuration(tmp_path, clean_env):
    clean_env.setenv("COOPOL_PASSWORD", "a secret for `users create`")
    clean_env.setenv("COOPOL_INSTANCE", str(tmp_path))

    config = load_config(tmp_path)

    assert "PASSWORD" not in config and "INSTANCE" not in config


def test_database_url_selects_the_database(tmp_path, clean_env):
    assert load_config(tmp_path)["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'coopol.sqlite'}"

    clean_env.setenv("DATABASE_URL", "postgresql+psycopg://party@db.internal:5432/coopol")
    assert load_config(tmp_path)["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://party@db.internal:5432/coopol"

    for given in ("postgres://party@db/coopol", "postgresql://party@db/coopol"):
        clean_env.setenv("DATABASE_URL", given)
        assert load_config(tmp_path)["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://party@db/coopol"


def test_the_session_cookie_is_secure_when_the_url_is_https(tmp_path, clean_env):
    assert load_config(tmp_path, {"URL": "http://127.0.0.1:5000"})["SESSION_COOKIE_SECURE"] is False
    secure = load_config(tmp_path, {"URL": "https://ideas.party.example/"})
    assert secure["SESSION_COOKIE_SECURE"] is True and secure["REMEMBER_COOKIE_SECURE"] is True
    assert secure["URL"] == "https://ideas.party.example"


def test_the_secret_key_is_created_once_owner_only(tmp_path, clean_env):
    first = load_config(tmp_path)["SECRET_KEY"]

    assert load_config(tmp_path)["SECRET_KEY"] == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    (tmp_path / "secret_key").write_text("")
    replaced = load_config(tmp_path)["SECRET_KEY"]
    assert replaced and replaced != first


def test_no_file_is_written_for_an_instance_that_does_not_exist(tmp_path, clean_env):
    missing = tmp_path / "not-yet"

    assert load_config(missing)["SECRET_KEY"]
    assert not missing.exists()


@pytest.mark.parametrize(("file", "env", "message"), [
    ('registration = "invite-only"\n', {}, "registration must be one of open, invite, closed"),
    ("", {"COOPOL_REGISTRATION": "Open"}, "registration must be one of"),
    ('name = "unclosed\n', {}, "is not valid TOML"),
    ("password_min_length = \"ten\"\n", {}, "password_min_length must be a whole number"),
    ("", {"COOPOL_PASSWORD_MIN_LENGTH": "ten"}, "COOPOL_PASSWORD_MIN_LENGTH must be a whole number"),
    ("", {"COOPOL_RATELIMIT_ENABLED": "maybe"}, "COOPOL_RATELIMIT_ENABLED must be true or false"),
    ('url = "ideas.party.example"\n', {}, "URL must be a base URL"),
    ('language = "xx"\n', {}, "language ('xx') must be one of the languages"),
    ("password_min_length = 4\n", {}, "at least 8"),
    ('fediverse_followers = "everyone"\n', {}, "fediverse_followers must be one of open, approval, off"),
    ("", {"COOPOL_FEDIVERSE_REPLIES": "shown"}, "fediverse_replies must be one of moderated, open, off"),
    ('federation_inbox = "sync"\n', {}, "federation_inbox must be one of queued, inline"),
    ("federation_retry_scale = 0\n", {}, "federation_retry_scale must be a number above 0 and at most 100"),
    ("", {"COOPOL_FEDERATION_RETRY_SCALE": "fast"}, "federation_retry_scale must be a number above 0"),
])
def test_bad_settings_stop_the_app_with_a_clear_message(tmp_path, clean_env, file, env, message):
    (tmp_path / "coopol.toml").write_text(file)
    for key, value in env.items():
        clean_env.setenv(key, value)

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        create_app({"INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize(("url", "expected"), [
    ("https://ideas.party.example/", "https://ideas.party.example"),
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("  https://ideas.party.example  ", "https://ideas.party.example"),
])
def test_base_urls(url, expected):
    assert check_base_url(url) == expected


def test_writing_the_instance_config_adds_only_missing_keys(tmp_path):
    write_instance_config(tmp_path, {"name": "First", "scopes": [{"code": "fr", "name": "France"}]})
    (tmp_path / "coopol.toml").write_text((tmp_path / "coopol.toml").read_text() + "# kept comment\n")

    write_instance_config(tmp_path, {"name": "Second", "url": "http://127.0.0.1:5000"})

    import tomllib

    content = (tmp_path / "coopol.toml").read_text()
    assert "# kept comment" in content
    assert tomllib.loads(content) == {"name": "First", "scopes": [{"code": "fr", "name": "France"}],
                                      "url": "http://127.0.0.1:5000"}


def test_the_app_reads_the_instance_folder_from_the_environment(tmp_path, clean_env):
    (tmp_path / "coopol.toml").write_text('name = "Env instance"\n')
    clean_env.setenv("COOPOL_INSTANCE", str(tmp_path))

    app = create_app()

    assert app.config["NAME"] == "Env instance"
    assert app.instance_path == str(tmp_path)
    assert app.config["SERVER_HOST"] == "127.0.0.1:5000"
