"""models/llm/wire_v1.py: neutral turns -> v1 messages, v1 answers -> neutral Deltas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dify_plugin.entities.model.message import UserPromptMessage
from gigachat.models.chat import ChatCompletion, ChatCompletionChunk

from models.llm import chat, wire_v1
from models.llm.exchange import ChatRequest, Delta, FunctionCall, Turn, Usage
from models.llm.tools import ToolNames, wire_name

NAMES = ToolNames.of(["get_weather", "web_search"])
WEATHER = FunctionCall("get_weather", {"city": "Moscow"})


@pytest.mark.parametrize(
    ("turn", "message"),
    [
        pytest.param(Turn("user", "Hi"), {"role": "user", "content": "Hi"}, id="text"),
        pytest.param(Turn("user", "Look", attachments=("file-1",)),
                     {"role": "user", "content": "Look", "attachments": ["file-1"]}, id="attachments"),
        pytest.param(Turn("assistant", "", function_call=WEATHER, state_id="s-7"),
                     {"role": "assistant", "content": "", "function_call": {"name": "get_weather",
                      "arguments": {"city": "Moscow"}}, "functions_state_id": "s-7"}, id="a-call-with-its-state"),
        pytest.param(Turn("tool", '{"t": 20}', name="get_weather", state_id="s-7"),
                     {"role": "function", "content": '{"t": 20}', "name": "get_weather"},
                     id="a-result-as-role-function-the-state-on-its-call-only"),
        pytest.param(Turn("tool", '{"hits": 1}', name="web_search"),
                     {"role": "function", "content": '{"hits": 1}', "name": wire_name("web_search")},
                     id="a-renamed-tool-under-its-wire-name"),
    ],
)  # fmt: skip
def test_a_turn_becomes_one_v1_message(turn: Turn, message: dict) -> None:
    assert wire_v1.message_dict(turn, NAMES) == message


def test_a_function_call_answer_becomes_one_delta_with_the_dify_name_state_and_usage() -> None:
    answer = ChatCompletion.model_validate(
        {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": "",
                        "function_call": {"name": wire_name("web_search"), "arguments": {"query": "news"}},
                        "functions_state_id": "s-9",
                    },
                    "index": 0,
                    "finish_reason": "function_call",
                }
            ],
            "created": 1,
            "model": "GigaChat-2:2.0",
            "object": "chat.completion",
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8, "precached_prompt_tokens": 2},
        }
    )
    assert wire_v1.from_completion(answer, NAMES) == Delta(
        function_call=FunctionCall("web_search", {"query": "news"}),
        state_id="s-9",
        finish_reason="function_call",
        usage=Usage(input_tokens=5, output_tokens=3),
    )


@pytest.mark.parametrize(
    ("chunk", "delta"),
    [
        pytest.param({"choices": [{"delta": {"content": "Hi"}, "index": 0}]}, Delta(text="Hi"), id="text"),
        pytest.param({"choices": [{"delta": {"reasoning_content": "hmm"}, "index": 0}]}, Delta(reasoning="hmm"),
                     id="reasoning"),
        pytest.param({"choices": [{"delta": {"content": ""}, "index": 0, "finish_reason": "stop"}],
                      "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}},
                     Delta(finish_reason="stop", usage=Usage(4, 1)), id="the-last-piece"),
        pytest.param({"choices": []}, Delta(), id="no-choice"),
        # Sber's OpenAPI: while a built-in function runs, `content` is the time it has left, not answer text.
        pytest.param({"choices": [{"delta": {"role": "function_in_progress", "content": "Осталось 5 секунд",
                                             "name": "text2image", "created": 1}, "index": 0}]},
                     Delta(), id="progress-of-a-built-in-function"),
    ],
)  # fmt: skip
def test_a_streamed_chunk_becomes_one_delta(chunk: dict, delta: Delta) -> None:
    parsed = ChatCompletionChunk.model_validate(
        {"created": 1, "model": "GigaChat-2", "object": "chat.completion", **chunk}
    )
    assert wire_v1.from_chunk(parsed, NAMES) == delta


class _StreamingClient:
    """Streams two chunks, recording whether the SDK's stream was closed."""

    def __init__(self) -> None:
        self.closed = False

    def stream(self, payload: object) -> Iterator[ChatCompletionChunk]:
        try:
            for text in ("Hel", "lo"):
                yield ChatCompletionChunk.model_validate(
                    {
                        "choices": [{"delta": {"content": text}, "index": 0}],
                        "created": 1,
                        "model": "GigaChat-2",
                        "object": "chat.completion",
                    }
                )
        finally:
            self.closed = True


