"""Sort keys stored on each idea, recomputed whenever its counters change (under the idea's row lock).

hot: engagement on a log scale (one order of magnitude is worth `HOT_DECAY_SECONDS` of freshness), so
an idea sinks as it ages unless people keep voting and debating; new activity lifts it halfway back
(the reference moment is the midpoint between publication and the last activity).
controversial: many votes and a close split (Reddit's magnitude ** balance).
"""

from __future__ import annotations

import math
from datetime import datetime

HOT_DECAY_SECONDS = 45_000  # 12.5 hours
EPOCH = 1_700_000_000


def hot_score(published_at: datetime | None, last_activity_at: datetime | None, support: int, oppose: int,
              comments: int) -> float:
    if published_at is None:
        return 0.0
    last = last_activity_at or published_at
    moment = (published_at.timestamp() + max(last, published_at).timestamp()) / 2
    engagement = support + oppose + 2 * comments
    return round(math.log10(1 + engagement) + (moment - EPOCH) / HOT_DECAY_SECONDS, 7)


def controversy_score(support: int, oppose: int) -> float:
    if support <= 0 or oppose <= 0:
        return 0.0
    magnitude = support + oppose
    balance = min(support, oppose) / max(support, oppose)
    return round(magnitude**balance, 7)


def rankings(*, published_at, last_activity_at, support: int, oppose: int, comments: int) -> dict:
    return {
        "score": support - oppose,
        "hot_score": hot_score(published_at, last_activity_at, support, oppose, comments),
        "controversy_score": controversy_score(support, oppose),
    }
