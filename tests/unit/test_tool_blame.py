"""GigaChat's refusals name the tool they concern: a Dify tool whose schema it refuses, or a built-in tool by the switch
that turned it on. models/llm/tools.py `blamed` finds them, models/common/errors.py writes the sentence."""

from __future__ import annotations

import functools
import json

import httpx
import pytest
from dify_plugin.errors.model import InvokeAuthorizationError, InvokeBadRequestError, InvokeServerUnavailableError
from gigachat import exceptions as sdk

from models.common.errors import invoke_error
from models.common.settings import parse_credentials
from models.llm.tools import ToolNames, blamed, blamed_tools, wire_name

NAMES = ToolNames.of(["get_forecast", "get_forecast_v2", "web_search"])
FUNCTIONS = [
    {"name": "get_forecast", "parameters": {"type": "object", "properties": {"place": {"type": "object"}}}},
    {"name": "get_forecast_v2", "parameters": {"type": "object", "properties": {"days": {"type": "integer"}}}},
    {"name": wire_name("web_search"), "parameters": {"type": "object", "properties": {"query": {"type": "string"}}}},
]
EVERY_TOOL = ["get_forecast", "get_forecast_v2", "web_search"]

# ---- which tools a complaint is about ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "functions", "blamed"),
    [
        pytest.param("Invalid function parameters schema: get_forecast_v2", FUNCTIONS, ["get_forecast_v2"],
                     id="named-whole-not-as-a-prefix"),
        pytest.param(f"Invalid schema of function {wire_name('web_search')}", FUNCTIONS, ["web_search"],
                     id="a-renamed-tool-under-its-dify-name"),
        pytest.param("Field 'functions[1].parameters' is invalid", FUNCTIONS, ["get_forecast_v2"], id="by-index"),
        pytest.param("Field 'functions[7].parameters' is invalid", FUNCTIONS, EVERY_TOOL, id="an-index-out-of-range"),
        pytest.param("Field 'properties.place.properties' is missing", FUNCTIONS, ["get_forecast"],
                     id="by-the-path-only-one-tool-has"),
        pytest.param("Field 'properties.x.enum' must contain only strings", FUNCTIONS, EVERY_TOOL, id="undeterminable"),
        pytest.param("Invalid function parameters schema", FUNCTIONS[:1], ["get_forecast"], id="the-only-tool"),
        pytest.param("system message must be the first message", FUNCTIONS, [], id="not-about-schemas"),
        pytest.param("Requested model does not support functions", FUNCTIONS, [], id="functions-unsupported"),
        pytest.param("function call 'get_forecast' in messages[2] must be followed by its function result", FUNCTIONS,
                     [], id="about-the-history"),
        pytest.param("Invalid function parameters schema", [], [], id="no-tools-were-sent"),
        pytest.param("", FUNCTIONS, [], id="no-message"),
    ],
)  # fmt: skip
def test_a_complaint_blames_the_tools_it_points_at(message: str, functions: list, blamed: list) -> None:
    assert blamed_tools(message, functions, NAMES) == blamed


# ---- the sentence a user reads ----------------------------------------------------------------------------------

API = "https://gigachat.devices.sberbank.ru/api/v1/chat/completions"
OAUTH = "https://ngw.devices.sberbank.ru:9443/api/v2/oauth"
SETTINGS = parse_credentials({"api_key": "Y2xpZW50OnNlY3JldA=="})
BLAME = functools.partial(blamed, functions=FUNCTIONS, names=NAMES)


def refusal(status: int, body: object, url: str = API) -> sdk.ResponseError:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return sdk.ResponseError(httpx.URL(url), status, content, httpx.Headers())


@pytest.mark.parametrize(
    ("message", "blamed"),
    [
        pytest.param("Invalid function parameters schema: get_forecast_v2", "tool 'get_forecast_v2'", id="one-tool"),
        pytest.param("Field 'properties.x.enum' must contain only strings",
                     "one of the tools 'get_forecast', 'get_forecast_v2', 'web_search'", id="several-tools"),
    ],
)  # fmt: skip
def test_a_schema_complaint_names_the_tool_and_quotes_gigachat_once(message: str, blamed: str) -> None:
    error = invoke_error(refusal(422, {"status": 422, "message": message}), SETTINGS, blame=BLAME)
    assert isinstance(error, InvokeBadRequestError)
    assert error.description == (
        f"[gigachat] GigaChat refused the parameter schema of {blamed} (422: {message}). The plugin already rewrites "
        "schemas into the subset GigaChat accepts; simplify the tool's parameters, or report the schema as a plugin "
        "issue."
    )


