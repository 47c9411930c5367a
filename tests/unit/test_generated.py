"""models/llm/generated.py against the GigaChat emulator: an image GigaChat generated is deleted from its storage
however the request ends (completed, failed, abandoned between any two chunks), and what can't reach Dify is a typed
error that says why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dify_plugin.entities.model.llm import LLMUsage
from dify_plugin.entities.model.message import ImagePromptMessageContent, TextPromptMessageContent, UserPromptMessage
from dify_plugin.errors.model import InvokeBadRequestError, InvokeConnectionError, InvokeServerUnavailableError

from devkit.emulator import Fault, GigaChatEmulator, RawAnswer, ToolAnswer, UploadedFile
from devkit.emulator.raw import SSE
from models.common.settings import parse_credentials
from models.llm import chat
from models.llm.generated import MAX_BASE64_CHARS, MAX_GENERATED_FILES, MAX_IMAGE_BYTES, message_content
from tests import recorded_shapes as shapes
from tests import v2_recordings as recorded
from tests.file_samples import GIF, JPEG, PDF, b64

MODEL = "GigaChat-2-Max"
IMAGE_ID = "e6b3a4f5-7c8d-4e9f-a0b1-2c3d4e5f6a70"
DRAWN = ["Рисую. " + shapes.image_markup(IMAGE_ID), " Готово.", " Ещё текст."]


@pytest.fixture
def emu() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emulator:
        emulator.files[IMAGE_ID] = UploadedFile("image.jpg", "image/jpeg", JPEG, "general")
        yield emulator


def invoke(emu: GigaChatEmulator, stream: bool = True, model: str = MODEL, parameters: dict | None = None):
    settings = parse_credentials(
        {"api_key": emu.credentials(), "base_url": emu.base_url, "auth_url": emu.auth_url, "prompt_caching": "false"}
    )
    request = chat.build_request(model, [UserPromptMessage(content="Нарисуй кота")], parameters or {}, None)
    return chat.generate(settings, request, None, stream, None, lambda _in, _out: LLMUsage.empty_usage())


def is_image(chunk) -> bool:
    return isinstance(chunk.delta.message.content, list)


@pytest.mark.parametrize("read", [1, 2, 3], ids=["after-the-text-naming-it", "after-the-image", "after-more-text"])
def test_a_stream_abandoned_after_any_chunk_deletes_the_generated_image_when_closed(emu, read):
    emu.replay(RawAnswer.sse(shapes.stream_2026(DRAWN)))
    chunks = invoke(emu)
    seen = [next(chunks) for _ in range(read)]
    assert [is_image(chunk) for chunk in seen] == [False, True, False][:read]
    chunks.close()  # what a consumer that stops reading does to a generator
    assert emu.deleted_files == [IMAGE_ID]


@pytest.mark.parametrize("read", [1, 2, 3, 4], ids=["after-the-first-text", "after-the-image", "more", "the-rest"])
def test_a_v2_image_stream_abandoned_after_any_chunk_deletes_the_image_when_closed(emu, read):
    """GigaChat 3's built-in image generation (v2): a `files` part with target `image` on the first piece."""
    emu.script(ToolAnswer("image_generate", ["Рисую. ", "Готово.", " Ещё."], image=JPEG))
    chunks = invoke(emu, model="GigaChat-3-Ultra", parameters={"image_generate": True})
    seen = [next(chunks) for _ in range(read)]
    assert [is_image(chunk) for chunk in seen] == [False, True, False, False][:read]
    chunks.close()
    assert len(emu.generated_files) == 1 and emu.live_files() == {IMAGE_ID}  # the v1 test image alone is left


def test_a_stream_that_fails_after_naming_an_image_deletes_it(emu):
    emu.replay(RawAnswer.sse(shapes.stream_2026(DRAWN)[:2]))  # cut: no finish reason follows
    with pytest.raises(InvokeConnectionError, match="ended before the answer was complete"):
        list(invoke(emu))
    assert emu.deleted_files == [IMAGE_ID]


def test_a_download_that_keeps_failing_is_a_typed_error_after_retries_and_the_image_is_deleted(emu):
    emu.replay(RawAnswer.sse(shapes.stream_2026(DRAWN)))
    emu.inject(Fault.status(503, headers={"Retry-After": "0.01"}), path="/content", times=3)
    with pytest.raises(InvokeServerUnavailableError, match="downloading the image GigaChat generated failed"):
        list(invoke(emu))
    assert sum(r.path.endswith("/content") for r in emu.requests) == 3
    assert emu.deleted_files == [IMAGE_ID]


@pytest.mark.parametrize(("data", "shown"), [(GIF, "image/gif"), (PDF, None)], ids=["a-gif", "a-pdf"])
def test_a_generated_file_dify_can_t_show_as_an_image_is_refused(emu, data, shown):
    emu.files[IMAGE_ID] = UploadedFile("image.jpg", "image/jpeg", data, "general")
    emu.replay(RawAnswer.json(shapes.text_completion("".join(DRAWN))))
    if shown is None:
        with pytest.raises(InvokeServerUnavailableError, match="not a JPEG, PNG, GIF or WebP image"):
            invoke(emu, stream=False)
    else:
        [_, image] = invoke(emu, stream=False).message.content
        assert image.mime_type == shown
    assert emu.deleted_files == [IMAGE_ID]


