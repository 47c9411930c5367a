"""Specification of models/llm/schema.py: real-world schemas in, the exact schema GigaChat receives out."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from models.llm.schema import MAX_DEPTH, SchemaError, normalize_response_schema, normalize_schema
from tests.unit.schema_cases_a import CASES_A, Case
from tests.unit.schema_cases_b import CASES_B

TOO_DEEP = f"nested schema omitted: deeper than {MAX_DEPTH} levels"


CASES = CASES_A + CASES_B


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_real_world_schema_normalizes_exactly(case: Case) -> None:
    assert case.normalize(case.schema) == case.expected


def test_deep_nesting_is_cut_at_max_depth_with_a_note() -> None:
    schema: dict = {"type": "string"}
    for _ in range(MAX_DEPTH + 8):
        schema = {"type": "object", "properties": {"child": schema}}
    node = normalize_schema(schema)
    for _ in range(MAX_DEPTH):
        node = node["properties"]["child"]
    assert node == {"type": "object", "description": TOO_DEEP, "properties": {}}


def test_deep_array_nesting_is_cut_to_string_items() -> None:
    schema: dict = {"type": "integer"}
    for _ in range(MAX_DEPTH + 3):
        schema = {"type": "array", "items": schema}
    node = normalize_response_schema(schema)
    for _ in range(MAX_DEPTH):
        node = node["items"]
    assert node == {"type": "array", "description": TOO_DEEP, "items": {"type": "string"}}


def test_mutually_recursive_definitions_stop_at_the_inline_budget() -> None:
    # D0 -> D1 -> ... -> D9 -> D0, three properties each: 3 ** 20 nodes before the recursion cut alone would stop it.
    defs = {
        f"D{i}": {"type": "object", "properties": {key: {"$ref": f"#/$defs/D{(i + 1) % 10}"} for key in "abc"}}
        for i in range(10)
    }
    nodes = list(_nodes(normalize_schema({"$defs": defs, "$ref": "#/$defs/D0"})))
    assert len(nodes) < 1000
    assert any(node.get("description", "").endswith("omitted: schema too large") for node in nodes)
    assert all(node["properties"] == {} for node in nodes if "too large" in node.get("description", ""))


def test_enum_values_equal_as_text_are_sent_once() -> None:
    out = normalize_schema({"properties": {"level": {"enum": ["1", 1, "2"]}}})
    assert out["properties"]["level"]["enum"] == ["1", "2"]


def test_cyclic_bare_refs_raise_schema_error_naming_the_place() -> None:
    schema = {
        "$defs": {"A": {"$ref": "#/$defs/B"}, "B": {"$ref": "#/$defs/A"}},
        "properties": {"x": {"$ref": "#/$defs/A"}},
    }
    with pytest.raises(SchemaError, match=r"cyclic \$ref '#/\$defs/A' at /properties/x"):
        normalize_schema(schema)


def test_self_referencing_allof_is_a_cycle() -> None:
    with pytest.raises(SchemaError, match="cyclic"):
        normalize_schema({"$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}, "$ref": "#/$defs/A"})


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ([{"type": "string"}], "expected a schema object at /, got list"),
        ("string", "expected a schema object at /, got str"),
        ({"type": "object", "properties": {"x": "string"}}, "expected a schema object at /properties/x, got str"),
        ({"properties": {"a": {"items": 5}}}, "at /properties/a/items, got int"),
        ({"type": "object", "properties": 5}, "'properties' must be an object at /, got int"),
    ],
    ids=["root list", "root string", "property as bare type name", "items as a number", "properties as a number"],
)
def test_input_that_is_not_a_schema_raises_schema_error(schema: Any, message: str) -> None:
    with pytest.raises(SchemaError) as error:
        normalize_schema(schema)
    assert message in str(error.value)
    assert isinstance(error.value, ValueError)


def test_schema_error_never_echoes_large_values() -> None:
    with pytest.raises(SchemaError) as error:
        normalize_schema({"properties": {"x" * 5000: ["y" * 5000]}})
    assert len(str(error.value)) < 250


def test_nullable_optional_property_gets_no_note() -> None:
    out = normalize_schema({"properties": {"zip": {"type": ["string", "null"]}}})
    assert out["properties"]["zip"] == {"type": "string"}


def test_recursive_root_ref_is_cut_after_two_expansions() -> None:
    schema = {"type": "object", "properties": {"label": {"type": "string"}, "next": {"$ref": "#"}}}
    out = normalize_schema(schema)
    second = out["properties"]["next"]["properties"]["next"]
    assert second["properties"]["next"] == {
        "type": "object",
        "description": "recursive: same shape as the root",
        "properties": {},
    }


# --- properties that hold for every input ----------------------------------------------------------------------------

ALLOWED_KEYS = {"type", "description", "enum", "format", "properties", "required", "items"}
GIGACHAT_TYPES = {"string", "integer", "number", "boolean", "object", "array"}


def _random_schema(rng: random.Random, depth: int = 0) -> Any:
    """A random, awkward but valid schema: unions, refs, type lists, mixed enums, booleans, keywords GigaChat lacks."""
    if depth > 4 or rng.random() < 0.25:
        return rng.choice(
            [
                True,
                {},
                {"type": rng.choice(["string", "integer", "number", "boolean", "null", "int"])},
                {"type": ["string", "null"], "format": rng.choice(["uuid", "date", "email"])},
                {"enum": rng.choice([[1, 2], ["a", None], [True], ["x", 1, 2.5, None], [{"k": 1}]])},
                {"const": rng.choice(["c", 3, False, None])},
                {"$ref": "#/$defs/Leaf"},
                {"$ref": "#/$defs/Tree"},
                {"$ref": "#/$defs/Missing", "description": "dangling"},
                {"type": "integer", "minimum": 0, "default": 3, "examples": [1]},
            ]
        )
    kind = rng.choice(["object", "array", "anyOf", "oneOf", "allOf", "typelist", "map", "tuple"])

    def child() -> Any:
        return _random_schema(rng, depth + 1)

    if kind == "object":
        names = rng.sample(["a", "b", "c", "d"], rng.randint(0, 4))
        return {
            "type": "object",
            "title": "Obj",
            "properties": {name: child() for name in names},
            "required": [*names[:2], "ghost"],
            "additionalProperties": rng.choice([False, True, child()]),
        }
    if kind == "array":
        return {"type": "array", "items": child(), "minItems": 1}
    if kind in ("anyOf", "oneOf", "allOf"):
        return {kind: [child() for _ in range(rng.randint(1, 3))], "description": rng.choice(["", " ", "why"])}
    if kind == "typelist":
        return {"type": rng.sample(["string", "integer", "number", "object", "array", "null"], 2), "items": child()}
    if kind == "map":
        return {"patternProperties": {"^x": child()}, "propertyNames": {"pattern": "^x"}}
    return {"type": "array", "prefixItems": [child(), child()], "items": False}


def _random_document(seed: int) -> dict:
    rng = random.Random(seed)
    root = _random_schema(rng, 0 if seed % 2 else 1)
    return {
        "$defs": {
            "Leaf": {"type": "string", "enum": ["l1", "l2"], "title": "Leaf"},
            "Tree": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Tree"}}}},
        },
        **(root if isinstance(root, dict) else {"properties": {"x": root}}),
    }


PROPERTY_INPUTS = [case.schema for case in CASES] + [_random_document(seed) for seed in range(300)]


def _nodes(schema: dict) -> Iterator[dict]:
    yield schema
    for sub in schema.get("properties", {}).values():
        yield from _nodes(sub)
    if "items" in schema:
        yield from _nodes(schema["items"])


@pytest.fixture(params=[normalize_schema, normalize_response_schema], ids=["parameters", "response"])
def normalize(request: pytest.FixtureRequest) -> Any:
    return request.param


def test_every_node_uses_only_keywords_gigachat_accepts(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        for node in _nodes(normalize(schema)):
            assert set(node) <= ALLOWED_KEYS, node
            assert node["type"] in GIGACHAT_TYPES, node
            assert all(isinstance(value, str) for value in node.get("enum", [])), node
            assert node.get("format", "date") in {"date", "date-time", "time"}, node
            if "description" in node:
                assert isinstance(node["description"], str) and node["description"].strip(), node


def test_every_object_has_properties_and_only_existing_unique_required(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        for node in _nodes(normalize(schema)):
            assert (node["type"] == "object") == ("properties" in node), node
            assert (node["type"] == "array") == ("items" in node), node
            required = node.get("required", [])
            assert len(required) == len(set(required)) and set(required) <= set(node.get("properties", {})), node


def test_output_never_mentions_unsupported_constructs(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        text = json.dumps(normalize(schema))
        for keyword in ("anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions", "additionalProperties"):
            assert f'"{keyword}"' not in text


def test_parameters_root_is_always_an_object_with_properties_and_required() -> None:
    for schema in PROPERTY_INPUTS:
        out = normalize_schema(schema)
        assert out["type"] == "object" and isinstance(out["properties"], dict) and isinstance(out["required"], list)


def test_input_is_never_mutated_and_output_shares_nothing_with_it(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        before = copy.deepcopy(schema)
        out = normalize(schema)
        assert schema == before
        for node in list(_nodes(out)):  # scribbling over the output must not reach the input either
            for value in node.values():
                if isinstance(value, list):
                    value.append("scribble")
            node.clear()
        assert schema == before


def test_normalizing_twice_changes_nothing(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        once = normalize(schema)
        assert normalize(once) == once, schema


def test_output_is_deterministic_and_json_serializable(normalize: Any) -> None:
    for schema in PROPERTY_INPUTS:
        first = json.dumps(normalize(schema), sort_keys=False)
        assert json.dumps(normalize(copy.deepcopy(schema)), sort_keys=False) == first
