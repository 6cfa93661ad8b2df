"""Party names for hosts: a tally, a statistic or an author from an ally shows the party, not a host name.

Domain code must not import federation, which keeps what allies told us about themselves (the name of
their Group). So federation registers a lookup here when it registers, and pages and presenters ask
`party_names(hosts)`. A host nobody can name shows as itself; our own host is our party's `NAME`.
One batch per request: answers are remembered in `flask.g`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask, current_app, g, has_request_context

Lookup = Callable[[set[str]], dict[str, str]]


def register_party_names(app: Flask, lookup: Lookup) -> None:
    """`lookup(hosts) -> {host: name}` for the hosts it knows (others are simply absent)."""
    app.extensions.setdefault("coopol.party_names", []).append(lookup)


def party_names(hosts: Iterable[str | None]) -> dict[str, str]:
    local = current_app.config["SERVER_HOST"]
    memo: dict[str, str] = g.setdefault("_coopol_party_names", {}) if has_request_context() else {}
    wanted = {host or local for host in hosts}
    missing = {host for host in wanted if host not in memo and host != local}
    for lookup in current_app.extensions.get("coopol.party_names", ()):
        if not missing:
            break
        found = {host: name for host, name in lookup(missing).items() if name}
        memo.update(found)
        missing -= set(found)
    memo.update({host: host for host in missing})
    memo[local] = current_app.config["NAME"]
    return {host: memo[host] for host in wanted}


def party_name(host: str | None) -> str:
    return party_names([host])[host or current_app.config["SERVER_HOST"]]
