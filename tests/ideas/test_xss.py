"""A corpus of XSS payloads in titles, bodies and comments renders inert on pages and in body_html."""

import re
from html.parser import HTMLParser

import pytest

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)><script>alert(2)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](java\tscript:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![img](javascript:alert(1))",
    '![img](x" onerror="alert(1))',
    '[a](https://example.org "title\\" onmouseover=\\"alert(1)")',
    "<a href='javascript:alert(1)'>x</a>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<details open ontoggle=alert(1)>",
    "<math><mtext></p><script>alert(1)</script></mtext></math>",
    '"><script>alert(1)</script>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<<script>script>alert(1)<</script>/script>",
    "[x](vbscript:msgbox(1))",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<body onload=alert(1)>",
]

FORBIDDEN_TAGS = {"script", "svg", "iframe", "math", "style", "form", "details", "body", "animate", "object",
                  "embed", "base", "meta", "link"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}


class ElementAudit(HTMLParser):
    """Parses HTML like a browser would and records every dangerous element or attribute."""

    def __init__(self, allowed: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.allowed = allowed

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS - self.allowed:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if name in URL_ATTRIBUTES and value:
                scheme = re.sub(r"[\x00-\x20]", "", value).split(":", 1)[0].lower() if ":" in value else ""
                if scheme in {"javascript", "vbscript", "data"}:
                    self.problems.append(f"{tag} {name}={value!r}")


def assert_inert(html: str, where: str, allowed: frozenset[str] = frozenset()) -> None:
    audit = ElementAudit(allowed)
    audit.feed(html)
    audit.close()
    assert audit.problems == [], f"{where}: {audit.problems}"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payload_is_inert_everywhere(client, member, payload):
    alice = member("alice")
    r = client.post("/api/v1/ideas", json={"title": f"Idea {payload}"[:200], "body": f"Body\n\n{payload}\n",
                                           "tags": ["xss"]}, headers=alice)
    assert r.status_code == 201, r.json
    idea = r.json
    assert_inert(idea["body_html"], "idea body_html")
    r = client.post(f"/api/v1/ideas/{idea['id']}/comments", json={"body": payload, "stance": "for"}, headers=alice)
    assert r.status_code == 201
    assert_inert(r.json["body_html"], "comment body_html")
    for url in (f"/ideas/{idea['id']}", f"/ideas/{idea['id']}?view=sides", "/ideas", "/ideas?q=idea"):
        page = client.get(url).get_data(as_text=True)
        # Our own layout has these elements (forms, reply boxes, head); member content never adds any.
        assert_inert(page, url, allowed=frozenset({"form", "details", "meta", "link", "body"}))
        assert "<script>alert" not in page


def test_titles_are_escaped_not_rendered(client, member):
    alice = member("alice")
    idea_id = client.post("/api/v1/ideas", json={"title": "<b>bold</b> <script>x</script>", "body": "x"},
                          headers=alice).json["id"]
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "&lt;b&gt;bold&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>bold</b>" not in page


def test_pages_forbid_inline_script(client):
    csp = client.get("/ideas").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
