"""models/llm/uploads.py against the GigaChat emulator and a loopback file server: downloads, uploads, and the
promise that every file uploaded for a request is deleted when the request ends."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from dify_plugin.entities.model.llm import LLMUsage
from dify_plugin.entities.model.message import (
    AssistantPromptMessage,
    AudioPromptMessageContent,
    ImagePromptMessageContent,
    TextPromptMessageContent,
    UserPromptMessage,
)
from dify_plugin.errors.model import InvokeBadRequestError, InvokeConnectionError

from devkit.emulator import Fault, GigaChatEmulator, Reply
from models.common.client import ExplicitClient, sdk_settings
from models.common.settings import GigaChatSettings, parse_credentials
from models.llm import chat
from models.llm.downloads import download
from models.llm.files import Limits, Media
from models.llm.uploads import RequestFiles
from tests.file_samples import FLAC, GIF, JPEG, MP3, FileServer, b64, png, wav

MODEL = "GigaChat-2-Max"


@pytest.fixture
def emu() -> Iterator[GigaChatEmulator]:
    with GigaChatEmulator() as emulator:
        yield emulator


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as files:
        yield files


def credentials(emu: GigaChatEmulator) -> dict[str, str]:
    return {"api_key": emu.credentials(), "base_url": emu.base_url, "auth_url": emu.auth_url, "prompt_caching": "false"}


def settings_for(emu: GigaChatEmulator) -> GigaChatSettings:
    return parse_credentials(credentials(emu))


def request_files(emu: GigaChatEmulator) -> RequestFiles:
    settings = settings_for(emu)
    return RequestFiles(ExplicitClient(sdk_settings(settings)), settings)


def image(data: bytes | None = None, url: str = "", filename: str = "a.png") -> ImagePromptMessageContent:
    return ImagePromptMessageContent(
        format="png", mime_type="image/png", filename=filename, base64_data=b64(data) if data else "", url=url
    )


def audio(data: bytes | None = None, url: str = "", filename: str = "a.mp3") -> AudioPromptMessageContent:
    return AudioPromptMessageContent(
        format="mp3", mime_type="audio/mpeg", filename=filename, base64_data=b64(data) if data else "", url=url
    )


def ask(
    *parts: ImagePromptMessageContent | AudioPromptMessageContent, text: str = "What is this?"
) -> UserPromptMessage:
    return UserPromptMessage(content=[TextPromptMessageContent(data=text), *parts])


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pending_image(filename: str = "a.jpg"):
    media = Media()
    return media.files[media.attach(image(filename=filename))]


# ---- downloads --------------------------------------------------------------------------------------------------


def test_a_download_follows_redirects_and_checks_every_hop(server):
    server.serve("/files/photo.jpg", JPEG, "image/jpeg")
    server.redirect("/hop2", "/files/photo.jpg")
    start = server.redirect("/hop1", server.url("/hop2"), status=307)
    assert download(start, pending_image(), Limits()) == JPEG
    assert server.hits == ["/hop1", "/hop2", "/files/photo.jpg"]


UNIFORM = r"'a\.jpg' could not be downloaded from the URL Dify gave; Dify's FILES_URL must be reachable from the plugin"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.redirect("/r", "file:///etc/passwd"), UNIFORM),
        (lambda s: s.redirect("/r", "ftp://127.0.0.1/a.jpg"), UNIFORM),
        (lambda s: s.redirect("/r", "/r"), UNIFORM),
        (lambda s: s.serve("/r", b"x" * 2000, chunked=True), r"'a.jpg' is larger than allowed: GigaChat takes images "
         r"of at most 0\.0 MB"),
        (lambda s: s.serve("/r", b"x" * 2000), r"'a.jpg' is 0\.0 MB, GigaChat takes images of at most 0\.0 MB"),
        (lambda s: None, UNIFORM),
    ],
    ids=["to-file-url", "to-ftp", "loop", "too-large-while-streaming", "too-large-by-content-length", "not-found"],
)  # fmt: skip
def test_a_download_that_cannot_be_used_is_a_bad_request_naming_the_file(server, setup, message):
    setup(server)
    with pytest.raises(InvokeBadRequestError, match=message):
        download(server.url("/r"), pending_image(), Limits(image_bytes=1000))


def test_a_url_of_another_scheme_is_refused_before_anything_is_fetched():
    with pytest.raises(InvokeBadRequestError, match=r"'a\.jpg' has a URL with ftp; only http and https"):
        download("ftp://127.0.0.1/a.jpg", pending_image(), Limits())


def test_an_unreachable_url_is_the_uniform_failure_naming_neither_host_nor_path():
    port = closed_port()
    with pytest.raises(InvokeBadRequestError, match=UNIFORM) as caught:
        download(f"http://127.0.0.1:{port}/files/a.jpg?sign=SECRET", pending_image(), Limits())
    message = str(caught.value)
    assert str(port) not in message and "SECRET" not in message and "/files/" not in message


def test_a_stalled_download_ends_at_its_deadline_as_the_uniform_failure(server):
    server.serve("/slow", JPEG, stall=1.0)
    with pytest.raises(InvokeBadRequestError, match=UNIFORM):
        download(server.url("/slow"), pending_image(), Limits(), seconds=0.2)


# ---- uploads and deletion ---------------------------------------------------------------------------------------


def prepared(emu: GigaChatEmulator, *messages, files: RequestFiles | None = None, takes_audio: bool = False):
    files = files or request_files(emu)
    request = chat.build_request(MODEL, list(messages), {}, None, takes_audio=takes_audio)
    return files, files.prepare(request)


def test_every_file_is_uploaded_as_its_real_type_and_referenced_by_id_on_its_message(emu, server):
    url = server.serve("/files/b.jpg", JPEG, "image/jpeg")
    files, request = prepared(emu, ask(image(png())), AssistantPromptMessage(content="A dot."), ask(image(url=url)))
    first, second = (turn.attachments for turn in request.turns if turn.role == "user")
    assert [emu.files[first[0]].mime, emu.files[second[0]].mime] == ["image/png", "image/jpeg"]
    assert emu.files[first[0]].data == png()
    assert request.media is None
    files.delete_all()
    assert emu.live_files() == set()


def test_the_same_bytes_are_uploaded_once_per_request(emu):
    files, request = prepared(emu, ask(image(png(), filename="a.png")), AssistantPromptMessage(content="ok"),
                              ask(image(png(), filename="copy.png")))  # fmt: skip
    assert len(emu.files) == 1
    assert [t.attachments for t in request.turns if t.role == "user"] == [(*emu.files,), (*emu.files,)]
    files.delete_all()


def test_a_request_with_one_refused_file_uploads_nothing(emu):
    with pytest.raises(InvokeBadRequestError, match=r"'anim.gif' is a GIF image"):
        prepared(emu, ask(image(png())), AssistantPromptMessage(content="ok"), ask(image(GIF, filename="anim.gif")))
    assert emu.files == {}


def test_an_older_file_that_can_no_longer_be_read_is_left_out(emu):
    gone = f"http://127.0.0.1:{closed_port()}/files/old.png"
    files, request = prepared(emu, ask(image(url=gone, filename="old.png")), AssistantPromptMessage(content="ok"),
                              ask(image(png(), filename="new.png")))  # fmt: skip
    assert [t.attachments for t in request.turns if t.role == "user"] == [(), (*emu.files,)]
    files.delete_all()


def test_audio_from_base64_and_from_a_url_is_uploaded_as_what_it_is_and_deleted(emu, server):
    url = server.serve("/files/talk.wav", wav(), "audio/wav") + "?sign=s"
    files, request = prepared(emu, ask(audio(MP3, filename="voice.mp3"), audio(url=url, filename="talk.wav")),
                              takes_audio=True)  # fmt: skip
    [turn] = [t for t in request.turns if t.role == "user"]
    uploaded = [(emu.files[i].mime, emu.files[i].filename, emu.files[i].data) for i in turn.attachments]
    assert uploaded == [("audio/mp3", "voice.mp3", MP3), ("audio/wav", "talk.wav", wav())]
    files.delete_all()
    assert emu.live_files() == set()


@pytest.mark.parametrize(
    ("part", "limits", "message"),
    [
        (lambda s: audio(url=s.serve("/long.mp3", MP3 + b"\0" * 3000, chunked=True), filename="long.mp3"),
         Limits(audio_bytes=2000), r"'long.mp3' is larger than allowed: GigaChat takes audio files of at most"),
        (lambda s: audio(FLAC, filename="song.flac"), Limits(), r"'song.flac' is a FLAC audio file; GigaChat takes"),
        (lambda s: audio(wav(seconds=0.5)), Limits(total_bytes=5000), r"'a.mp3' brings the request's files to "
         r"0\.0 MB; GigaChat takes at most 0\.0 MB of files per request"),
    ],
    ids=["over-the-audio-limit", "unsupported-type", "over-the-request-total"],
)  # fmt: skip
def test_audio_gigachat_cannot_take_is_refused_before_anything_is_uploaded(emu, server, part, limits, message):
    files = RequestFiles(request_files(emu).client, settings_for(emu), limits)
    with pytest.raises(InvokeBadRequestError, match=message):
        prepared(emu, ask(image(png()), part(server)), files=files, takes_audio=True)
    assert emu.files == {}


def test_audio_to_a_model_without_audio_is_refused_before_it_is_read(emu, server):
    url = server.serve("/files/talk.mp3", MP3, "audio/mpeg")
    with pytest.raises(InvokeBadRequestError, match=r"model GigaChat-2-Max does not take audio files, so 'a.mp3'"):
        prepared(emu, ask(image(png()), audio(url=url)))
    assert (emu.files, server.hits) == ({}, [])


def test_an_upload_gigachat_refuses_is_an_error_naming_the_file(emu):
    emu.file_size_limits["image"] = 10
    with pytest.raises(InvokeBadRequestError, match=r"uploading 'a.png' failed: .*413"):
        prepared(emu, ask(image(png())))


def test_a_failed_deletion_is_not_raised_and_is_retried_when_the_next_request_ends(emu):
    files, _ = prepared(emu, ask(image(png())))
    emu.inject(Fault.status(503), path="/delete", times=2)
    files.delete_all()  # GigaChat refuses twice: the request still ends normally
    assert len(emu.live_files()) == 1
    RequestFiles(files.client, files.settings).delete_all()
    assert emu.live_files() == set()


def test_when_gigachat_is_unreachable_the_deletions_wait_for_the_next_request(emu):
    files, _ = prepared(emu, ask(image(png(seed=1))), AssistantPromptMessage(content="ok"), ask(image(png(seed=2))))
    emu.inject(Fault.drop(), path="/delete", times=2)
    files.delete_all()
    assert len(emu.live_files()) == 2
    RequestFiles(files.client, files.settings).delete_all()
    assert emu.live_files() == set()


def test_a_deletion_gigachat_refuses_for_good_neither_blocks_the_others_nor_is_repeated(emu):
    files, _ = prepared(emu, ask(image(png(seed=1))), AssistantPromptMessage(content="ok"), ask(image(png(seed=2))))
    emu.inject(Fault.status(400), path="/delete", times=1)
    files.delete_all()
    assert len(emu.live_files()) == 1
    before = len(emu.requests)
    RequestFiles(files.client, files.settings).delete_all()
    assert len(emu.requests) == before


# ---- the lifecycle of a chat request ----------------------------------------------------------------------------


def invoke(emu: GigaChatEmulator, stream: bool, *messages):
    request = chat.build_request(MODEL, list(messages), {}, None)
    return chat.generate(settings_for(emu), request, None, stream, None, lambda _in, _out: LLMUsage.empty_usage())


def test_a_blocking_request_deletes_its_files_after_the_answer(emu):
    result = invoke(emu, False, ask(image(png())))
    assert result.message.content
    assert emu.chat_requests[0]["messages"][0]["attachments"] == list(emu.files)
    assert emu.live_files() == set()


def test_a_failed_request_deletes_its_files(emu):
    emu.inject(Fault.status(422, {"status": 422, "message": "Unprocessable"}))
    with pytest.raises(InvokeBadRequestError, match="422"):
        invoke(emu, False, ask(image(png())))
    assert len(emu.files) == 1
    assert emu.live_files() == set()


def test_a_stream_abandoned_after_its_first_chunk_deletes_its_files_when_closed(emu):
    emu.script(Reply(text=["one ", "two ", "three ", "four"]))
    chunks = invoke(emu, True, ask(image(png())))
    next(chunks)
    assert len(emu.live_files()) == 1
    chunks.close()  # what a consumer that stops reading does to a generator
    assert emu.live_files() == set()


def test_a_stream_that_fails_deletes_its_files(emu):
    emu.inject(Fault.cut_stream(after_chunks=1))
    with pytest.raises(InvokeConnectionError):
        list(invoke(emu, True, ask(image(png()))))
    assert emu.live_files() == set()
