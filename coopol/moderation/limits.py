"""Rate limits against sock puppets: per member and per IP, stricter for new accounts.

One policy table maps the endpoints that create things (registration, ideas, comments, votes, reports)
to a category; a `before_request` hook counts each such request against the member's limit and the IP's
limit, and answers 429 with a clear message once either is spent. The member's own limit is reported
in the `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` headers.

Limits on what members create count what was created: a request takes its place in the counters
before it runs (so parallel requests cannot overshoot) and gives it back when it failed or was sent
back (status 400 or more, or a rolled-back unit of work: a form re-shown for a too-short title).
Sign-in attempts (appeals carrying a password) count whatever their outcome.

Every limit is an instance setting (`RATELIMIT_POST = "10/hour"`, `RATELIMIT_POST_NEW_ACCOUNT`,
`RATELIMIT_POST_PER_IP`, ...; accounts younger than `NEW_ACCOUNT_AGE_HOURS` get the `_NEW_ACCOUNT`
ones). Counters live in `RATELIMIT_STORAGE_URI` (`memory://` for one process, `redis://...` when
several processes serve; see `coopol.config`), keyed by instance (and `RATELIMIT_KEY_PREFIX`) so
instances may share one Redis.
"""

from __future__ import annotations

import math
import time
from datetime import timedelta

from flask import Flask, Response, current_app, g, request
from flask_login import current_user
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from coopol.core.errors import RateLimited
from coopol.core.time import utcnow
from coopol.extensions import request_created

DEFAULTS = {
    "NEW_ACCOUNT_AGE_HOURS": 24,
    "RATELIMIT_REGISTER": "10/hour",  # per IP: there is no member yet
    "RATELIMIT_LOGIN": "20/minute",  # per IP, for appeals that carry a password
    "RATELIMIT_POST": "10/hour",
    "RATELIMIT_POST_NEW_ACCOUNT": "3/hour",
    "RATELIMIT_POST_PER_IP": "30/hour",
    "RATELIMIT_COMMENT": "60/hour",
    "RATELIMIT_COMMENT_NEW_ACCOUNT": "10/hour",
    "RATELIMIT_COMMENT_PER_IP": "200/hour",
    "RATELIMIT_VOTE": "200/hour",
    "RATELIMIT_VOTE_NEW_ACCOUNT": "30/hour",
    "RATELIMIT_VOTE_PER_IP": "600/hour",
    "RATELIMIT_REPORT": "20/hour",
    "RATELIMIT_REPORT_NEW_ACCOUNT": "5/hour",
    "RATELIMIT_REPORT_PER_IP": "60/hour",
}
# Categories counted per IP only (anonymous requests).
IP_ONLY = {"register": "RATELIMIT_REGISTER", "login": "RATELIMIT_LOGIN"}
# Categories that count every attempt (guessing passwords), not only what was created.
COUNT_ATTEMPTS = frozenset({"login"})
NOUNS = {"register": "registrations", "login": "sign-in attempts", "post": "new ideas",
         "comment": "comments", "vote": "votes", "report": "reports"}

WRITE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
POST = frozenset({"POST"})
# endpoint -> (category, methods). Endpoints an instance does not have are simply never matched.
POLICY: dict[str, tuple[str, frozenset[str]]] = {
    "accounts.register": ("register", POST),
    "accounts_api.register": ("register", POST),
    "ideas.new": ("post", POST),
    "ideas_api.create_idea": ("post", POST),
    "ideas.post_comment": ("comment", POST),
    "ideas_api.post_comment": ("comment", POST),
    "ideas.vote": ("vote", POST),
    "ideas.vote_comment": ("vote", POST),
    "ideas_api.vote": ("vote", WRITE),
    "ideas_api.withdraw_vote": ("vote", WRITE),
    "ideas_api.vote_comment": ("vote", WRITE),
    "ideas_api.withdraw_comment_vote": ("vote", WRITE),
    "moderation.report": ("report", POST),
    "moderation_api.create_report": ("report", POST),
    "moderation.restricted_appeal": ("login", POST),
    "moderation_api.appeal": ("login", POST),
}

_EXTENSION = "coopol.ratelimits"


