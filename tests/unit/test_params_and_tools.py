"""models/llm/params.py (Dify parameters -> GigaChat fields) and models/llm/tools.py (Dify tools -> functions)."""

from __future__ import annotations

import json

import pytest
from dify_plugin.entities.model.message import PromptMessageTool
from dify_plugin.errors.model import InvokeBadRequestError

from models.llm.params import generation_fields, response_schema
from models.llm.tools import RESERVED_NAMES, ToolNames, function_call_mode, functions_for, wire_name

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name"],
}


def tool(name: str, parameters: dict | None = None, description: str = "Does a thing.") -> PromptMessageTool:
    return PromptMessageTool(name=name, description=description, parameters=parameters or {"type": "object"})


# ---- generation_fields -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        pytest.param({}, {}, id="nothing-set"),
        pytest.param({"temperature": 0.7}, {"temperature": 0.7}, id="temperature"),
        pytest.param({"temperature": 1}, {"temperature": 1.0}, id="integer-temperature"),
        pytest.param({"temperature": 0}, {"top_p": 0.0}, id="zero-temperature-is-greedy-top-p"),
        pytest.param({"temperature": 0.0, "top_p": 0.9}, {"top_p": 0.0}, id="zero-temperature-overrides-top-p"),
        pytest.param({"top_p": 0.5}, {"top_p": 0.5}, id="top-p"),
        pytest.param(
            {"max_tokens": 512, "repetition_penalty": 1.1, "update_interval": 0.2, "profanity_check": False,
             "reasoning_effort": "high"},
            {"max_tokens": 512, "repetition_penalty": 1.1, "update_interval": 0.2, "profanity_check": False,
             "reasoning_effort": "high"},
            id="passed-through-unchanged",
        ),
        pytest.param({"max_tokens": None, "temperature": None, "top_p": None}, {}, id="none-means-unset"),
        pytest.param({"presence_penalty": 1.0, "stop": ["x"], "response_format": "json_schema"}, {}, id="others"),
    ],
)  # fmt: skip
def test_generation_fields_say_what_gigachat_means(parameters: dict, expected: dict) -> None:
    assert generation_fields(parameters) == expected


# ---- response_schema ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("response_format", [None, "text", "json_object"])
def test_no_schema_is_asked_for_unless_the_format_is_json_schema(response_format: str | None) -> None:
    assert response_schema({"response_format": response_format, "json_schema": json.dumps(PERSON)}) is None


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(json.dumps({"schema": PERSON, "name": "llm_response"}), id="difys-wrapper"),
        pytest.param(json.dumps({"name": "llm_response", "strict": True, "schema": PERSON}), id="wrapper-with-strict"),
        pytest.param(json.dumps(PERSON), id="bare-schema"),
        pytest.param(PERSON, id="already-a-dict"),
    ],
)
def test_the_schema_is_unwrapped_and_normalized(raw: object) -> None:
    schema = response_schema({"response_format": "json_schema", "json_schema": raw})
    assert schema is not None
    assert schema["type"] == "object"
    assert set(schema["properties"]) == {"name", "age"}
    assert schema["required"] == ["name"]
    assert "schema" not in schema and "strict" not in schema


def test_a_schema_property_named_schema_is_not_mistaken_for_the_wrapper() -> None:
    bare = {"type": "object", "properties": {"schema": {"type": "string"}}}
    schema = response_schema({"response_format": "json_schema", "json_schema": json.dumps(bare)})
    assert schema is not None and set(schema["properties"]) == {"schema"}


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        pytest.param(None, "needs a JSON Schema", id="missing"),
        pytest.param("", "needs a JSON Schema", id="empty"),
        pytest.param("{not json", "is not valid JSON", id="invalid-json"),
        pytest.param("[1, 2]", "must be a JSON object", id="a-list"),
        pytest.param('"a string"', "must be a JSON object", id="a-string"),
        pytest.param("42", "must be a JSON object", id="a-number"),
    ],
)
def test_an_unusable_json_schema_parameter_is_a_bad_request(raw: str | None, words: str) -> None:
    with pytest.raises(InvokeBadRequestError, match=words):
        response_schema({"response_format": "json_schema", "json_schema": raw})


