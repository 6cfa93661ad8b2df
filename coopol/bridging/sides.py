"""What the idea page says of the main divide, from stored counts (no numpy: web processes never import it)."""

from __future__ import annotations

SIMILAR_SIDES = 0.2  # support shares on the two sides of the divide within this are "similar"


def sides_similar(side_support: tuple[int, int], side_votes: tuple[int, int], *, minimum: int = 2) -> bool | None:
    """Whether support is similar on both sides of the main divide; None when a side has too few voters."""
    if min(side_votes) < minimum:
        return None
    shares = [s / v for s, v in zip(side_support, side_votes, strict=True)]
    return abs(shares[0] - shares[1]) <= SIMILAR_SIDES
