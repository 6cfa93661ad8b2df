"""Signed `Like` activities from an ally's members to our shared `/inbox` (issue 5).

The seeder stores each ally (alliance accepted both ways) and its persons as cached remote actors
with their public key, as the inbox would after a first fetch; the bench holds the private key and
signs each request with `coopol.federation.signatures.sign_request`, the function our own delivery
worker uses. Every activity has a fresh id: a repeated id would only be acknowledged, which is cheaper.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import uuid

from bench.load import Request


def prepare_likes(ctx, count: int) -> list[Request]:
    from bench.scenarios import Skipped, require_route

    require_route(ctx.app, "/inbox", "POST")
    if importlib.util.find_spec("coopol.federation.models") is None:
        raise Skipped("coopol.federation.models (alliances, actor keys) does not exist yet")
    allies = [a for a in ctx.seed.allies if a.get("private_key_pem")]
    if not allies:
        raise Skipped("no allies with keys were seeded: " + "; ".join(ctx.seed.notes))
    if not ctx.seed.idea_ids:
        raise Skipped("no ideas to like were seeded")
    from coopol.federation import signatures
    from coopol.federation.activities import handler_for

    _cache_loaded_keys(signatures)
    sign_request = signatures.sign_request

    if "inbox_note" not in ctx.extra:
        ctx.extra["inbox_note"] = ("" if handler_for({"type": "Like", "object": "x"}) is not None else
                                   "no Like handler yet: each Like is verified and stored (as 'ignored'), "
                                   "no vote is cast")
    keys = {a["host"]: a["private_key_pem"] for a in allies}
    rng = ctx.rng
    base = ctx.instance.url
    inbox_url = f"{base}/inbox"
    per_ally = ctx.seed.plan.remote_members_per_ally
    ideas = ctx.seed.votable_idea_ids or ctx.seed.idea_ids
    out = []
    for _ in range(count):
        ally = rng.choice(allies)
        actor = f"{ally['base_url']}/u/ally{rng.randrange(per_ally):04d}"
        activity = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{ally['base_url']}/activities/{uuid.uuid4()}",
            "type": "Like",
            "actor": actor,
            "object": f"{base}/ideas/{rng.choice(ideas)}",
            "to": [f"{base}/g/ideas"],
        }
        body = json.dumps(activity).encode()
        headers = sign_request("POST", inbox_url, {"Content-Type": "application/activity+json"}, body,
                               f"{actor}#main-key", keys[ally["host"]])
        out.append(Request("POST", "/inbox", headers, body))
    return out


def _cache_loaded_keys(signatures) -> None:
    """`sign_request` loads the PEM on every call, and loading an RSA key validates it (~40 ms): that
    would make the bench, not the server, the bottleneck. Cached in the bench process only."""
    if not hasattr(signatures.load_private_key, "cache_info"):
        signatures.load_private_key = functools.lru_cache(maxsize=32)(signatures.load_private_key)
