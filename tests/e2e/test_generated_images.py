"""Images GigaChat's built-in text2image makes, through the packaged plugin: they reach Dify as image parts of the
assistant's message (never as GigaChat's `<img … fuse="true"/>` markup), each within the daemon's line limit, and are
deleted from GigaChat's storage when the request ends."""

from __future__ import annotations

import pytest

from devkit.emulator import Fault, RawAnswer, UploadedFile
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from models.llm.generated import MAX_IMAGE_BYTES
from tests import recorded_shapes as shapes
from tests.file_samples import JPEG, b64, png

pytestmark = pytest.mark.e2e
MODEL = "GigaChat-2-Max"
IMAGE_ID = "c4f1e2d3-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
SAID = "Запускаю генерацию изображения. Ожидайте результат "
DRAWN = [SAID + shapes.image_markup(IMAGE_ID), " Готово."]
OTHER_ID = "d5a2f3e4-6b7c-4d8e-9fa0-1b2c3d4e5f60"


def stored(emu, data: bytes = JPEG, file_id: str = IMAGE_ID) -> None:
    """GigaChat keeps what text2image made in its file storage, under the id the answer names."""
    emu.files[file_id] = UploadedFile("image.jpg", "image/jpeg", data, "general")


def chat(plugin, creds, stream=True):
    return plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user("Нарисуй кота")], stream=stream), timeout=120)


def image_parts(reply) -> list[dict]:
    contents = [chunk["delta"]["message"]["content"] for chunk in reply.chunks]
    return [part for content in contents if isinstance(content, list) for part in content if part["type"] == "image"]


def downloads(emu) -> list[str]:
    return [r.path.rsplit("/", 2)[-2] for r in emu.requests if r.method == "GET" and r.path.endswith("/content")]


@pytest.mark.parametrize(
    ("answer",),
    [
        pytest.param(RawAnswer.sse([*shapes.function_in_progress(["5"]), *shapes.stream_2026(DRAWN)]), id="stream"),
        pytest.param(RawAnswer.sse(shapes.stream_2026(DRAWN)).pieces_of(7), id="tag-cut-in-7-byte-pieces"),
    ],
)
def test_a_streamed_generated_image_is_an_image_chunk_after_the_text_and_is_then_deleted(plugin, emu, creds, answer):
    stored(emu)
    emu.replay(answer)
    reply = chat(plugin, creds)
    assert reply.error is None
    assert reply.text == SAID + " Готово."
    [part] = image_parts(reply)
    assert (part["mime_type"], part["format"], part["base64_data"]) == ("image/jpeg", "jpg", b64(JPEG))
    position = next(i for i, c in enumerate(reply.chunks) if isinstance(c["delta"]["message"]["content"], list))
    assert reply.chunks[position - 1]["delta"]["message"]["content"].startswith("Запускаю")
    assert downloads(emu) == [IMAGE_ID]
    assert emu.deleted_files == [IMAGE_ID]


def test_a_blocking_answer_carries_its_text_and_image_as_one_list(plugin, emu, creds):
    stored(emu, png())
    emu.replay(RawAnswer.json(shapes.text_completion("".join(DRAWN))))
    reply = chat(plugin, creds, stream=False)
    assert reply.error is None
    [chunk] = reply.chunks
    text, image = chunk["delta"]["message"]["content"]
    assert (text["type"], text["data"]) == ("text", SAID + " Готово.")
    assert (image["mime_type"], image["base64_data"]) == ("image/png", b64(png()))
    assert emu.deleted_files == [IMAGE_ID]


def test_a_failed_download_is_a_typed_error_and_the_image_is_still_deleted(plugin, emu, creds):
    stored(emu)
    emu.replay(RawAnswer.sse(shapes.stream_2026(DRAWN)))
    emu.inject(Fault.status(404), path="/content")
    reply = chat(plugin, creds)
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "downloading the image GigaChat generated failed" in reply.error["message"]
    assert emu.deleted_files == [IMAGE_ID]


def test_the_largest_image_that_fits_the_daemon_s_line_passes_and_one_byte_more_is_refused(plugin, emu, creds):
    largest = b"\xff\xd8\xff\xe0" + bytes(MAX_IMAGE_BYTES - 4)
    assert MAX_IMAGE_BYTES == 3_926_016
    stored(emu, largest)
    emu.replay(RawAnswer.sse(shapes.stream_2026(DRAWN)))
    reply = chat(plugin, creds)  # the harness fails any line of 5 MiB or more, as the daemon does
    assert reply.error is None
    assert len(image_parts(reply)[0]["base64_data"]) == MAX_IMAGE_BYTES // 3 * 4

    stored(emu, largest + b"\0", OTHER_ID)
    emu.replay(RawAnswer.sse(shapes.stream_2026([SAID + shapes.image_markup(OTHER_ID)])))
    refused = chat(plugin, creds)
    assert refused.error["error_type"] == "InvokeBadRequestError"
    assert "Dify takes images of at most 3.7 MB from a plugin" in refused.error["message"]
    assert emu.deleted_files == [IMAGE_ID, OTHER_ID]


def test_a_history_holding_a_generated_image_is_sent_back_as_text(plugin, emu, creds):
    """Dify sends an answer's saved image back with it in the history (core/memory/token_buffer_memory.py); GigaChat
    takes files only on user messages, and the image was GigaChat's own, so the assistant turn keeps its text."""
    drawn = m.image_part(base64_data=b64(JPEG), mime_type="image/jpeg", filename="gigachat-image-1.jpg")
    history = [m.user("Нарисуй кота"), m.assistant([drawn, m.text_part(SAID)]), m.user("А теперь собаку")]
    reply = plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, history))
    assert reply.error is None
    assert emu.chat_requests[0]["messages"][1] == {"role": "assistant", "content": SAID}
    assert emu.files == {}
