"""The emulator's byte-for-byte replays (devkit/emulator/raw.py): recorded shapes its own generator never makes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from devkit.emulator import GigaChatEmulator, RawAnswer
from devkit.emulator.client import make_client
from tests.devkit.sdk_helpers import stream_text, user
from tests.tables import table

pytestmark = [pytest.mark.devkit, pytest.mark.usefixtures("clean_gigachat_env")]

HEAD = {"created": 1768996176, "model": "GigaChat:2.0.28.2", "object": "chat.completion"}
EVENTS = [
    {"choices": [{"delta": {"content": "Привет", "role": "assistant"}, "index": 0}], **HEAD},
    {"choices": [{"delta": {"content": ""}, "index": 0, "finish_reason": "stop"}], **HEAD},
]


@pytest.fixture
def emu() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emulator:
        yield emulator


def post(emu: GigaChatEmulator, path: str = "/chat/completions") -> httpx.Response:
    headers = {"Authorization": f"Bearer {emu.issue_access_token()}"}
    return httpx.post(
        emu.base_url + path, json={"model": "GigaChat", "messages": [user("hi")]}, headers=headers, timeout=5
    )


def test_a_raw_json_answer_goes_out_byte_for_byte_once_with_content_length(emu):
    emu.replay(RawAnswer.json({"status": 404, "message": "No such model"}, status=404))
    first, second = post(emu), post(emu)
    assert (first.status_code, first.content) == (404, b'{"status":404,"message":"No such model"}')
    assert (
        first.headers["content-length"] == "40" and first.headers["content-type"] == "application/json; charset=utf-8"
    )
    assert first.headers["x-request-id"]  # the emulator's, as every GigaChat answer has one
    assert second.status_code == 200 and "Echo" in second.text  # only the next matching request was replayed
    assert len(emu.chat_requests) == 2


def test_a_replay_waits_for_a_request_on_its_path_and_may_set_its_own_request_id(emu):
    emu.replay(RawAnswer.json({"data": []}, **{"x-request-id": "req-1"}), path="/files")
    assert post(emu).status_code == 200
    reply = httpx.get(emu.base_url + "/files", headers={"Authorization": f"Bearer {emu.issue_access_token()}"})
    assert (reply.json(), reply.headers.get_list("x-request-id")) == ({"data": []}, ["req-1"])


@pytest.mark.parametrize(
    ("options", "body"),
    **table(
        ("as-recorded", {}, "data: {E0}\n\ndata: {E1}\n\ndata: [DONE]\n\n"),
        ("crlf", {"newline": "\r\n"}, "data: {E0}\r\n\r\ndata: {E1}\r\n\r\ndata: [DONE]\r\n\r\n"),
        ("no-space", {"space": False}, "data:{E0}\n\ndata:{E1}\n\ndata:[DONE]\n\n"),
        ("comments", {"comment": "ping"}, ": ping\ndata: {E0}\n\n: ping\ndata: {E1}\n\n: ping\ndata: [DONE]\n\n"),
        ("leading-blank", {"leading_blank": True}, "\ndata: {E0}\n\ndata: {E1}\n\ndata: [DONE]\n\n"),
        ("no-done", {"done": False}, "data: {E0}\n\ndata: {E1}\n\n"),
    ),
)
def test_sse_bodies_are_built_in_each_framing_variant(options, body):
    e0, e1 = (json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in EVENTS)
    answer = RawAnswer.sse(EVENTS, **options)
    assert answer.body.decode() == body.replace("{E0}", e0).replace("{E1}", e1)
    assert (answer.chunked, answer.content_type) == (True, "text/event-stream")


@pytest.mark.parametrize("size", [1, 7])
def test_pieces_cut_anywhere_even_inside_a_utf8_character_and_the_sdk_still_reads_the_stream(emu, size):
    answer = RawAnswer.sse(EVENTS).pieces_of(size)
    assert answer.body == RawAnswer.sse(EVENTS).body
    assert {len(piece) for piece in answer.pieces[:-1]} == {size}
    if size == 7:
        assert any(_cuts_a_character(piece) for piece in answer.pieces)
    emu.replay(answer)
    chunks = list(make_client(emu).stream("hi"))
    assert stream_text(chunks) == "Привет" and chunks[-1].choices[0].finish_reason == "stop"


def _cuts_a_character(piece: bytes) -> bool:
    try:
        piece.decode()
    except UnicodeDecodeError:
        return True
    return False


def test_a_raw_stream_is_sent_with_chunked_transfer_and_no_content_length(emu):
    emu.replay(RawAnswer.sse(EVENTS))
    headers = {"Authorization": f"Bearer {emu.issue_access_token()}"}
    body = {"model": "GigaChat", "messages": [user("hi")], "stream": True}
    with httpx.stream("POST", f"{emu.base_url}/chat/completions", json=body, headers=headers) as response:
        assert response.headers["transfer-encoding"] == "chunked" and "content-length" not in response.headers
        assert response.read() == RawAnswer.sse(EVENTS).body
