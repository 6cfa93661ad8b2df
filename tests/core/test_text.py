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
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n![alt](https://example.org/x.png)")

    for fragment in ("<h1>Title</h1>", "<strong>bold</strong>", "<em>italic</em>", "<s>gone</s>",
                     "<code>code</code>", "<li>one</li>", "<blockquote>", "<table>", "<td>1</td>",
                     'src="https://example.org/x.png"', 'alt="alt"'):
        assert fragment in rendered, fragment


def test_links_are_marked_as_user_generated_and_not_followed():
    rendered = render_markdown("[x](https://example.org)")

    assert 'href="https://example.org"' in rendered
    assert 'rel="nofollow noopener ugc"' in rendered


def test_empty_and_missing_text():
    assert render_markdown("") == ""
    assert render_markdown(None) == ""
