"""The emulator's v2 chat protocol and its new-host layout, specified through the real `gigachat` SDK
(`client.chat.create` / `client.chat.stream`), and raw httpx where the exact bytes matter."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from gigachat import exceptions as gx

from devkit.emulator import Fault, GigaChatEmulator, Reply
from devkit.emulator.client import make_client
from devkit.emulator.rules import LISTED_MODELS
from devkit.emulator.v2 import Recorded, legacy_view
from tests import v2_recordings as recorded
from tests.devkit.sdk_helpers import collect

pytestmark = [pytest.mark.devkit, pytest.mark.usefixtures("clean_gigachat_env")]
ULTRA = "GigaChat-3-Ultra"
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}


@pytest.fixture
def emu() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emulator:
        yield emulator


def body(*messages: dict, **fields: object) -> dict:
    return {"model": ULTRA, "messages": list(messages), **fields}


def user(text: str) -> dict:
    return {"role": "user", "content": [{"text": text}]}


def raw(emu: GigaChatEmulator, payload: object, stream: bool = False) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emu.issue_access_token()}"}
    data = {**payload, "stream": True} if stream and isinstance(payload, dict) else payload
    return httpx.post(emu.new_host_base_url.replace("/v1", "/v2/chat/completions"), json=data, headers=headers)


def test_a_blocking_answer_has_the_recorded_keys_in_the_recorded_order(emu):
    answer = raw(emu, body(user("Say hi"))).json()
    assert list(answer) == list(recorded.SIMPLE)
    assert answer["model"] == f"{ULTRA}:2.0.28.2" and isinstance(answer["created_at"], int)
    assert answer["messages"] == [{"role": "assistant", "content": [{"text": "Echo: Say hi"}]}]
    assert list(answer["usage"]) == list(recorded.SIMPLE["usage"])
    assert answer["usage"]["input_tokens_details"] == {"prompt_tokens": 2, "cached_tokens": 0}


def test_a_stream_is_named_events_ending_with_done_and_no_done_marker(emu):
    emu.script(Reply(text=["1, ", "2, 3"]))
    frames = raw(emu, body(user("Count")), stream=True).text.split("\n\n")
    assert frames[-1] == ""
    names = [frame.split("\n")[0] for frame in frames[:-1]]
    assert names == ["event: response.message.delta"] * 2 + ["event: response.message.done"]
    done = json.loads(frames[-2].split("\n")[1].removeprefix("data: "))
    assert list(done) == list(recorded.STREAM[1][1]) and "messages" not in done
    assert all(", " not in frame.split("data: ")[1][:20] for frame in frames[:-1])  # compact JSON, as recorded


def test_a_function_call_carries_tool_state_id_which_the_sdk_reads_as_tools_state_id(emu):
    client = make_client(emu, base_url=emu.new_host_base_url)
    request = body(user("Weather?"), tools=[{"functions": {"specifications": [WEATHER]}}])
    emu.script(Reply(function_call=("get_weather", {"city": "Kazan"}), functions_state_id="state-1"))
    answer = client.chat.create(request)
    [message] = answer.messages
    assert (message.tools_state_id, answer.finish_reason) == ("state-1", "function_call")
    assert message.content[0].function_call.arguments == {"city": "Kazan"}
    emu.script(Reply(function_call=("get_weather", {"city": "Sochi"}), functions_state_id="state-2"))
    *_, done = client.chat.stream(request)
    assert (done.event, done.finish_reason, done.messages[0].tools_state_id) == (
        "response.message.done", "function_call", "state-2"
    )  # fmt: skip


def test_the_call_and_its_result_go_back_with_tools_state_id_and_are_checked_as_a_pair(emu):
    client = make_client(emu, base_url=emu.new_host_base_url)
    call = {"role": "assistant", "tools_state_id": "s", "content": [{"function_call": {"name": "get_weather",
            "arguments": {"city": "Kazan"}}}]}  # fmt: skip
    result = {"role": "tool", "tools_state_id": "s", "content": [{"function_result": {"name": "get_weather",
              "result": {"t": 20}}}]}  # fmt: skip
    tools = [{"functions": {"specifications": [WEATHER]}}]
    assert client.chat.create(body(user("Weather?"), call, result, tools=tools)).finish_reason == "stop"
    with pytest.raises(gx.UnprocessableEntityError) as caught:
        client.chat.create(body(user("Weather?"), call, tools=tools))
    assert json.loads(caught.value.content)["message"].startswith("Invalid params: function call 'get_weather'")


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        pytest.param(body(user("hi")) | {"model": "GigaChat-3-Nope"}, 404, "No such model", id="unknown-model"),
        pytest.param(body({"role": "user", "content": "plain text"}), 422,
                     "Invalid params: messages[0].content must be a non-empty array of parts", id="string-content"),
        pytest.param(body({"role": "user", "content": [{"text": "a", "files": []}]}), 422,
                     "Invalid params: messages[0].content[0] must hold one known part", id="two-kinds-in-one-part"),
        pytest.param(body({"role": "moderator", "content": [{"text": "a"}]}), 400,
                     "Your request contains invalid JSON syntax.", id="unknown-role"),
        pytest.param(body(user("hi"), model_options={"temperature": 0}), 422,
                     "Invalid params: temperature must be greater than 0", id="temperature-zero"),
    ],
)  # fmt: skip
def test_requests_gigachat_refuses_get_its_status_and_message(emu, payload, status, message):
    response = raw(emu, payload)
    assert (response.status_code, response.json()) == (status, {"status": status, "message": message})


def test_role_tool_can_be_refused_as_a_live_host_did_and_role_function_is_accepted(emu):
    emu.v2_refuses_role_tool = True
    call = {"role": "assistant", "content": [{"function_call": {"name": "get_weather", "arguments": {}}}]}
    for role, status in (("tool", 400), ("function", 200)):
        result = {"role": role, "content": [{"function_result": {"name": "get_weather", "result": {"t": 1}}}]}
        response = raw(emu, body(user("Weather?"), call, result, tools=[{"functions": {"specifications": [WEATHER]}}]))
        assert response.status_code == status


def test_the_legacy_view_reads_every_part_kind(emu):
    request = body(
        {"role": "system", "content": [{"text": "Be brief."}]},
        {"role": "user", "content": [{"text": "Look"}, {"files": [{"id": "f-1"}]}]},
        {"role": "assistant", "tools_state_id": "s", "content": [{"function_call": {"name": "f", "arguments": {}}}]},
        {"role": "tool", "tools_state_id": "s", "content": [{"function_result": {"name": "f", "result": [1]}}]},
        model_options={"top_p": 0.0, "reasoning": {"effort": "high"}},
        tools=[{"functions": {"specifications": [WEATHER]}}],
        tool_config={"mode": "forced", "function_name": "get_weather"},
    )
    assert legacy_view(request) == {
        "model": ULTRA,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Look", "attachments": ["f-1"]},
            {"role": "assistant", "content": "", "function_call": {"name": "f", "arguments": {}},
             "functions_state_id": "s"},
            {"role": "function", "content": "[1]", "name": "f", "functions_state_id": "s"},
        ],
        "reasoning_effort": "high",
        "top_p": 0.0,
        "functions": [WEATHER],
        "function_call": {"name": "get_weather"},
    }  # fmt: skip


def test_a_recorded_answer_is_replayed_byte_for_byte(emu):
    emu.script(Recorded(recorded.sse(recorded.STREAM), "text/event-stream"))
    response = raw(emu, {"not": "even a request"}, stream=True)
    assert response.content == recorded.sse(recorded.STREAM)


def test_an_unknown_event_and_a_malformed_event_break_into_a_v2_stream(emu):
    client = make_client(emu, base_url=emu.new_host_base_url)
    emu.inject(Fault.unknown_event(after_chunks=1))
    chunks = list(client.chat.stream(body(user("one two"))))
    assert [chunk.event for chunk in chunks][1] == "response.unheard_of"
    emu.inject(Fault.malformed_event(after_chunks=1))
    received, error = collect(client.chat.stream(body(user("one two"))))
    assert len(received) == 1 and error is not None


def test_the_new_host_serves_the_api_under_v1_without_a_token_endpoint(emu):
    client = make_client(emu, base_url=emu.new_host_base_url)
    assert [m.id_ for m in client.get_models().data] == list(LISTED_MODELS)
    emu.add_user("alice", "pw")
    assert httpx.post(emu.new_host_base_url + "/token", auth=("alice", "pw")).status_code == 404
    assert httpx.post(emu.base_url + "/token", auth=("alice", "pw")).status_code == 200


def test_the_model_list_carries_the_recorded_types(emu):
    listed = httpx.get(emu.base_url + "/models", headers={"Authorization": f"Bearer {emu.issue_access_token()}"})
    types = {item["id"]: item["type"] for item in listed.json()["data"]}
    assert (types["GigaFilter"], types["GigaCheckDetection"], types["EmbeddingsGigaR"], types[ULTRA]) == (
        "filter", "aicheck", "embedder", "chat"
    )  # fmt: skip
    assert set(types.values()) == {"chat", "filter", "aicheck", "embedder"}
