"""models/llm/tools.py: GigaChat's schema complaints naming the tool."""

from __future__ import annotations

import json

import pytest
from dify_plugin.errors.model import InvokeBadRequestError, InvokeRateLimitError

from models.llm.tools import ToolNames, blame_tool, wire_name

# ---- schema complaints ---------------------------------------------------------------------------------------------

NAMES = ToolNames.of(["get_forecast", "get_forecast_v2", "web_search"])
FUNCTIONS = [
    {"name": "get_forecast", "parameters": {"type": "object", "properties": {"place": {"type": "object"}}}},
    {"name": "get_forecast_v2", "parameters": {"type": "object", "properties": {"days": {"type": "integer"}}}},
    {"name": wire_name("web_search"), "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
]


class _ResponseError(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status_code = status
        self.content = json.dumps({"status": status, "message": message}).encode()


def _mapped(status: int, message: str) -> InvokeBadRequestError:
    return InvokeBadRequestError(f"[gigachat] GigaChat rejected the request ({status}: {message}).")


@pytest.mark.parametrize(
    ("message", "blamed"),
    [
        pytest.param("Invalid function parameters schema: get_forecast_v2", "tool 'get_forecast_v2'",
                     id="named-whole-not-as-a-prefix"),
        pytest.param(f"Invalid schema of function {wire_name('web_search')}", "tool 'web_search'",
                     id="a-renamed-tool-under-its-dify-name"),
        pytest.param("Field 'functions[1].parameters' is invalid", "tool 'get_forecast_v2'", id="by-index"),
        pytest.param("Field 'properties.place.properties' is missing", "tool 'get_forecast'",
                     id="by-the-path-only-one-tool-has"),
        pytest.param("Field 'properties.x.enum' must contain only strings",
                     "one of the tools 'get_forecast', 'get_forecast_v2', 'web_search'", id="undeterminable"),
    ],
)  # fmt: skip
def test_a_schema_complaint_names_the_tool_it_concerns(message: str, blamed: str) -> None:
    error = blame_tool(_mapped(422, message), _ResponseError(422, message), FUNCTIONS, NAMES)
    assert isinstance(error, InvokeBadRequestError)
    assert f"GigaChat refused the parameter schema of {blamed} (422: {message})." in error.description


def test_with_one_tool_any_schema_complaint_is_about_it() -> None:
    message = "Invalid function parameters schema"
    error = blame_tool(_mapped(422, message), _ResponseError(422, message), FUNCTIONS[:1], NAMES)
    assert "tool 'get_forecast'" in error.description


@pytest.mark.parametrize(
    ("status", "message", "functions", "mapped"),
    [
        pytest.param(422, "system message must be the first message", FUNCTIONS, None, id="not-about-schemas"),
        pytest.param(422, "Requested model does not support functions", FUNCTIONS, None, id="functions-unsupported"),
        pytest.param(422, "function call 'get_forecast' in messages[2] must be followed by its function result",
                     FUNCTIONS, None, id="about-the-history"),
        pytest.param(422, "Invalid function parameters schema", [], None, id="no-tools-were-sent"),
        pytest.param(500, "Invalid function parameters schema", FUNCTIONS, None, id="a-server-error"),
        pytest.param(422, "Invalid function parameters schema", FUNCTIONS, InvokeRateLimitError("[gigachat] slow"),
                     id="mapped-to-something-else"),
    ],
)  # fmt: skip
def test_other_errors_pass_unchanged(status: int, message: str, functions: list, mapped: object) -> None:
    original = mapped or _mapped(status, message)
    assert blame_tool(original, _ResponseError(status, message), functions, NAMES) is original  # type: ignore[arg-type]


def test_a_body_that_is_not_gigachats_json_leaves_the_error_unchanged() -> None:
    cause = _ResponseError(422, "")
    cause.content = b"<html>422</html>"
    original = _mapped(422, "")
    assert blame_tool(original, cause, FUNCTIONS, NAMES) is original
