"""Federation figures (issue 5): deliveries per second by one worker, and publish-to-10-allies time."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

TITLES = {
    "deliveries": "deliveries/s, one worker -> 10 instances",
    "propagation": "publish -> visible on 10 allies (s)",
}


def _missing() -> str | None:
    for module in ("coopol.federation.models", "coopol.federation.worker", "coopol.ideas.models"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    return None


def run(keys: list[str], workdir: Path, database_url: str | None, size: str, instances: list[Any]) -> list[dict]:
    out = []
    for key in keys:
        reason = _missing()
        out.append({"key": key, "title": TITLES[key], "status": "skipped", "reason": reason or "not built yet"})
    return out