# ---- tool names --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(RESERVED_NAMES))
def test_a_tool_named_like_a_gigachat_built_in_is_renamed_and_mapped_back(name: str) -> None:
    names = ToolNames.of([name, "get_weather"])
    wire = names.wire(name)
    assert wire != name and wire == wire_name(name)
    assert names.dify(wire) == name
    assert names.wire("get_weather") == "get_weather" == names.dify("get_weather")


def test_a_name_gigachat_sends_that_no_tool_has_is_kept() -> None:
    assert ToolNames.of(["a"]).dify("unknown_function") == "unknown_function"


def test_a_reserved_name_is_renamed_even_when_it_was_not_declared() -> None:
    assert ToolNames.of([]).wire("web_search") == wire_name("web_search") != "web_search"


# ---- functions_for -----------------------------------------------------------------------------------------------


def test_tools_become_functions_with_wire_names_and_normalized_parameters() -> None:
    tools = [tool("web_search", PERSON, "Search my notes."), tool("get_time", {}, "")]
    names = ToolNames.of([t.name for t in tools])
    functions = functions_for(tools, names)
    assert [f["name"] for f in functions] == [names.wire("web_search"), "get_time"]
    assert functions[0]["description"] == "Search my notes."
    assert "description" not in functions[1]
    assert functions[0]["parameters"]["type"] == "object"
    assert set(functions[0]["parameters"]["properties"]) == {"name", "age"}
    assert functions[1]["parameters"]["type"] == "object"
    assert functions[1]["parameters"]["properties"] == {}


def test_two_tools_with_the_same_name_are_a_bad_request() -> None:
    tools = [tool("lookup"), tool("lookup")]
    with pytest.raises(InvokeBadRequestError, match="two tools are named 'lookup'"):
        functions_for(tools, ToolNames.of(["lookup", "lookup"]))


def test_a_renamed_tool_that_would_collide_with_another_tool_gets_a_number() -> None:
    tools = [tool("web_search"), tool(wire_name("web_search"))]
    names = ToolNames.of([t.name for t in tools])
    wires = [f["name"] for f in functions_for(tools, names)]
    assert wires[1] == wire_name("web_search")
    assert len(set(wires)) == 2 and "web_search" not in wires
    assert [names.dify(w) for w in wires] == ["web_search", wire_name("web_search")]


def test_no_tools_give_no_functions() -> None:
    assert functions_for([], ToolNames.of([])) == []


# ---- function_call_mode ------------------------------------------------------------------------------------------

NAMES = ToolNames.of(["get_weather", "web_search"])


@pytest.mark.parametrize(
    ("tool_choice", "names", "expected"),
    [
        pytest.param(None, NAMES, "auto", id="default-with-tools"),
        pytest.param("auto", NAMES, "auto", id="auto"),
        pytest.param("", NAMES, "auto", id="empty"),
        pytest.param(None, ToolNames.of([]), None, id="default-without-tools"),
        pytest.param("none", NAMES, "none", id="none"),
        pytest.param("get_weather", NAMES, {"name": "get_weather"}, id="a-tool-by-name"),
        pytest.param("web_search", NAMES, {"name": wire_name("web_search")}, id="a-renamed-tool-by-name"),
        pytest.param({"type": "function", "function": {"name": "get_weather"}}, NAMES, {"name": "get_weather"},
                     id="openai-style-object"),
        pytest.param({"name": "web_search"}, NAMES, {"name": wire_name("web_search")}, id="name-object"),
        pytest.param("required", NAMES, "auto", id="required-can-only-be-auto"),
        pytest.param("not_a_tool", NAMES, "auto", id="an-unknown-tool"),
        pytest.param("any", NAMES, "auto", id="any-can-only-be-auto"),
        pytest.param({"type": "none"}, NAMES, "none", id="none-object"),
        pytest.param({"type": "any"}, NAMES, "auto", id="any-object"),
        pytest.param('{"type": "function", "function": {"name": "get_weather"}}', NAMES, {"name": "get_weather"},
                     id="a-json-object-as-a-string"),
        pytest.param("{broken", NAMES, "auto", id="broken-json-string"),
        pytest.param("get_weather", ToolNames.of([]), None, id="no-tools-no-field"),
    ],
)  # fmt: skip
def test_dify_tool_choice_becomes_gigachats_function_call(
    tool_choice: object, names: ToolNames, expected: object
) -> None:
    assert function_call_mode(tool_choice, names) == expected