def test_the_largest_image_is_what_base64_fits_on_a_5_mib_line_beside_8_kib_for_the_rest():
    assert MAX_BASE64_CHARS == 5 * 1024 * 1024 - 8 * 1024
    assert MAX_IMAGE_BYTES == MAX_BASE64_CHARS // 4 * 3 == 3_926_016


def test_a_whole_answer_is_its_text_alone_or_its_text_and_images_within_one_line():
    image = ImagePromptMessageContent(format="jpg", mime_type="image/jpeg", base64_data=b64(JPEG))
    assert message_content("Готово.", []) == "Готово."
    assert message_content("", [image]) == [image]
    assert message_content("Готово.", [image]) == [TextPromptMessageContent(data="Готово."), image]
    big = image.model_copy(update={"base64_data": "A" * (MAX_BASE64_CHARS - 100)})
    with pytest.raises(InvokeBadRequestError, match="too large for one message to Dify"):
        message_content("Это текст длиннее ста байт. " * 5, [big])


def test_a_blocking_answer_that_fails_still_deletes_the_image_it_named(emu):
    answer = shapes.text_completion("".join(DRAWN))
    answer["choices"][0]["finish_reason"] = "error"  # GigaChat could not form a function call
    emu.replay(RawAnswer.json(answer))
    with pytest.raises(InvokeBadRequestError, match="stopped with an error"):
        invoke(emu, stream=False)
    assert emu.deleted_files == [IMAGE_ID]


def v2_answer_naming(ids: list[str]) -> dict:
    """A whole v2 answer whose `files` part names these generated images (the recorded shape, more of them)."""
    files = [{"id": file_id, "mime": "image/jpeg", "target": "image"} for file_id in ids]
    usage = {"input_tokens": 9, "output_tokens": 3, "total_tokens": 12}
    message = {"role": "assistant", "content": [{"files": files}, {"text": "Готово."}]}
    return {"model": "GigaChat-3-Ultra", "messages": [message], "finish_reason": "stop", "usage": usage}


def test_a_blocking_answer_stops_downloading_images_once_they_no_longer_fit_its_one_line(emu):
    """Each image fits alone, two do not: the second is the last one fetched, so a blocking answer holds at most the
    images of one line in memory however many GigaChat names; every one of them is still deleted."""
    ids = [f"00000000-0000-4000-8000-00000000000{n}" for n in range(4)]
    for file_id in ids:
        emu.files[file_id] = UploadedFile(
            "image.jpg", "image/jpeg", JPEG + b"\0" * (MAX_IMAGE_BYTES * 2 // 3), "general"
        )
    emu.replay(RawAnswer.json(v2_answer_naming(ids)))
    with pytest.raises(InvokeBadRequestError, match="too large for one message to Dify"):
        invoke(emu, stream=False, model="GigaChat-3-Ultra")
    assert sum(r.path.endswith("/content") for r in emu.requests) == 2
    assert set(ids) <= set(emu.deleted_files)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_an_answer_naming_more_generated_files_than_the_plugin_takes_is_refused_before_any_download(emu, stream):
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(MAX_GENERATED_FILES + 1)]
    for file_id in ids:
        emu.files[file_id] = UploadedFile("image.jpg", "image/jpeg", JPEG, "general")
    answer = v2_answer_naming(ids)
    if stream:
        done = {"finish_reason": "stop", "usage": answer.pop("usage")}
        del answer["finish_reason"]
        events = recorded.sse([("response.message.delta", answer), ("response.message.done", done)])
        emu.replay(RawAnswer((events,), content_type=SSE))
    else:
        emu.replay(RawAnswer.json(answer))
    with pytest.raises(InvokeServerUnavailableError, match=f"more than {MAX_GENERATED_FILES} files"):
        result = invoke(emu, stream=stream, model="GigaChat-3-Ultra")
        list(result) if stream else result
    assert not any(r.path.endswith("/content") for r in emu.requests)
    assert set(ids[:MAX_GENERATED_FILES]) <= set(emu.deleted_files)


def test_an_answer_that_stops_with_an_error_while_built_in_tools_are_on_names_their_switches(emu):
    """The SDK's own test of a v2 stream (ai-forever/gigachat tests/unit/gigachat/api/test_chat_completions.py, a
    hand-written fixture) ends an image_generate run with `finish_reason: "error"`: no Dify tool's parameters are
    involved, so the error names the switches rather than blaming them."""
    answer = v2_answer_naming([IMAGE_ID])
    answer["finish_reason"] = "error"
    emu.replay(RawAnswer.json(answer))
    with pytest.raises(InvokeBadRequestError) as raised:
        invoke(emu, stream=False, model="GigaChat-3-Ultra", parameters={"image_generate": True})
    assert "'Image generation'" in str(raised.value) and "tool's parameters" not in str(raised.value)
    assert emu.deleted_files == [IMAGE_ID]