def test_closing_the_stream_of_deltas_closes_the_sdks_stream() -> None:
    client = _StreamingClient()
    request = chat.build_request("GigaChat-2", [UserPromptMessage(content="Hi")], {}, None)
    deltas = wire_v1.stream(client, request)  # type: ignore[arg-type]
    assert next(deltas) == Delta(text="Hel")
    deltas.close()  # type: ignore[attr-defined]
    assert client.closed


def test_generation_fields_functions_and_formats_travel_untyped_beside_the_messages() -> None:
    request = ChatRequest(
        model="GigaChat-2",
        turns=[Turn("user", "Hi")],
        fields={"temperature": 0.5},
        functions=[{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}],
        function_call="auto",
        response_format=None,
        names=NAMES,
    )
    sent = wire_v1.payload(request)
    assert sent.model == "GigaChat-2"
    assert sent.additional_fields == {
        "temperature": 0.5,
        "functions": [{"name": "get_weather", "parameters": {"type": "object", "properties": {}}}],
        "function_call": "auto",
    }


# ---- images GigaChat's built-in text2image made ------------------------------------------------------------------

IMAGE_ID = "b3a1c9d2-7e4f-4a8b-9c6d-1e2f3a4b5c6d"
TAG = f'<img src="{IMAGE_ID}" fuse="true"/>'  # Sber's "Создание изображений" page shows this tag in the answer


class _ScriptedClient:
    """Streams the given content pieces, the last one with finish_reason stop."""

    def __init__(self, pieces: list[str]) -> None:
        self.pieces = pieces

    def stream(self, payload: object) -> Iterator[ChatCompletionChunk]:
        for index, text in enumerate(self.pieces):
            choice = {"delta": {"content": text}, "index": 0}
            if index == len(self.pieces) - 1:
                choice["finish_reason"] = "stop"
            yield ChatCompletionChunk.model_validate(
                {"choices": [choice], "created": 1, "model": "GigaChat-2", "object": "chat.completion"}
            )


def streamed(pieces: list[str]) -> list[Delta]:
    request = chat.build_request("GigaChat-2", [UserPromptMessage(content="Нарисуй кота")], {}, None)
    return list(wire_v1.stream(_ScriptedClient(pieces), request))  # type: ignore[arg-type]


def test_a_blocking_answer_s_image_tag_becomes_a_generated_image_id_and_leaves_the_text() -> None:
    answer = ChatCompletion.model_validate(
        {
            "choices": [
                {
                    "message": {"role": "assistant", "content": f"Запускаю генерацию изображения. {TAG} Готово."},
                    "index": 0,
                    "finish_reason": "stop",
                }
            ],
            "created": 1,
            "model": "GigaChat-2:2.0",
            "object": "chat.completion",
            "usage": {"prompt_tokens": 5, "completion_tokens": 30, "total_tokens": 35},
        }
    )
    delta = wire_v1.from_completion(answer, NAMES)
    assert (delta.text, delta.generated_images) == ("Запускаю генерацию изображения.  Готово.", (IMAGE_ID,))


@pytest.mark.parametrize("cut", range(1, len(TAG)))
def test_an_image_tag_cut_anywhere_across_stream_pieces_never_shows_as_text(cut: int) -> None:
    content = f"Вот он: {TAG} — кот."
    at = len("Вот он: ") + cut
    deltas = streamed([content[:at], content[at:]])
    assert "".join(d.text for d in deltas) == "Вот он:  — кот."
    assert [i for d in deltas for i in d.generated_images] == [IMAGE_ID]
    assert deltas[-1].finish_reason == "stop"


@pytest.mark.parametrize(
    ("pieces", "texts"),
    [
        pytest.param(["a < b", " and c"], ["a < b", " and c"], id="a-less-than-sign-is-not-held"),
        pytest.param(["x <", "y"], ["x ", "<y"], id="a-bare-angle-bracket-waits-one-piece"),
        pytest.param(['<img src="a.png"/> html'], ['<img src="a.png"/> html'], id="an-img-without-fuse-is-text"),
        pytest.param(["the end <im"], ["the end <im"], id="a-held-tail-is-released-at-the-finish"),
    ],
)  # fmt: skip
def test_text_that_is_no_image_tag_passes_through(pieces: list[str], texts: list[str]) -> None:
    deltas = streamed(pieces)
    assert [d.text for d in deltas] == texts
    assert all(d.generated_images == () for d in deltas)


def test_two_image_tags_in_one_answer_give_two_ids_in_order() -> None:
    deltas = streamed([f"Первый {TAG}, второй ", TAG.replace(IMAGE_ID, "second-id")])
    assert [i for d in deltas for i in d.generated_images] == [IMAGE_ID, "second-id"]
