"""How long to wait before trying again after failures (deliveries, received activities, backfills): a
leaf module, so that the delivery worker and the inbox both use it without depending on each other."""

from __future__ import annotations

import random


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Delay after the `attempts`-th failed attempt: n⁴ + 15 s plus up to 10·(n+1) s of jitter."""
    jitter = (rng or random).randint(0, 10) * (attempts + 1)
    return attempts ** 4 + 15 + jitter
