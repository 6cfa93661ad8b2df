"""A peer's Retry-After (coopol/federation/delivery.py): any value is a bounded delay or None, never a crash."""

from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from coopol.federation.delivery import MAX_RETRY_AFTER_SECONDS, parse_retry_after

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@example("\u00b2")  # "²".isdigit() is true and float("²") fails
@given(st.one_of(st.text(max_size=40), st.integers(0, 10**12).map(str),
                 st.datetimes(timezones=st.just(UTC)).map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT"))))
def test_any_retry_after_is_a_bounded_delay_or_none(value):
    delay = parse_retry_after(value, NOW)
    assert delay is None or 0 <= delay <= MAX_RETRY_AFTER_SECONDS
