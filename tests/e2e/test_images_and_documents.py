"""Images and documents through the packaged plugin: GigaChat gets every file the user attached as an uploaded file
on the right message, and no file is left on GigaChat when the request ends, however it ends."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from devkit.emulator import Fault, Reply
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from tests.file_samples import GIF, JPEG, PDF, FileServer, b64, png

pytestmark = pytest.mark.e2e
MODEL = "GigaChat-2-Max"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[FileServer]:
    """Stands in for Dify's file server (FILES_URL) on loopback."""
    with FileServer() as files:
        yield files


def chat(plugin, creds, messages, stream=True, model=MODEL):
    return plugin.request(m.invoke_llm(PROVIDER, model, creds, messages, stream=stream))


def look(*parts: dict, text: str = "What is in the picture?") -> dict:
    return m.user([m.text_part(text), *parts])


def user_attachments(emu) -> list[list[str]]:
    return [msg.get("attachments", []) for msg in emu.chat_requests[-1]["messages"] if msg["role"] == "user"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, timeout: float = 15.0) -> bool:
    """Poll a condition until it holds or the (generous) deadline passes; the test asserts the result, not time."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def serves_the_next_request(plugin, creds) -> bool:
    reply = chat(plugin, creds, [m.user("hello")])
    return reply.error is None and reply.text == "Echo: hello"


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_a_base64_png_and_a_url_jpeg_reach_gigachat_as_uploads_on_their_own_messages(plugin, emu, creds, server,
                                                                                     stream):  # fmt: skip
    url = server.serve("/files/photo.jpg", JPEG, "image/jpeg") + "?timestamp=1&nonce=n&sign=s"
    history = [
        look(m.image_part(base64_data=b64(png()), filename="dot.png")),
        m.assistant("A red dot."),
        look(m.image_part(url=url, mime_type="image/jpeg", filename="photo.jpg"), text="And this one?"),
    ]
    reply = chat(plugin, creds, history, stream=stream)
    assert reply.error is None
    [first], [second] = user_attachments(emu)
    assert (emu.files[first].mime, emu.files[first].data, emu.files[first].filename) == ("image/png", png(), "dot.png")
    assert (emu.files[second].mime, emu.files[second].data) == ("image/jpeg", JPEG)
    assert emu.files[first].purpose == "general"
    assert emu.live_files() == set()


def test_a_pdf_document_reaches_gigachat_as_an_upload(plugin, emu, creds):
    document = m.document_part(base64_data=b64(PDF), filename="contract.pdf")
    reply = chat(plugin, creds, [m.user([m.text_part("Summarise it"), document])])
    assert reply.error is None
    [[file_id]] = user_attachments(emu)
    assert (emu.files[file_id].mime, emu.files[file_id].data) == ("application/pdf", PDF)
    assert emu.live_files() == set()


def test_a_png_declared_as_jpeg_is_uploaded_as_the_png_it_is(plugin, emu, creds):
    part = m.image_part(base64_data=b64(png()), mime_type="image/jpeg", filename="shot.jpg")
    assert chat(plugin, creds, [look(part)]).error is None
    [[file_id]] = user_attachments(emu)
    assert (emu.files[file_id].mime, emu.files[file_id].filename) == ("image/png", "shot.png")


def test_the_same_image_twice_in_one_request_is_uploaded_once(plugin, emu, creds):
    part = m.image_part(base64_data=b64(png(seed=7)), filename="same.png")
    reply = chat(plugin, creds, [look(part), m.assistant("A dot."), look(part, text="Again?")])
    assert reply.error is None
    assert len(emu.files) == 1
    assert user_attachments(emu) == [[*emu.files], [*emu.files]]


def test_files_are_deleted_when_gigachat_fails_the_request(plugin, emu, creds):
    emu.inject(Fault.status(422, {"status": 422, "message": "Unprocessable Entity"}))
    reply = chat(plugin, creds, [look(m.image_part(base64_data=b64(png()), filename="dot.png"))])
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert len(emu.files) == 1
    assert emu.live_files() == set()


def test_files_are_deleted_when_the_consumer_abandons_the_stream(plugin, emu, creds):
    emu.script(Reply(text=[f"word{i} " for i in range(20)]))
    data = m.invoke_llm(PROVIDER, MODEL, creds, [look(m.image_part(base64_data=b64(png()), filename="dot.png"))])
    for _ in plugin.stream(data):
        break  # stop reading after the first chunk
    assert len(emu.files) == 1
    assert wait_until(lambda: emu.live_files() == set())


@pytest.mark.parametrize(
    ("part", "message"),
    [
        (lambda s: m.image_part(url=s.serve("/big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (16 * MB), chunked=True),
                                filename="big.png"), "'big.png' is larger than allowed: GigaChat takes images of at "
                                                     "most 15 MB"),
        (lambda s: m.image_part(base64_data=b64(GIF), mime_type="image/gif", filename="anim.gif"),
         "'anim.gif' is a GIF image; GigaChat takes JPEG, PNG, TIFF and BMP images"),
        (lambda s: m.image_part(base64_data="definitely not base64!", filename="broken.png"),
         "'broken.png' is not valid base64 data"),
        (lambda s: m.image_part(url=f"http://127.0.0.1:{closed_port()}/files/x.png?sign=s", filename="away.png"),
         "'away.png' could not be downloaded from the URL Dify gave; Dify's FILES_URL must be reachable from the "
         "plugin"),
        (lambda s: m.document_part(base64_data=b64(png()), filename="scan.pdf"),
         "'scan.pdf' is sent as application/pdf, but its content is a PNG image"),
    ],
    ids=["oversized", "unsupported-type", "invalid-base64", "unreachable-url", "png-declared-as-pdf"],
)  # fmt: skip
def test_a_file_gigachat_cannot_take_is_a_bad_request_naming_it_and_the_plugin_serves_on(plugin, emu, creds, server,
                                                                                          part, message):  # fmt: skip
    reply = chat(plugin, creds, [look(part(server))])
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert message in reply.error["message"]
    assert emu.files == {}
    assert emu.chat_requests == []
    assert serves_the_next_request(plugin, creds)


def test_more_images_than_gigachat_takes_in_one_message_is_a_bad_request(plugin, emu, creds):
    """Sber's chat reference (19 February 2026): one image per message, up to ten per request. No source shows v1
    accepting the images split over consecutive user messages, so the plugin refuses rather than guess."""
    parts = [m.image_part(base64_data=b64(png(seed=i)), filename=f"{i}.png") for i in range(2)]
    reply = chat(plugin, creds, [look(*parts)])
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert "'1.png' is image 2 of one message; GigaChat takes one image per message" in reply.error["message"]
    assert emu.files == {}


def test_an_earlier_message_with_several_images_sends_its_last_one(plugin, emu, creds):
    older = [m.image_part(base64_data=b64(png(seed=i)), filename=f"{i}.png") for i in range(2)]
    history = [
        look(*older),
        m.assistant("Two dots."),
        look(m.image_part(base64_data=b64(png(seed=9)), filename="9.png")),
    ]
    reply = chat(plugin, creds, history)
    assert reply.error is None  # the emulator, like GigaChat, refuses a message with two images
    sent = [[emu.files[i].filename for i in ids] for ids in user_attachments(emu)]
    assert sent == [["1.png"], ["9.png"]]


def test_a_long_conversation_sends_the_ten_most_recent_images(plugin, emu, creds):
    history = []
    for i in range(12):
        history += [look(m.image_part(base64_data=b64(png(seed=i)), filename=f"{i}.png")), m.assistant(f"Dot {i}.")]
    reply = chat(plugin, creds, [*history[:-1]])
    assert reply.error is None
    sent = [emu.files[ids[0]].filename if ids else None for ids in user_attachments(emu)]
    assert sent == [None, None, *(f"{i}.png" for i in range(2, 12))]
    assert emu.live_files() == set()


@pytest.mark.parametrize(
    ("model", "credentials", "features"),
    [
        ("GigaChat-2-Max", {}, {"vision", "document"}),
        ("GigaChat-2-Pro", {}, {"vision"}),
        ("GigaChat-2", {}, set()),
        ("GigaChat-2-Max-preview", {}, {"vision", "document"}),
        ("GigaChat-7-Future", {"vision_support": "true"}, {"vision"}),
        ("GigaChat-7-Future", {"vision_support": "false"}, set()),
    ],
    ids=["max", "pro", "lite", "max-preview", "custom-with-switch-on", "custom-with-switch-off"],
)
def test_models_declare_images_and_documents_only_where_gigachat_takes_them(plugin, creds, model, credentials,
                                                                            features):  # fmt: skip
    reply = plugin.request(m.model_schema(PROVIDER, "llm", model, {**creds, **credentials}))
    declared = set(reply.chunks[0]["model_schema"]["features"] or [])
    assert declared & {"vision", "document", "audio", "video"} == features
