"""Member-written Markdown renders to inert HTML: an XSS corpus goes through and nothing can run."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from coopol.core.text import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, render_markdown, sanitize_html

SAFE_SCHEMES = {"", "http", "https", "mailto"}

XSS_MARKDOWN = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    "![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "<javascript:alert(1)>",
    "[a](http://example.org \"x\\\" onmouseover=\\\"alert(1)\")",
    "[a](http://example.org 'onmouseover=alert(1)')",
    "[ref]\n\n[ref]: javascript:alert(1)",
    "`<script>alert(1)</script>`",
    "```\n<script>alert(1)</script>\n```",
    "<style>body{display:none}</style>",
    "<div style=\"background:url(javascript:alert(1))\">x</div>",
    "<form action=\"https://evil.example\"><button>go</button></form>",
    "<object data=\"x.swf\"></object><embed src=\"x.swf\">",
    "<base href=\"https://evil.example/\">",
    "<meta http-equiv=\"refresh\" content=\"0;url=https://evil.example\">",
    "<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
    "\"><script>alert(1)</script>",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | [x](javascript:alert(1)) |",
    "**bold <img src=x onerror=alert(1)>**",
    "<<script>script>alert(1)<</script>/script>",
    "<a href=\"https://ok.example\" onclick=\"alert(1)\" target=\"_blank\">x</a>",
    "<details open ontoggle=alert(1)>",
    "<!-- --><script>alert(1)</script><!-- -->",
]


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    handle_startendtag = handle_starttag


def assert_inert(rendered: str) -> None:
    collector = Collector()
    collector.feed(rendered)
    for tag, attrs in collector.elements:
        assert tag in ALLOWED_TAGS, f"<{tag}> survived in {rendered!r}"
        for name, value in attrs:
            allowed = ALLOWED_ATTRIBUTES.get(tag, set()) | ({"rel"} if tag == "a" else set())
            assert name in allowed, f"{name}= on <{tag}> survived in {rendered!r}"
            if name in ("href", "src"):
                cleaned = "".join(ch for ch in html.unescape(value or "") if ch > " ").lower()
                assert urlsplit(cleaned).scheme in SAFE_SCHEMES, f"{value!r} survived in {rendered!r}"


@pytest.mark.parametrize("source", XSS_MARKDOWN)
def test_the_xss_corpus_renders_inert(source):
    assert_inert(render_markdown(source))


@pytest.mark.parametrize("source", XSS_MARKDOWN)
def test_the_sanitiser_alone_makes_raw_html_inert(source):
    assert_inert(sanitize_html(source))


def test_raw_html_shows_as_text():
    rendered = render_markdown("<script>alert(1)</script>")

    assert "<script>" not in rendered
    assert "&lt;script&gt;" in rendered


def test_ordinary_markdown_survives():
    rendered = render_markdown(
        "# Title\n\nSome **bold**, *italic*, ~~gone~~ and `code`.\n\n"
        "- one\n- two\n\n> quoted\n\n[a link](https://example.org \"title\")\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n![alt](/static/x.png)")

    for fragment in ("<h1>Title</h1>", "<strong>bold</strong>", "<em>italic</em>", "<s>gone</s>",
                     "<code>code</code>", "<li>one</li>", "<blockquote>", "<table>", "<td>1</td>",
                     'src="/static/x.png"', 'alt="alt"'):
        assert fragment in rendered, fragment


def test_links_are_marked_as_user_generated_and_not_followed():
    rendered = render_markdown("[x](https://example.org)")

    assert 'href="https://example.org"' in rendered
    assert 'rel="nofollow noopener ugc"' in rendered


def test_empty_and_missing_text():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""


# Remote images are tracking pixels: links by default, images only from here and from allies.

def _ally(app, host: str, *, accepted: bool = True) -> None:
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.models import Ally

    state = "accepted" if accepted else "pending"
    with app.app_context(), unit_of_work():
        db.session.add(Ally(host=host, base_url=f"https://{host}", group_id=f"https://{host}/g/ideas",
                            group_inbox=f"https://{host}/g/ideas/inbox", name="ally", outgoing=state,
                            incoming="accepted", consecutive_failures=0, last_error=""))


def test_a_remote_image_renders_as_a_link_to_it(app):
    with app.app_context():
        rendered = render_markdown("See ![a *pixel*](https://tracker.example/p.png?who=1 \"t\")")

    assert "<img" not in rendered
    assert '<a href="https://tracker.example/p.png?who=1" rel="nofollow noopener ugc">a pixel</a>' in rendered


@pytest.mark.parametrize("source", ["//tracker.example/p.png", "HTTPS://Tracker.Example./p.png",
                                    "https://local.coopol.test.evil.example/p.png", "http:p.png"])
def test_every_spelling_of_a_remote_host_is_a_link(app, source):
    with app.app_context():
        rendered = render_markdown(f"![x]({source})")

    assert "<img" not in rendered


def test_an_image_without_alt_text_links_with_its_address(app):
    with app.app_context():
        assert ">https://tracker.example/p.png</a>" in render_markdown("![](https://tracker.example/p.png)")


def test_images_from_this_instance_and_its_allies_stay_images(app):
    _ally(app, "ally.example")
    _ally(app, "asking.example", accepted=False)
    with app.app_context():
        rendered = render_markdown("![own](http://local.coopol.test/static/logo.png) ![rel](/static/x.png) "
                                   "![ally](https://Ally.Example/media/x.png) "
                                   "![pending](https://asking.example/x.png)")

    assert '<img src="http://local.coopol.test/static/logo.png" alt="own">' in rendered
    assert '<img src="/static/x.png" alt="rel">' in rendered
    assert '<img src="https://Ally.Example/media/x.png" alt="ally">' in rendered
    assert '<a href="https://asking.example/x.png" rel="nofollow noopener ugc">pending</a>' in rendered


def test_remote_images_allow_keeps_every_image(make_app):
    app = make_app("open", REMOTE_IMAGES="allow")
    with app.app_context():
        assert '<img src="https://tracker.example/p.png" alt="x">' in render_markdown(
            "![x](https://tracker.example/p.png)")


def test_an_idea_with_a_remote_image_stores_a_link(client, create_member, token_for):
    create_member("author")
    headers = token_for("author")
    response = client.post("/api/v1/ideas", headers=headers, json={
        "title": "Cheaper trains", "body": "![chart](https://tracker.example/chart.png)", "language": "en"})

    assert response.status_code == 201, response.json
    assert "<img" not in response.json["body_html"]
    assert 'href="https://tracker.example/chart.png"' in response.json["body_html"]


@pytest.mark.parametrize("value", ["embed", "Link", ""])
def test_an_unknown_remote_images_setting_stops_the_start_with_one_line(make_app, value):
    from coopol.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        make_app("bad", REMOTE_IMAGES=value)

    assert str(raised.value) == f"The setting remote_images must be one of link, allow, not '{value}'."
