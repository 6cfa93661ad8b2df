"""The party's colour and logo from coopol.toml: readable links and buttons whatever the colour, a clear
one-line error for a bad colour or a missing logo."""

from __future__ import annotations

import pytest

from coopol.cli import cli
from coopol.config import ConfigError
from coopol.core.theme import DARK_BG, LIGHT_BG, contrast, parse_color, theme_css
from tests.test_cli import coopol


def _declared(css: str, name: str, dark: bool = False) -> str:
    part = css.split("@media")[1 if dark else 0]
    return part.split(f"{name}: ")[1].split(";")[0]


@pytest.mark.parametrize("color", ["#0a7", "#ffff00", "#b3123c", "#000000", "#ffffff", "#1e90ff"])
def test_the_accent_reads_on_both_schemes_whatever_the_colour(color):
    css = theme_css(color)
    assert _declared(css, "--brand") == (color if len(color) == 7 else "#00aa77")
    assert contrast(parse_color(_declared(css, "--accent")), LIGHT_BG) >= 4.5
    assert contrast(parse_color(_declared(css, "--accent", dark=True)), DARK_BG) >= 4.5


def test_the_party_colour_is_served_as_a_stylesheet(make_app):
    app = make_app("green", COLOR="#0a7")
    response = app.test_client().get("/theme.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    assert "--brand: #00aa77;" in response.get_data(as_text=True)
    assert 'href="/theme.css"' in app.test_client().get("/login").get_data(as_text=True)
    # Without a logo of its own, the party gets Coopol's mark in its colour (also the favicon).
    assert b'fill="#00aa77"' in app.test_client().get("/logo").data
    assert b'fill="#00aa77"' in app.test_client().get("/favicon.ico").data


@pytest.mark.parametrize("color", ["green", "#12345", "#ggg", "0a7", "#0a7;}body{display:none"])
def test_an_invalid_colour_stops_the_app(make_app, color):
    with pytest.raises(ConfigError, match="The setting color must be a colour like"):
        make_app("bad", COLOR=color)


def test_a_missing_logo_stops_the_app(make_app):
    with pytest.raises(ConfigError, match="The setting logo names a file that does not exist"):
        make_app("nologo", LOGO="party.svg")
    with pytest.raises(ConfigError, match="must be an image file"):
        make_app("notimage", LOGO="coopol.toml")


def test_the_logo_is_served_and_shown(make_app, tmp_path):
    folder = tmp_path / "logo"
    folder.mkdir()
    (folder / "party.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>')
    app = make_app("logo", LOGO="party.svg")  # relative to the instance folder (tmp_path / "logo")
    client = app.test_client()
    logo = client.get("/logo")
    assert logo.status_code == 200 and logo.mimetype == "image/svg+xml" and b"<circle" in logo.data
    assert logo.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert '<img src="/logo"' in client.get("/").get_data(as_text=True)


def test_init_and_run_print_a_bad_colour_in_one_line(runner, monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("COOPOL_COLOR", "reddish")
    result = runner.invoke(cli, ["--instance", str(tmp_path / "party"), "init", "--name", "P",
                                 "--url", "http://127.0.0.1:5999"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: Configuration: The setting color must be a colour like")

    (tmp_path / "party2").mkdir()
    (tmp_path / "party2" / "coopol.toml").write_text('name = "P"\nlogo = "missing.png"\n')
    ran = coopol("--instance", str(tmp_path / "party2"), "run", "--port", "1")  # a real process
    assert ran.returncode == 1
    assert ran.stderr.count("\n") == 1
    assert ran.stderr.startswith("Error: Configuration: The setting logo names a file that does not exist")
