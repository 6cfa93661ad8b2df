"""Markdown to safe HTML: markdown-it-py renders (raw HTML disabled), nh3 (Ammonia) sanitises.

An image from another server is a tracking pixel: every reader's browser would tell that server its
address. With `remote_images = "link"` (the default) such an image renders as a link to it; images
on this instance (relative or on its own host) and on its allies' hosts stay images. `"allow"` keeps
every image. The allies' hosts come from providers that other packages register
(`register_image_hosts`: federation does), so this module imports nothing of theirs.
Mentions (`@handle`, `@handle@host`) outside links and code become links to the member's page.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from urllib.parse import urlsplit

import nh3
from flask import Flask, current_app, has_app_context
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

ALLOWED_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li",
    "a", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "img",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}}


# `@alice`, `@alice@ally.example`, `@alice@127.0.0.1:5002`; not the middle of an address (bob@example.org).
MENTION_RE = re.compile(r"(?<![\w@/.])@([a-z0-9_]{1,30})"
                        r"(?:@((?:[a-z0-9-]+(?:\.[a-z0-9-]+)+|localhost)(?::\d{1,5})?))?(?![\w@])", re.IGNORECASE)
_IMAGE_HOSTS = "coopol.image_hosts"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def register_image_hosts(app: Flask, provider: Callable[[], Iterable[str]]) -> None:
    """Add a source of hosts (``host`` or ``host:port``, lower case) whose images stay images."""
    app.extensions.setdefault(_IMAGE_HOSTS, []).append(provider)


def _host(url: str) -> str | None:
    """``host[:port]`` of an absolute URL (default port dropped); "" for a relative one; None if unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.netloc and not parts.scheme:
        return ""
    hostname = (parts.hostname or "").rstrip(".").lower()
    if not hostname:
        return None
    if ":" in hostname:
        hostname = f"[{hostname}]"
    return hostname if port is None or port == _DEFAULT_PORTS.get(parts.scheme) else f"{hostname}:{port}"


def _image_policy() -> Callable[[str], bool]:
    """Which image sources may render as images while this text renders."""
    if not has_app_context():
        return lambda src: _host(src) == ""
    if current_app.config.get("REMOTE_IMAGES", "link") == "allow":
        return lambda src: True
    hosts: set[str] | None = None

    def allowed(src: str) -> bool:
        nonlocal hosts
        host = _host(src)
        if host == "":
            return True
        if host is None:
            return False
        if hosts is None:  # asked once per text, only when it has a remote image
            hosts = {str(current_app.config.get("SERVER_HOST", "")).lower()}
            for provider in current_app.extensions.get(_IMAGE_HOSTS, []):
                hosts.update(h.lower() for h in provider())
        return host in hosts

    return allowed


def _image(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    if env["image_allowed"](src):
        token.attrSet("alt", self.renderInlineAsText(token.children or [], options, env))
        return self.renderToken(tokens, idx, options, env)
    label = self.renderInlineAsText(token.children or [], options, env) or src
    return f'<a href="{escapeHtml(src)}">{escapeHtml(label)}</a>'


def _mention_href(match: re.Match) -> str:
    handle, host = match.group(1).lower(), (match.group(2) or "").lower()
    own = str(current_app.config.get("SERVER_HOST", "")).lower() if has_app_context() else ""
    base = str(current_app.config.get("URL", "")).rstrip("/") if has_app_context() else ""
    # Absolute: the HTML also travels to other servers (Mastodon shows the content as it is).
    return f"{base}/members/{handle}" if not host or host == own else f"{base}/members/{handle}@{host}"


def _mentions(state) -> None:
    """Core rule: split text tokens (never inside a link; code is not text) around mentions."""
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children, in_link = [], 0
        for token in block.children:
            in_link += (token.type == "link_open") - (token.type == "link_close")
            if token.type != "text" or in_link or "@" not in token.content:
                children.append(token)
                continue
            position = 0
            for match in MENTION_RE.finditer(token.content):
                if match.start() > position:
                    children.append(_text_token(token.content[position:match.start()]))
                opening = Token("link_open", "a", 1)
                opening.attrSet("href", _mention_href(match))
                children += [opening, _text_token(match.group(0)), Token("link_close", "a", -1)]
                position = match.end()
            if position < len(token.content):
                children.append(_text_token(token.content[position:]))
        block.children = children


def _text_token(content: str) -> Token:
    token = Token("text", "", 0)
    token.content = content
    return token


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
        "table").enable("strikethrough")
    md.add_render_rule("image", _image)
    md.core.ruler.push("mentions", _mentions)
    return md


def sanitize_html(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener ugc",
    )


def render_markdown(text: str) -> str:
    """Render member-written Markdown to HTML that is safe to embed in our pages (remote images as
    links unless `remote_images = "allow"`)."""
    return sanitize_html(_markdown().render(text or "", {"image_allowed": _image_policy()}))