def init_limits(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions[_EXTENSION] = {"limiter": None}
    app.before_request(check_rate_limits)
    app.after_request(add_rate_limit_headers)


def _limiter() -> FixedWindowRateLimiter:
    state = current_app.extensions[_EXTENSION]
    if state["limiter"] is None:
        storage = storage_from_string(current_app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
        state["limiter"] = FixedWindowRateLimiter(storage)
    return state["limiter"]


def is_new_account(member) -> bool:
    age = timedelta(hours=float(current_app.config["NEW_ACCOUNT_AGE_HOURS"]))
    return member.created_at > utcnow() - age


def limits_for(category: str, member) -> list[tuple[str, RateLimitItem, str]]:
    """(who, limit, key) pairs to count; the first is the one reported in the headers."""
    config = current_app.config
    prefix = f"coopol|{config.get('RATELIMIT_KEY_PREFIX') or ''}|{config.get('SERVER_NAME_KEY', '')}|{category}"
    ip_key = f"{prefix}|ip:{request.remote_addr or 'unknown'}"
    if category in IP_ONLY:
        return [("ip", parse(config[IP_ONLY[category]]), ip_key)]
    setting = f"RATELIMIT_{category.upper()}"
    checks = []
    if member is not None:
        member_setting = f"{setting}_NEW_ACCOUNT" if is_new_account(member) else setting
        checks.append(("member", parse(config[member_setting]), f"{prefix}|member:{member.id}"))
    checks.append(("ip", parse(config[f"{setting}_PER_IP"]), ip_key))
    return checks


def check_rate_limits() -> None:
    policy = POLICY.get(request.endpoint or "")
    if policy is None or request.method not in policy[1] or not current_app.config.get("RATELIMIT_ENABLED"):
        return
    category = policy[0]
    member = current_user._get_current_object() if current_user.is_authenticated else None
    limiter = _limiter()
    checks = limits_for(category, member)
    g.coopol_rate_limit = (checks[0][1], checks[0][2])
    taken: list[tuple[RateLimitItem, str]] = []
    for who, item, key in checks:
        if not limiter.hit(item, key):
            _give_back(taken)  # refused: nothing is created, so no counter keeps this request
            g.coopol_rate_limit = (item, key)
            raise RateLimited(_message(category, who, item, member), headers=_headers(item, key))
        taken.append((item, key))
    if category not in COUNT_ATTEMPTS:
        g.coopol_rate_taken = taken


def _give_back(taken: list[tuple[RateLimitItem, str]]) -> None:
    storage = _limiter().storage
    for item, key in taken:
        counter = item.key_for(key)
        if storage.get(counter) > 0:  # an expired window is not driven below zero
            storage.incr(counter, item.get_expiry(), amount=-1)


def _message(category: str, who: str, item: RateLimitItem, member) -> str:
    noun = NOUNS.get(category, "requests")
    window = f"{item.multiples} {item.GRANULARITY.name}" + ("s" if item.multiples > 1 else "")
    subject = "this account" if who == "member" else "this network address"
    message = f"Too many {noun}: {subject} may make at most {item.amount} per {window}."
    if who == "member" and member is not None and is_new_account(member):
        hours = current_app.config["NEW_ACCOUNT_AGE_HOURS"]
        message += f" Accounts younger than {hours} hours have stricter limits."
    return message + " Please try again later."


def _headers(item: RateLimitItem, key: str) -> dict[str, str]:
    reset_at, remaining = _limiter().get_window_stats(item, key)
    reset_in = max(0, math.ceil(reset_at - time.time()))
    headers = {
        "RateLimit-Limit": str(item.amount),
        "RateLimit-Remaining": str(max(0, remaining)),
        "RateLimit-Reset": str(reset_in),
        "RateLimit-Policy": f"{item.amount};w={item.get_expiry()}",
    }
    if remaining <= 0:
        headers["Retry-After"] = str(reset_in)
    return headers


def add_rate_limit_headers(response: Response) -> Response:
    taken = g.pop("coopol_rate_taken", None)
    if taken and not request_created(response):
        _give_back(taken)
    limit = g.pop("coopol_rate_limit", None)
    if limit is not None and "RateLimit-Limit" not in response.headers:
        response.headers.update(_headers(*limit))
    return response
