"""models/common/request_check.py: a request dify_plugin cannot parse ends in one typed error that names the fields
and quotes nothing; every other request reaches the plugin unchanged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from dify_plugin.errors.model import InvokeBadRequestError, InvokeConnectionError

from devkit.harness import messages as m
from models.common.errors import invoke_error
from models.common.request_check import check_request, reject_malformed_requests
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
        self.seen: list[dict] = []

    def dispatch(self, session: object, data: dict) -> str:
        self.seen.append(data)
        return "dispatched"


def test_the_hook_dispatches_good_requests_and_stops_malformed_ones_before_dispatch() -> None:
    plugin = reject_malformed_requests(FakePlugin())
    assert plugin.dispatch(None, llm()) == "dispatched"
    with pytest.raises(InvokeBadRequestError):
        plugin.dispatch(None, llm(prompt_messages=[raw("robot", "x")]))
    assert len(plugin.seen) == 1


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
