"""DumpSchema's compiled dump gives exactly marshmallow's output, for every output schema we have."""

from datetime import UTC, datetime
from enum import StrEnum

import pytest
from marshmallow import Schema, fields

from coopol.core.schemas import DumpSchema, _plan_for


class Colour(StrEnum):
    RED = "red"


def _all_dump_schemas(app) -> list[type[DumpSchema]]:
    found, todo = [], list(DumpSchema.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted(found, key=lambda cls: cls.__qualname__)


def _sample(field: fields.Field, depth: int, variant: int):
    if isinstance(field, fields.Nested):
        nested = field.schema
        one = _sample_object(nested, depth + 1, variant)
        return [one, _sample_object(nested, depth + 1, variant + 1)] if field.many else one
    if isinstance(field, fields.List):
        return [_sample(field.inner, depth + 1, variant), None] if variant % 2 else []
    if isinstance(field, fields.Dict):
        return {"a.example": _sample(field.value_field, depth + 1, variant)} if field.value_field else {"k": 1}
    if isinstance(field, fields.DateTime):
        return datetime(2026, 11, 25, 20, 1, 2, 345678, tzinfo=UTC)
    if isinstance(field, fields.Boolean):
        return bool(variant % 2)
    if isinstance(field, fields.Integer):
        return 7 + variant
    if isinstance(field, fields.Float):
        return 1.5 + variant
    if isinstance(field, fields.String):
        return Colour.RED if variant % 3 == 2 else f"text {variant} ✓"
    return {"raw": variant}


def _sample_object(schema: Schema, depth: int, variant: int) -> dict:
    data = {}
    for n, (name, field) in enumerate(schema.dump_fields.items()):
        key = field.attribute or name
        if (n + variant) % 5 == 0:
            data[key] = None
        elif (n + variant) % 7 == 3 and not hasattr(dict, key):
            # Absent: left out of the output. (marshmallow would read a dict's own attribute, e.g. the
            # `items` method, for an absent key of that name; our views always carry such keys.)
            continue
        else:
            data[key] = _sample(field, depth, variant)
    data["not_in_the_schema"] = "ignored"
    return data


def test_every_output_schema_dumps_exactly_as_marshmallow(app):
    schemas = _all_dump_schemas(app)
    assert len(schemas) > 20
    compiled = 0
    for cls in schemas:
        schema = cls()
        if _plan_for(schema) is not None:
            compiled += 1
        for variant in range(4):
            data = _sample_object(schema, 0, variant)
            assert schema.dump(data) == Schema.dump(schema, data), cls.__qualname__
            assert schema.dump([data, data], many=True) == Schema.dump(schema, [data, data], many=True)
    assert compiled == len(schemas), "a schema fell back to marshmallow's slower dump"


def test_a_schema_with_a_hook_or_an_unknown_field_keeps_marshmallow_dump():
    from marshmallow import post_dump

    class WithHook(DumpSchema):
        name = fields.String()

        @post_dump
        def shout(self, data, **kwargs):
            return {k: v.upper() for k, v in data.items()}

    class WithMethod(DumpSchema):
        name = fields.Method("get_name")

        def get_name(self, obj):
            return "m:" + obj["name"]

    assert WithHook().dump({"name": "a"}) == {"name": "A"}
    assert WithMethod().dump({"name": "a"}) == {"name": "m:a"}
    assert _plan_for(WithHook()) is None and _plan_for(WithMethod()) is None


@pytest.mark.parametrize("value", [None, 0, False])
def test_falsy_values_are_kept(value):
    class One(DumpSchema):
        n = fields.Raw()

    assert One().dump({"n": value}) == {"n": value}


# --- the shared number and date types ---------------------------------------------------------------------

def _load(field, value):
    from coopol.core.schemas import LoadSchema

    schema = LoadSchema.from_dict({"value": field})()
    return schema.load({"value": value})["value"]


@pytest.mark.parametrize("value", [2**31, 2**63, -1, 0, 1.0, 1.5, float("inf"), True, False, "1", "１", "١", None,
                                   [], {}])
def test_an_id_is_a_json_integer_in_range(value):
    from marshmallow import ValidationError

    from coopol.core.schemas import Id

    with pytest.raises(ValidationError) as raised:
        _load(Id(), value)
    assert "value" in raised.value.messages


def test_an_id_accepts_the_ids_a_database_holds():
    from coopol.core.schemas import MAX_ID, Id

    assert MAX_ID == 2**31 - 1
    assert _load(Id(), 1) == 1 and _load(Id(), MAX_ID) == MAX_ID


@pytest.mark.parametrize("text, expected", [("1", 1), ("100", 100), ("007", 7)])
def test_a_query_integer_reads_ascii_digits(text, expected):
    from coopol.core.schemas import QueryInteger

    assert _load(QueryInteger(minimum=1, maximum=100), text) == expected


@pytest.mark.parametrize("text", ["１", "١", "1.0", "1e3", " 1", "+1", "", "0", "101", "9" * 25, "true", "٣"])
def test_a_query_integer_refuses_everything_else(text):
    from marshmallow import ValidationError

    from coopol.core.schemas import QueryInteger

    with pytest.raises(ValidationError):
        _load(QueryInteger(minimum=1, maximum=100), text)


def test_json_bodies_keep_huge_numbers_away_from_int():
    from coopol.core.schemas import OversizedNumber, load_json

    data = load_json('{"a": ' + "9" * 5000 + ', "b": -' + "9" * 5000 + ', "c": 12, "d": 1e309}')
    assert isinstance(data["a"], OversizedNumber) and isinstance(data["b"], OversizedNumber)
    assert data["c"] == 12 and data["d"] == float("inf")


@pytest.mark.parametrize("text, expected", [
    ("2030-01-31", datetime(2030, 1, 31, tzinfo=UTC)),
    ("2030-01-31T18:00:00Z", datetime(2030, 1, 31, 18, tzinfo=UTC)),
    ("2030-01-31T18:00:00+02:00", datetime(2030, 1, 31, 16, tzinfo=UTC)),
    ("2030-01-31T18:00", datetime(2030, 1, 31, 18, tzinfo=UTC)),
])
def test_a_moment_is_an_aware_utc_datetime(text, expected):
    from coopol.core.schemas import Moment

    assert _load(Moment(), text) == expected


@pytest.mark.parametrize("value", ["0000-01-01", "0001-01-01T00:00:00+01:00", "9999-12-31", "9999-12-31T23:59:59-05:00",
                                   "10000-01-01", "9000-01-01", "1899-12-31", "2030-02-30", "２０３０-01-01",
                                   "tomorrow", "", 20300101, True, None])
def test_a_moment_refuses_dates_outside_the_calendar_we_keep(value):
    from marshmallow import ValidationError

    from coopol.core.schemas import Moment

    with pytest.raises(ValidationError):
        _load(Moment(), value)


def test_url_ids_match_exactly_one_to_the_largest_id():
    import re

    from coopol.core.web import MAX_DATABASE_ID, integers_up_to

    pattern = re.compile(integers_up_to(MAX_DATABASE_ID))
    for number in [*range(0, 2000), 999_999_999, 1_000_000_000, 2_147_483_639, MAX_DATABASE_ID, MAX_DATABASE_ID + 1,
                   2_200_000_000, 9_999_999_999]:
        assert bool(pattern.fullmatch(str(number))) == (1 <= number <= MAX_DATABASE_ID), number
    for text in ("01", "１", "١", "-1", ""):
        assert not pattern.fullmatch(text)
