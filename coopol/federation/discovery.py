"""WebFinger and NodeInfo 2.1: what other servers ask first. Serving both, and a WebFinger client."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import current_app
from sqlalchemy import func, select

from coopol import __version__
from coopol.accounts.models import Member
from coopol.core.errors import NotFound, ValidationFailed
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.actors import GROUP_NAME, base_url, group_id, member_actor_id, server_host
from coopol.federation.fetch import FetchError
from coopol.federation.protocol import ACTIVITY_JSON, media_type
from coopol.federation.transport import TransportError, signed_request
from coopol.federation.urls import UnsafeURL, normalise_host

NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1"
JRD_JSON = "application/jrd+json"
XRD_XML = "application/xrd+xml"



def count_local_posts() -> int:
    """Ideas written here that anyone may read (published or later, neither hidden nor removed)."""
    from coopol.ideas.models import Idea, IdeaState

    return db.session.scalar(select(func.count(Idea.id)).where(
        Idea.origin_host.is_(None), Idea.state != IdeaState.DRAFT, Idea.hidden_at.is_(None),
        Idea.removed_at.is_(None))) or 0


def count_local_comments() -> int:
    """Comments written here (on our ideas or on allies'), neither deleted, hidden nor removed."""
    from coopol.ideas.models import Comment

    return db.session.scalar(select(func.count(Comment.id)).where(
        Comment.origin_host.is_(None), Comment.deleted_at.is_(None), Comment.hidden_at.is_(None),
        Comment.removed_at.is_(None))) or 0


# Other content counts register here too (NodeInfo's `usage`, beside `users`).
USAGE_COUNTERS: dict[str, Callable[[], int]] = {"localPosts": count_local_posts,
                                                 "localComments": count_local_comments}


def _local_member(handle: str) -> Member | None:
    return db.session.scalar(select(Member).where(Member.handle == handle.lower(), Member.host.is_(None),
                                                  Member.erased_at.is_(None)))


# Other accounts of ours (the local groups): given an `acct:` user name or an actor URL, each answers
# (actor id, profile page, user name) or None. Consulted after the party Group and the members.
WEBFINGER_RESOLVERS: list[Callable[[str | None, str | None], tuple[str, str, str] | None]] = []


def _extra_account(username: str | None, url: str | None) -> tuple[str, str, str] | None:
    for resolve in WEBFINGER_RESOLVERS:
        found = resolve(username, url)
        if found is not None:
            return found
    return None


def webfinger(resource: str) -> dict[str, Any]:
    """The JRD for `acct:ideas@host`, `acct:<handle>@host`, one of our actor URLs, or another account a
    resolver knows (a local group)."""
    resource = (resource or "").strip()
    if not resource:
        raise ValidationFailed.field("resource", "Give a resource, e.g. acct:ideas@" + server_host())
    username: str | None = None
    extra: tuple[str, str, str] | None = None
    if resource.startswith("acct:"):
        user, _, host = resource[5:].partition("@")
        try:
            same_host = normalise_host(host) == server_host()
        except UnsafeURL:
            same_host = False
        if not user or not same_host:
            raise NotFound(f"{resource} is not an account of {server_host()}.")
        username = user
    elif resource == group_id():
        username = GROUP_NAME
    elif resource.startswith(f"{base_url()}/u/"):
        username = resource[len(f"{base_url()}/u/"):]
    else:
        extra = _extra_account(None, resource)
        if extra is None:
            raise NotFound(f"{resource} is not an account of {server_host()}.")
    if extra is not None:
        actor, profile, username = extra
    elif username == GROUP_NAME:
        actor, profile = group_id(), f"{base_url()}/"
    else:
        member = _local_member(username)
        if member is not None:
            actor, profile = member_actor_id(member.handle), f"{base_url()}/members/{member.handle}"
            username = member.handle
        else:
            extra = _extra_account(username, None)
            if extra is None:
                raise NotFound(f"{resource} is not an account of {server_host()}.")
            actor, profile, username = extra
    return {
        "subject": f"acct:{username}@{server_host()}",
        "aliases": [actor, profile],
        "links": [
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
        ],
    }


def _lrdd_template() -> str:
    return f"{base_url()}/.well-known/webfinger?resource={{uri}}"


def host_meta_xml() -> str:
    """RFC 6415 host-meta: where WebFinger lives (older clients, Friendica and some Mastodon tools ask)."""
    template = escape(_lrdd_template(), {'"': "&quot;"})
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
            f'  <Link rel="lrdd" type="application/xrd+xml" template="{template}"/>\n'
            '</XRD>\n')


def host_meta_json() -> dict[str, Any]:
    return {"links": [{"rel": "lrdd", "type": JRD_JSON, "template": _lrdd_template()}]}


def nodeinfo_links() -> dict[str, Any]:
    return {"links": [{"rel": NODEINFO_SCHEMA, "href": f"{base_url()}/nodeinfo/2.1"}]}


def nodeinfo() -> dict[str, Any]:
    local = (Member.host.is_(None), Member.erased_at.is_(None))
    now = utcnow()

    def members(*where) -> int:
        return db.session.scalar(select(func.count(Member.id)).where(*local, *where)) or 0

    usage: dict[str, Any] = {"users": {
        "total": members(),
        "activeMonth": members(Member.last_login_at >= now - timedelta(days=30)),
        "activeHalfyear": members(Member.last_login_at >= now - timedelta(days=182)),
    }}
    for name, counter in USAGE_COUNTERS.items():
        usage[name] = counter()
    return {
        "version": "2.1",
        "software": {"name": "coopol", "version": __version__,
                     "repository": "https://github.com/coopol/coopol", "homepage": "https://github.com/coopol/coopol"},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": current_app.config.get("REGISTRATION") == "open",
        "usage": usage,
        "metadata": {"nodeName": current_app.config["NAME"],
                     "nodeDescription": current_app.config.get("DESCRIPTION", "")},
    }


def webfinger_group_url(base: str, host: str) -> str:
    """Ask `base`'s WebFinger for `acct:ideas@host`; the Group's actor URL (must be on that host)."""
    from coopol.federation.actors import instance_signer
    from coopol.federation.urls import host_of

    url = f"{base}/.well-known/webfinger?resource={quote(f'acct:{GROUP_NAME}@{host}', safe='')}"
    key_id, private_pem = instance_signer()
    try:
        result = signed_request("GET", url, key_id=key_id, private_key_pem=private_pem,
                                headers={"Accept": f"{JRD_JSON}, application/json"})
    except TransportError as error:
        raise FetchError(str(error)) from error
    if result.status != 200:
        raise FetchError(f"WebFinger at {base} answered {result.status}")
    if media_type(result.header("content-type")) not in (JRD_JSON, "application/json"):
        raise FetchError(f"WebFinger at {base} did not answer JSON")
    try:
        document = json.loads(result.body)
        links = document["links"]
        href = next(link["href"] for link in links
                    if link.get("rel") == "self" and media_type(link.get("type")) in (ACTIVITY_JSON,
                                                                                      "application/ld+json"))
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration) as error:  # links: [1] has no .get
        raise FetchError(f"WebFinger at {base} has no ActivityPub link for acct:{GROUP_NAME}@{host}") from error
    if not isinstance(href, str) or host_of(href) != host:
        raise FetchError(f"WebFinger at {base} points to another host: {href!r}")
    return href
