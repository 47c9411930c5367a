"""Real GigaChat answer shapes, replayed byte for byte through the packaged plugin (tests/recorded_shapes.py says
where each shape comes from; devkit/emulator/raw.py writes the bytes)."""

from __future__ import annotations

import json

import pytest

from devkit.emulator import RawAnswer
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from tests import recorded_shapes as shapes
from tests.file_samples import JPEG, b64
from tests.tables import table

pytestmark = pytest.mark.e2e
MODEL = "GigaChat-2-Max"
RECORDED = RawAnswer.sse(shapes.stream_2026())


def chat(plugin, creds, messages=None, parameters=None, tools=None, stream=True):
    request = m.invoke_llm(PROVIDER, MODEL, creds, messages or [m.user("Посчитай до трёх")], parameters, tools, None,
                           stream)  # fmt: skip
    return plugin.request(request)


# ---- streams --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer",),
    **table(
        ("as-recorded", RECORDED),
        ("1-byte-pieces", RECORDED.pieces_of(1)),
        ("7-byte-pieces", RECORDED.pieces_of(7)),
        ("crlf", RawAnswer.sse(shapes.stream_2026(), newline="\r\n")),
        ("comment-lines", RawAnswer.sse(shapes.stream_2026(), comment="keep-alive")),
        ("data-without-space", RawAnswer.sse(shapes.stream_2026(), space=False)),
        ("without-done", RawAnswer.sse(shapes.stream_2026(), done=False)),
    ),
)
def test_a_recorded_v1_stream_in_any_framing_gives_the_same_answer_and_gigachat_s_usage(plugin, emu, creds, answer):
    emu.replay(answer)
    reply = chat(plugin, creds)
    assert reply.error is None
    assert reply.text == "".join(shapes.STREAM_PIECES)
    assert (reply.usage["prompt_tokens"], reply.usage["completion_tokens"]) == (19, 31)
    assert reply.finish_reason == "stop"


def test_a_2023_stream_with_a_leading_blank_line_and_no_usage_gets_an_estimate_never_zero(plugin, emu, creds):
    emu.replay(RawAnswer.sse(shapes.stream_2023(), leading_blank=True))
    reply = chat(plugin, creds)
    assert reply.error is None
    assert reply.text == "Здравствуйте! Чем могу помочь?"
    assert reply.usage["prompt_tokens"] > 0 and reply.usage["completion_tokens"] > 0
    assert reply.finish_reason == "stop"


# ---- blocking answers ---------------------------------------------------------------------------------------------


def test_a_plural_object_pretty_printed_json_answer_to_a_json_schema_request_is_kept_as_sent(plugin, emu, creds):
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "population": {"type": "integer"}}}
    parameters = {"response_format": "json_schema", "json_schema": json.dumps({"schema": schema, "name": "r"})}
    emu.replay(RawAnswer.json(shapes.json_schema_completion()))
    reply = chat(plugin, creds, parameters=parameters, stream=False)
    assert reply.error is None
    assert emu.chat_requests[0]["response_format"]["type"] == "json_schema"
    assert reply.text == shapes.JSON_DOCUMENT
    assert (reply.usage["prompt_tokens"], reply.usage["completion_tokens"]) == (26, 19)


def test_the_documented_function_call_with_cyrillic_arguments_becomes_one_dify_tool_call(plugin, emu, creds):
    parameters = {"type": "object", "properties": {"location": {"type": "string"}, "num_days": {"type": "integer"}}}
    emu.replay(RawAnswer.json(shapes.function_call_completion()))
    reply = chat(plugin, creds, tools=[m.tool_def("fc", "Weather forecast", parameters)], stream=False)
    assert reply.error is None
    [call] = reply.tool_calls
    assert call["function"]["name"] == "fc"
    assert call["function"]["arguments"] == json.dumps(shapes.FUNCTION_ARGUMENTS, ensure_ascii=False)
    assert call["id"].startswith("call_") and "_fs_" not in call["id"]  # no state id was sent, none is invented
    assert (reply.usage["prompt_tokens"], reply.usage["completion_tokens"]) == (120, 18)


@pytest.mark.parametrize("stream", [False, True], ids=["blocking", "streamed"])
def test_the_recorded_404_is_a_bad_request_naming_gigachat_s_message_and_request_id(plugin, emu, creds, stream):
    emu.replay(RawAnswer.json(shapes.NOT_FOUND, status=404, **{"X-Request-Id": shapes.REQUEST_ID}))
    reply = chat(plugin, creds, stream=stream)
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "No such model" in reply.error["message"]
    assert shapes.REQUEST_ID in reply.error["message"]  # for Sber's support
    assert len(emu.chat_requests) == 1  # a 404 is not retried


# ---- embeddings, models, files --------------------------------------------------------------------------------------


def test_an_embeddings_answer_with_usage_per_item_only_is_counted_per_item(plugin, emu, creds):
    emu.replay(RawAnswer.json(shapes.embeddings([7, 9])), path="/embeddings")
    reply = plugin.request(m.invoke_embedding(PROVIDER, "Embeddings", creds, ["Первый текст", "Второй текст"]))
    assert reply.error is None
    result = reply.chunks[0]
    assert [len(vector) for vector in result["embeddings"]] == [1024, 1024]
    assert result["usage"]["tokens"] == 16


def test_a_models_list_with_filter_and_aicheck_models_validates_credentials(plugin, emu, creds):
    emu.replay(RawAnswer.json(shapes.models_list()), path="/models", times=2)
    assert plugin.request(m.validate_provider_credentials(PROVIDER, creds)).chunks[0]["result"] is True
    refused = plugin.request(m.validate_model_credentials(PROVIDER, "llm", "GigaChat-2-Ultra", creds))
    assert refused.error["error_type"] == "CredentialsValidateFailedError"
    assert "GigaChat-2-Max" in refused.error["message"]


def test_an_upload_answer_without_access_policy_is_accepted_and_the_file_deleted(plugin, emu, creds):
    file_id = "5f0c2a9e-3b1d-4c7e-8a6f-9d2e1b4c7a30"
    emu.replay(RawAnswer.json(shapes.uploaded_without_access_policy(file_id, len(JPEG), "photo.jpg")), path="/files")
    emu.replay(RECORDED)
    photo = m.image_part(base64_data=b64(JPEG), mime_type="image/jpeg", filename="photo.jpg")
    reply = chat(plugin, creds, [m.user([m.text_part("Что на фото?"), photo])])
    assert reply.error is None
    assert emu.chat_requests[0]["messages"][-1]["attachments"] == [file_id]
    assert any(r.path.endswith(f"/files/{file_id}/delete") for r in emu.requests)


# ---- behaviour the recordings call for ------------------------------------------------------------------------------


def test_usage_sent_twice_is_never_taken_from_the_later_smaller_report(plugin, emu, creds):
    emu.replay(RawAnswer.sse(shapes.usage_twice()))
    reply = chat(plugin, creds)
    assert reply.text == "Первая часть ответа, и вторая."
    assert (reply.usage["prompt_tokens"], reply.usage["completion_tokens"]) == (64, 23)


def test_progress_of_a_built_in_function_is_not_answer_text(plugin, emu, creds):
    events = [*shapes.function_in_progress(["Осталось 9 секунд", "Осталось 2 секунды"]), *shapes.stream_2026()]
    emu.replay(RawAnswer.sse(events))
    reply = chat(plugin, creds)
    assert reply.error is None
    assert reply.text == "".join(shapes.STREAM_PIECES)