def test_a_complaint_that_quotes_the_request_names_the_tool_but_withholds_the_quote() -> None:
    message = "Invalid function parameters schema: get_forecast, prompt 'secret canary words here'"
    error = invoke_error(
        refusal(422, {"status": 422, "message": message}), SETTINGS, ["secret canary words here"], BLAME
    )
    assert "tool 'get_forecast'" in error.description
    assert "canary" not in error.description and "withheld" in error.description


@pytest.mark.parametrize(
    ("error", "kind", "sentence"),
    [
        pytest.param(refusal(422, {"message": "system message must be the first message"}), InvokeBadRequestError,
                     "GigaChat rejected the request (422: system message", id="not-about-a-tool"),
        pytest.param(refusal(422, b"<html>422</html>"), InvokeBadRequestError, "GigaChat rejected the request (422).",
                     id="not-gigachats-json"),
        pytest.param(refusal(500, {"message": "Invalid function parameters schema"}), InvokeServerUnavailableError,
                     "GigaChat is unavailable (500", id="a-server-error"),
        pytest.param(refusal(400, {"code": 5, "message": "Invalid schema"}, OAUTH), InvokeAuthorizationError,
                     "code 5", id="a-refused-sign-in"),
    ],
)  # fmt: skip
def test_other_refusals_blame_no_tool(error: sdk.ResponseError, kind: type, sentence: str) -> None:
    mapped = invoke_error(error, SETTINGS, blame=BLAME)
    assert type(mapped) is kind
    assert sentence in mapped.description
    assert "parameter schema" not in mapped.description


# ---- built-in tools ------------------------------------------------------------------------------------------------

EVERY_SWITCH = ("web_search", "url_content_extraction", "code_interpreter", "image_generate")


@pytest.mark.parametrize(
    ("message", "builtin", "switches"),
    [
        # The live host's refusals (a third-party log of api.giga.chat, GigaChat-2-Max, September 2026).
        pytest.param("Tool code_interpreter is unavailable", EVERY_SWITCH, ["Code interpreter"], id="unavailable"),
        pytest.param("Unknown tool web_search", EVERY_SWITCH, ["Web search"], id="unknown"),
        pytest.param("Tools are not supported by this model", ("web_search", "image_generate"),
                     ["Web search", "Image generation"], id="about-tools-naming-none"),
        pytest.param("Tool code_interpreter is unavailable", ("web_search",), ["Web search"],
                     id="names-one-not-turned-on"),
        pytest.param(f"Invalid schema of function {wire_name('web_search')}", EVERY_SWITCH, [],
                     id="a-dify-tool-renamed-from-a-built-in-name"),
        pytest.param("Tool code_interpreter is unavailable", (), [], id="no-switch-on"),
        pytest.param("system message must be the first message", EVERY_SWITCH, [], id="not-about-tools"),
        pytest.param("Field 'tool_config.function_name' is invalid", EVERY_SWITCH, [], id="about-the-tool-config"),
    ],
)  # fmt: skip
def test_a_refusal_of_a_built_in_tool_blames_its_switch(message: str, builtin: tuple, switches: list) -> None:
    assert list(blamed(message, FUNCTIONS, NAMES, builtin).switches) == switches


@pytest.mark.parametrize("status", [404, 422])
def test_a_refused_built_in_tool_is_a_bad_request_saying_which_switch_to_turn_off(status: int) -> None:
    message = "Tool code_interpreter is unavailable"
    blame = functools.partial(blamed, functions=[], names=ToolNames.of([]), builtin=EVERY_SWITCH)
    error = invoke_error(refusal(status, {"status": status, "message": message}), SETTINGS, blame=blame)
    assert isinstance(error, InvokeBadRequestError)
    assert error.description == (
        f"[gigachat] GigaChat refused the built-in tool of the switch 'Code interpreter' ({status}: {message}): this "
        "model does not offer it here. Turn that switch off in the model's parameters."
    )


def test_the_switch_labels_in_errors_are_the_ones_the_model_parameters_show() -> None:
    from pathlib import Path

    import yaml

    from models.common.catalog import BUILT_IN_TOOLS

    ultra = yaml.safe_load((Path(__file__).resolve().parents[2] / "models/llm/GigaChat-3-Ultra.yaml").read_text())
    labels = {
        rule["name"]: rule["label"]["en_US"] for rule in ultra["parameter_rules"] if rule["name"] in BUILT_IN_TOOLS
    }
    assert labels == BUILT_IN_TOOLS
