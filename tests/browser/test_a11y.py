"""axe-core (from npm, never a CDN) on the main pages in every language the interface ships, signed out and
signed in, on a phone and a wide screen: no violation. `.ci/run` installs axe-core into
tests/browser/node_modules (git-ignored); the `axe_script` fixture does it too when it is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.site import log_in, seed

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
AXE_PACKAGE = "axe-core@~4.14"
TRANSLATIONS = Path(__file__).parents[2] / "coopol" / "translations"
# English is the source; every language with a compiled catalog is shipped.
LANGUAGES = ["en"] + sorted(p.parents[1].name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.mo"))


def install_axe() -> Path:
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core (apt-get install -y npm), or run .ci/run")
        subprocess.run([npm, "install", "--prefix", str(HERE), "--no-save", "--no-package-lock", "--no-audit",
                        "--no-fund", AXE_PACKAGE], check=True, capture_output=True, timeout=300)
    return AXE


@pytest.fixture(scope="session")
def axe_script() -> Path:
    return install_axe()


@pytest.fixture
def site(live_app, live_server):
    return seed(live_app)


def _pages(site) -> list[str]:
    return ["/", "/ideas", f"/ideas/{site.idea_id}", f"/ideas/{site.ally_idea_id}", "/login", "/register",
            "/stats", "/modlog"]


def _violations(page, axe_script: Path) -> list[str]:
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + json.dumps([n["target"] for n in v["nodes"][:4]]) for v in result["violations"]]


@pytest.mark.parametrize("language", LANGUAGES)
def test_main_pages_have_no_accessibility_violation(browser, live_server, site, axe_script, language):
    problems = []
    # A member's pages (vote and comment forms) on a phone; a visitor's on both screens.
    for role, width in (("visitor", 360), ("visitor", 1280), ("member", 360)):
        # bypass_csp: our CSP (rightly) refuses the injected axe script.
        context = browser.new_context(base_url=live_server.url, locale=language, bypass_csp=True,
                                      viewport={"width": width, "height": 800})
        page = context.new_page()
        page.set_default_timeout(10_000)
        if role != "visitor":
            # The login form's labels are in the page's language: sign in in English, then switch.
            context.add_cookies([{"name": "lang", "value": "en", "url": live_server.url}])
            log_in(page, role)
            page.goto("/settings")
            page.locator("#lang").select_option(language)
            page.locator("footer form button").click()
        for path in _pages(site):
            page.goto(path)
            assert page.evaluate("() => document.documentElement.lang") == language, path
            problems += [f"{language} {role} {width}px {path}: {v}" for v in _violations(page, axe_script)]
        context.close()
    assert not problems, "\n".join(problems)
