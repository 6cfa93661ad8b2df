"""Whole numbers from outside input (coopol/core/numbers.py): ASCII digits within the bound, or None."""

from hypothesis import given
from hypothesis import strategies as st

from coopol.core.numbers import MAX_ID, whole_number

DIGITISH = st.text(alphabet=st.sampled_from(list("0123456789²³١٢߀٣ -+_.")), max_size=25)


@given(st.one_of(st.text(max_size=30), DIGITISH, st.integers(0, 2**80).map(str)))
def test_a_whole_number_is_ascii_digits_within_the_bound(text):
    value = whole_number(text)
    if value is None:
        assert not (text.isascii() and text.isdigit()) or int(text) > MAX_ID
    else:
        assert str(value) == text.lstrip("0") or (value == 0 and set(text) == {"0"})
        assert 0 <= value <= MAX_ID


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_the_maximum_is_kept(value, maximum):
    assert whole_number(str(value), maximum=maximum) == (value if value <= maximum else None)
