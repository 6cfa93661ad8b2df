"""Scope and tag parsing (coopol/ideas/validation.py, the list filters): any text gives clean tags or a
field error, cleaning is idempotent, and no filter value crashes a list."""

from hypothesis import given, settings
from hypothesis import strategies as st

from coopol.ideas.models import TAG_MAX_LENGTH, TAGS_MAX
from coopol.ideas.validation import TAG_RE, Errors, clean_scope, clean_tags

TAG_TEXT = st.one_of(st.text(max_size=80), st.lists(st.sampled_from(["#", ",", " ", "\t", "é", "E\u0301", "Ǆ",
                                                                    "trains", "-", "_", "١", "ß", "ﬁ", "İ"]),
                                                    max_size=20).map("".join))


@given(st.one_of(TAG_TEXT, st.lists(TAG_TEXT, max_size=12)))
def test_tags_are_clean_or_named_in_an_error(values):
    errors = Errors()
    tags = clean_tags(values, errors)
    assert set(errors) <= {"tags"}
    assert len(tags) == len(set(tags))
    for tag in tags:
        assert TAG_RE.match(tag) and len(tag) <= TAG_MAX_LENGTH and tag == tag.lower().strip()
    if not errors:
        assert len(tags) <= TAGS_MAX


@given(st.one_of(TAG_TEXT, st.lists(TAG_TEXT, max_size=12)))
def test_cleaning_tags_twice_changes_nothing(values):
    tags = clean_tags(values, Errors())
    again = Errors()
    assert clean_tags(tags, again) == tags
    assert not again or len(tags) > TAGS_MAX


@given(st.text(max_size=60))
def test_a_scope_is_known_or_named_in_an_error(app, code):
    with app.app_context():
        errors = Errors()
        cleaned = clean_scope(code, errors)
        assert set(errors) <= {"scope"}
        if cleaned is not None and not errors:
            from coopol.ideas.scopes import scope_tree

            assert cleaned in scope_tree()


@settings(max_examples=40)
@given(st.text(max_size=40), st.text(max_size=40))
def test_no_scope_or_tag_filter_crashes_a_list(client, scope, tag):
    for query in ({"scope": scope}, {"tag": tag}, {"scope": scope, "tag": tag, "sort": "new"}):
        response = client.get("/api/v1/ideas", query_string=query)
        assert response.status_code in (200, 422), response.get_data(as_text=True)[:300]
