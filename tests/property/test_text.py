"""Markdown sanitising (coopol/core/text.py): whatever a member writes, nothing in the output can run."""

import re
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from coopol.core.text import render_markdown, sanitize_html

# Pieces of Markdown and HTML that attacks are made of, shuffled together with plain text.
PIECES = st.sampled_from([
    "<script>", "</script>", "<img src=x onerror=alert(1)>", "<svg/onload=alert(1)>", "javascript:", "JaVaScRiPt:",
    "java\tscript:", "&#106;", "&#x6A;", "&colon;", "vbscript:", "data:text/html,", "[", "]", "(", ")", "![", "<",
    ">", "\"", "'", "`", "```\n", "\n", "\n\n", "    ", "* ", "> ", "| a |\n|---|\n", "[ref]: ", "onclick=",
    " onmouseover=\"x\"", "<a href=\"", "http://", "https://tracker.example/p.png", "mailto:", "&", "\\", "#", "**",
])
MARKDOWN = st.one_of(st.text(max_size=300), st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=40).map("".join))


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


def elements(html: str):
    parser = Elements()
    parser.feed(html)
    parser.close()
    return parser.found


@given(MARKDOWN)
def test_no_script_no_event_handler_no_javascript_url(source):
    rendered = render_markdown(source)

    assert "<script" not in rendered.lower()
    for tag, attrs in elements(rendered):
        assert tag not in {"script", "style", "iframe", "object", "embed", "svg", "math", "form", "base", "meta"}
        for name, value in attrs:
            assert not name.lower().startswith("on"), (tag, name)
            if name in {"href", "src"}:
                scheme = re.sub(r"[\x00-\x20]", "", value or "").split(":", 1)
                assert len(scheme) == 1 or scheme[0].lower() in {"http", "https", "mailto"} or "/" in scheme[0], value


@given(MARKDOWN)
def test_sanitising_the_output_again_changes_nothing(source):
    rendered = render_markdown(source)
    assert sanitize_html(rendered) == rendered


@given(MARKDOWN)
def test_remote_images_never_render_as_images_outside_an_instance(source):
    for tag, attrs in elements(render_markdown(source)):
        if tag == "img":
            src = dict(attrs).get("src") or ""
            assert "//" not in src and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src), src


@given(st.text(max_size=200))
def test_plain_text_keeps_its_words(source):
    words = re.findall(r"[A-Za-z]{4,}", source)
    rendered = render_markdown(source)
    for word in words:
        assert word in rendered
