"""How long to wait before trying again after failures (deliveries, received activities, backfills): a
leaf module, so that the delivery worker and the inbox both use it without depending on each other."""

from __future__ import annotations

import random

from flask import current_app, has_app_context


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Delay after the `attempts`-th failed attempt: n⁴ + 15 s plus up to 10·(n+1) s of jitter, times the
    setting `federation_retry_scale` (1: about two days over a delivery's 16 attempts)."""
    jitter = (rng or random).randint(0, 10) * (attempts + 1)
    return (attempts ** 4 + 15 + jitter) * retry_scale()


def retry_scale() -> float:
    """`federation_retry_scale` of the app in context (1 outside one)."""
    return float(current_app.config.get("FEDERATION_RETRY_SCALE", 1.0)) if has_app_context() else 1.0


def check_retry_scale(value: object) -> float:
    """The setting's value if it can work: a number above 0 and at most 100."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 100:
        raise ValueError(f"The setting federation_retry_scale must be a number above 0 and at most 100, not {value!r}.")
    return float(value)
