"""models/common/raw_requests.py: a request dify_plugin cannot parse ends in one typed error that names the fields
and quotes nothing; the daemon's tool_choice reaches `_invoke`; every other request reaches the plugin unchanged."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from dify_plugin.core.entities.plugin.request import ModelInvokeLLMRequest
from dify_plugin.core.session_context import use_current_session
from dify_plugin.errors.model import InvokeBadRequestError, InvokeConnectionError
from dify_plugin.plugin import Plugin

from devkit.harness import messages as m
from models.common.errors import invoke_error
from models.common.raw_requests import TOOL_CHOICE_ATTRIBUTE, check_request, intercept, tool_choice
from models.common.settings import parse_credentials

SECRET = "sk-very-secret-value-0042"


def llm(**changes: Any) -> dict:
    data = m.invoke_llm("gigachat", "GigaChat-2", {"api_key": "k"}, [m.user("hi")])
    return {**data, **changes}


def raw(role: Any, content: Any) -> dict:
    return {"role": role, "content": content, "name": "", "tool_calls": None, "tool_call_id": ""}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (llm(prompt_messages=[raw("robot", "hi")]), "prompt_messages.role: Input should be 'system'"),
        (llm(prompt_messages=[raw("user", 42)]), "prompt_messages.content: Input should be a valid string or"),
        (llm(prompt_messages="hi"), "prompt_messages must be a list"),
        (llm(prompt_messages=[7]), "prompt message must be a PromptMessage or a Mapping"),
        (llm(tools=[{"name": "t", "description": "d", "parameters": SECRET}]), "tools[0].parameters"),
        (llm(credentials=SECRET), "credentials: Input should be a valid dictionary"),
        ({k: v for k, v in llm().items() if k != "model"}, "model: Field required"),
        (m.invoke_embedding("gigachat", "Embeddings", {}, [SECRET, 42]), "texts[1]: Input should be a valid string"),
    ],
    ids=["role", "content", "list", "message", "tools", "credentials", "missing", "embedding"],
)
def test_a_malformed_request_is_a_bad_request_naming_the_field_and_quoting_nothing(data: dict, message: str) -> None:
    with pytest.raises(InvokeBadRequestError) as raised:
        check_request(data)
    text = str(raised.value)
    assert text.startswith("[gigachat] the request from Dify is malformed: ")
    assert message in text
    assert SECRET not in text and "input_value" not in text
    assert raised.value.__suppress_context__  # the pydantic error, which quotes the input, is not in the traceback


def test_many_problems_are_cut_to_the_first_few() -> None:
    data = {"type": "model", "action": "invoke_llm"}
    with pytest.raises(InvokeBadRequestError, match=r"; and \d+ more\.$"):
        check_request(data)


@pytest.mark.parametrize(
    "data",
    [
        llm(),
        m.invoke_embedding("gigachat", "Embeddings", {}, ["a"]),
        m.validate_provider_credentials("gigachat", {}),
        {**llm(), "type": "tool"},
        {**llm(), "action": "invoke_rerank"},
        "not even an object",
    ],
    ids=["llm", "embedding", "validation", "not-a-model-request", "an-action-this-plugin-lacks", "not-a-dict"],
)
def test_a_well_formed_or_foreign_request_passes_untouched(data: Any) -> None:
    check_request(data)


class FakePlugin:
    def __init__(self) -> None:
        self.seen: list[tuple[object, dict]] = []

    def dispatch(self, session: object, data: dict) -> str:
        self.seen.append((session, data))
        return "dispatched"


def test_the_sdk_still_routes_every_request_through_plugin_dispatch() -> None:
    # `intercept` wraps `plugin.dispatch`; if the SDK stops calling it, the checks and tool_choice silently stop.
    assert "self.dispatch(session, data)" in inspect.getsource(Plugin._execute_request)


def test_the_hook_dispatches_good_requests_and_stops_malformed_ones_before_dispatch() -> None:
    plugin = intercept(FakePlugin())
    assert plugin.dispatch(SimpleNamespace(), llm()) == "dispatched"
    with pytest.raises(InvokeBadRequestError):
        plugin.dispatch(SimpleNamespace(), llm(prompt_messages=[raw("robot", "x")]))
    assert len(plugin.seen) == 1


# ---- the daemon's tool_choice --------------------------------------------------------------------------------------


def test_dify_plugin_drops_the_daemons_tool_choice_which_is_why_the_hook_keeps_it() -> None:
    parsed = ModelInvokeLLMRequest(**llm(tool_choice="none"))
    assert "tool_choice" not in parsed.model_dump()


@pytest.mark.parametrize(
    ("data", "kept"),
    [
        pytest.param(llm(tool_choice="none"), "none", id="a-string"),
        pytest.param(llm(tool_choice={"type": "function", "function": {"name": "f"}}),
                     {"type": "function", "function": {"name": "f"}}, id="an-object"),
        pytest.param(llm(), None, id="absent"),
        pytest.param(llm(tool_choice=None), None, id="null"),
        pytest.param({**m.llm_num_tokens("gigachat", "GigaChat-2", {}, []), "tool_choice": "none"}, None,
                     id="another-action"),
    ],
)  # fmt: skip
def test_the_hook_keeps_the_daemons_tool_choice_for_invoke_and_dispatches_the_request_unchanged(
    data: dict, kept: object
) -> None:
    plugin = FakePlugin()
    session = SimpleNamespace()
    assert intercept(plugin) is plugin
    assert plugin.dispatch(session, data) == "dispatched"
    assert plugin.seen == [(session, data)]
    with use_current_session(session):  # type: ignore[arg-type]
        assert tool_choice() == kept


def test_outside_a_session_there_is_no_tool_choice() -> None:
    assert tool_choice() is None


def test_the_tool_choice_waits_on_the_session_under_the_plugins_own_attribute() -> None:
    with use_current_session(SimpleNamespace(**{TOOL_CHOICE_ATTRIBUTE: "none"})):  # type: ignore[arg-type]
        assert tool_choice() == "none"


@pytest.mark.parametrize("exception", [httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadTimeout])
def test_a_transport_failure_of_the_oauth_call_names_authentication_even_on_the_api_host(exception: type) -> None:
    settings = parse_credentials(
        {"api_key": "Y2xpZW50OnNlY3JldA==", "base_url": "http://h:1/api/v1", "auth_url": "http://h:1/api/v2/oauth"}
    )
    oauth = exception("failed", request=httpx.Request("POST", "http://h:1/api/v2/oauth"))
    chat = exception("failed", request=httpx.Request("POST", "http://h:1/api/v1/chat/completions"))
    assert isinstance(invoke_error(oauth, settings), InvokeConnectionError)
    assert str(invoke_error(oauth, settings)).startswith("[gigachat] Authentication at h:1")
    assert str(invoke_error(chat, settings)).startswith("[gigachat] The request to GigaChat")
