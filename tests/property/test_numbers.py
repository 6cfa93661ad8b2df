"""Ids read from text (coopol/core/schemas.py `parse_id`): ASCII digits from 1 to MAX_ID, or None."""

from hypothesis import given
from hypothesis import strategies as st

from coopol.core.schemas import MAX_ID, parse_id

DIGITISH = st.text(alphabet=st.sampled_from(list("0123456789²³١٢߀٣ -+_.")), max_size=25)


@given(st.one_of(st.text(max_size=30), DIGITISH, st.integers(0, 2**80).map(str)))
def test_an_id_is_ascii_digits_within_the_bound(text):
    value = parse_id(text)
    if value is None:
        assert not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_ID
    else:
        assert str(value) == text.lstrip("0")
        assert 1 <= value <= MAX_ID


@given(st.integers(1, MAX_ID))
def test_every_id_in_range_reads_back(value):
    assert parse_id(str(value)) == value
