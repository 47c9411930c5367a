"""The emulator's built-in tools (devkit/emulator/builtin.py), through the real `gigachat` SDK and raw httpx: answers in
the recorded shapes, only to requests that enabled the tool, the live host's refusals, and streams with progress."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest

from devkit.emulator import GigaChatEmulator, Reply, ToolAnswer
from devkit.emulator.builtin import DEFAULT_SOURCES, JPEG
from devkit.emulator.client import make_client
from tests import v2_recordings as recorded

pytestmark = [pytest.mark.devkit, pytest.mark.usefixtures("clean_gigachat_env")]
ULTRA = "GigaChat-3-Ultra"
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}
FUNCTIONS = {"functions": {"specifications": [WEATHER]}}


@pytest.fixture
def emu() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emulator:
        yield emulator


def body(text: str, *tools: str, model: str = ULTRA, **fields: object) -> dict:
    entries = [{tool: {}} if tool != "functions" else FUNCTIONS for tool in tools]
    return {"model": model, "messages": [{"role": "user", "content": [{"text": text}]}], "tools": entries, **fields}


def post(emu: GigaChatEmulator, payload: dict, stream: bool = False) -> httpx.Response:
    headers = {"Authorization": f"Bearer {emu.issue_access_token()}"}
    data = {**payload, "stream": True} if stream else payload
    return httpx.post(emu.new_host_base_url.replace("/v1", "/v2/chat/completions"), json=data, headers=headers)


def events(response: httpx.Response) -> list[tuple[str, dict]]:
    frames = [frame.split("\n") for frame in response.text.split("\n\n") if frame]
    return [(name.removeprefix("event: "), json.loads(data.removeprefix("data: "))) for name, data in frames]


@pytest.mark.parametrize(
    ("tool", "recording"),
    [("web_search", recorded.WEB_SEARCH), ("code_interpreter", recorded.CODE_INTERPRETER),
     ("url_content_extraction", recorded.URL_CONTENT), ("image_generate", recorded.IMAGE)],
)  # fmt: skip
def test_a_built_in_answer_has_the_recorded_keys_and_parts(emu, tool, recording):
    answer = post(emu, body("What is new in Python?", tool)).json()
    assert list(answer) == list(recording)
    [message], [recorded_message] = answer["messages"], recording["messages"]
    assert list(message) == list(recorded_message)
    assert [list(part) for part in message["content"]] == [list(part) for part in recorded_message["content"]]
    assert answer["finish_reason"] == "stop"


def test_web_search_cites_with_markers_and_names_its_pages_on_the_text_part(emu):
    [part] = post(emu, body("Python news", "web_search")).json()["messages"][0]["content"]
    assert "[sources=[2]]." in part["text"]
    assert part["inline_data"] == {"images": [], "sources": DEFAULT_SOURCES}


def test_a_generated_image_is_stored_for_download_and_deletion_and_named_before_the_text(emu):
    files, text = post(emu, body("Draw a cat", "image_generate")).json()["messages"][0]["content"]
    [file] = files["files"]
    assert (file["mime"], file["target"], text) == ("image/jpeg", "image", {"text": "The image is ready."})
    assert emu.generated_files == [file["id"]]
    client = make_client(emu, base_url=emu.new_host_base_url)
    assert base64.b64decode(client.get_image(file["id"]).content) == JPEG
    client.delete_file(file["id"])
    assert emu.live_files() == set()


def test_url_reading_reads_the_page_the_prompt_names(emu):
    [part] = post(emu, body("Summarise https://example.com/a please", "url_content_extraction")).json()["messages"][0][
        "content"
    ]
    assert part["text"].startswith("Read https://example.com/a:")


def test_a_built_in_answer_is_given_only_to_a_request_that_enabled_the_tool(emu):
    emu.script(ToolAnswer("web_search", "Searched [sources=[1]].", sources={"1": {"url": "https://example.com"}}))
    answer = post(emu, body("hi", "code_interpreter")).json()
    assert answer["messages"][0]["content"] == [{"text": "Ran code for: hi. The result is 42."}]
    assert post(emu, body("hi")).json()["messages"][0]["content"] == [{"text": "Echo: hi"}]  # the script is used up


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(body("hi", "functions", "web_search", tool_config={"mode": "forced", "function_name":
                          "get_weather"}), "function_call", id="a-forced-function"),
        pytest.param(body("hi", "functions", "web_search", tool_config={"mode": "none"}), "Echo: hi", id="mode-none"),
        pytest.param(body("hi", "code_interpreter", "web_search", tool_config={"mode": "forced",
                          "tool_name": "web_search"}), "Found on the web", id="a-forced-tool"),
        pytest.param(body("hi", "code_interpreter", "web_search"), "Ran code", id="the-first-enabled-tool"),
    ],
)  # fmt: skip
def test_which_answer_the_tool_config_leads_to(emu, payload, expected):
    answer = post(emu, payload).json()
    content = answer["messages"][0]["content"]
    said = answer["finish_reason"] if "function_call" in content[0] else content[0]["text"]
    assert said.startswith(expected)


def test_a_scripted_function_call_wins_over_the_built_in_tools(emu):
    emu.script(Reply(function_call=("get_weather", {"city": "Omsk"})))
    answer = post(emu, body("hi", "functions", "web_search", tool_config={"mode": "auto"})).json()
    assert answer["finish_reason"] == "function_call"


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        pytest.param(body("hi", "url_extraction"), 404, "Unknown tool url_extraction", id="unknown-tool"),
        pytest.param(body("hi", "code_interpreter", model="GigaChat-2-Max"), 422,
                     "Tool code_interpreter is unavailable", id="a-tool-the-model-lacks"),
        pytest.param(body("hi", "model_3d_generate"), 422, "Tool model_3d_generate is unavailable",
                     id="a-known-tool-no-model-offers-here"),
        pytest.param(body("hi", "web_search", tool_config={"mode": "forced", "tool_name": "image_generate"}), 422,
                     "Invalid params: tool_config.tool_name 'image_generate' is not among the request's tools",
                     id="forcing-a-tool-not-sent"),
        pytest.param(body("hi", "web_search", tool_config={"mode": "sometimes"}), 422,
                     "Invalid params: tool_config.mode must be auto, none or forced", id="an-unknown-mode"),
    ],
)  # fmt: skip
def test_tools_gigachat_refuses_get_the_live_hosts_status_and_message(emu, payload, status, message):
    response = post(emu, payload)
    assert (response.status_code, response.json()) == (status, {"status": status, "message": message})


def test_which_model_offers_which_tool_is_a_knob(emu):
    assert post(emu, body("hi", "web_search", model="GigaChat-2-Max")).status_code == 200
    emu.builtin_tools_by_model["GigaChat-2-Max"] = frozenset()
    assert post(emu, body("hi", "web_search", model="GigaChat-2-Max")).status_code == 422


def test_a_streamed_built_in_answer_reports_progress_then_the_pieces_with_sources_on_the_last(emu):
    emu.script(ToolAnswer("web_search", ["Fast [sour", "ces=[2]]. ", "More."], sources={"2": {"title": "T"}}))
    streamed = events(post(emu, body("q", "web_search"), stream=True))
    assert [name for name, _ in streamed] == [
        "response.tool.in_progress", "response.tool.completed", *["response.message.delta"] * 3,
        "response.message.done",
    ]  # fmt: skip
    executions = [data["messages"][0]["content"][0]["tool_execution"] for _, data in streamed[:2]]
    assert executions == [{"name": "web_search"}, {"name": "web_search", "status": "success", "censored": False}]
    parts = [data["messages"][0]["content"] for _, data in streamed[2:5]]
    assert [part[0]["text"] for part in parts] == ["Fast [sour", "ces=[2]]. ", "More."]
    assert ["inline_data" in part[0] for part in parts] == [False, False, True]
    assert list(streamed[-1][1]) == list(recorded.STREAM[1][1])


def test_a_streamed_image_is_named_on_the_first_piece_and_the_sdk_reads_every_event(emu):
    client = make_client(emu, base_url=emu.new_host_base_url)
    chunks = list(client.chat.stream(body("Draw", "image_generate")))
    first = next(chunk for chunk in chunks if chunk.event == "response.message.delta")
    [file] = first.messages[0].content[0].files
    assert (file.target, file.id_) == ("image", emu.generated_files[0])
    assert chunks[-1].finish_reason == "stop"
