"""The scale test (PostgreSQL): top/hot page time and the vote path at 10k and at 1M ideas."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any


def run(workdir: Path, database_url: str, size: str, timing, instances: list[Any]) -> list[dict]:
    if importlib.util.find_spec("coopol.ideas.models") is None:
        return [{"key": "scale", "title": "scale: top/hot/vote at 10k vs 1M ideas", "status": "skipped",
                 "reason": "coopol.ideas.models does not exist yet"}]
    return [{"key": "scale", "title": "scale: top/hot/vote at 10k vs 1M ideas", "status": "skipped",
             "reason": "not built yet"}]
