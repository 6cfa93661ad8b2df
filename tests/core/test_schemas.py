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
