"""Audio through the packaged plugin, on both chat protocols: a model whose operator turned on 'Accepts audio' sends
every audio file the user attached, from base64 or from Dify's file URL, as a file GigaChat stores for the request
(v1 `attachments`, v2 a `files` part), deleted when the request ends; audio GigaChat can't take, or sent to a model
without audio, is refused before anything is uploaded, and the plugin serves on.

No Sber page or recording says which chat models take audio, so no predefined model declares it (docs/models.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devkit.emulator import Fault
from devkit.harness import messages as m
from devkit.rig import PROVIDER
from tests.file_samples import FLAC, MP3, OPUS, FileServer, b64, png, wav

pytestmark = pytest.mark.e2e
MB = 1024 * 1024


@pytest.fixture(scope="module")
def server() -> Iterator[FileServer]:
    """Stands in for Dify's file server (FILES_URL) on loopback."""
    with FileServer() as files:
        yield files


@pytest.fixture
def with_audio(creds) -> dict[str, str]:
    return {**creds, "audio_support": "true"}


def ask(plugin, creds, model, *parts, stream=True, text="What is said here?"):
    return plugin.request(m.invoke_llm(PROVIDER, model, creds, [m.user([m.text_part(text), *parts])], stream=stream))


def sent_file_ids(protocol, emu) -> list[str]:
    """The file ids on the user's message, as either protocol carries them."""
    return protocol.sent(emu)[-1]["messages"][-1].get("attachments", [])


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "blocking"])
def test_audio_from_base64_and_from_a_url_reaches_gigachat_as_files_and_is_deleted(plugin, emu, with_audio, server,
                                                                                   protocol, stream):  # fmt: skip
    url = server.serve("/files/meeting.wav", wav(seed=3), "audio/wav") + "?timestamp=1&nonce=n&sign=s"
    parts = [m.audio_part(base64_data=b64(MP3), filename="voice.mp3"),
             m.audio_part(url=url, mime_type="audio/wav", filename="meeting.wav")]  # fmt: skip
    reply = ask(plugin, with_audio, protocol.model, *parts, stream=stream)
    assert reply.error is None
    ids = sent_file_ids(protocol, emu)
    uploaded = [(emu.files[i].mime, emu.files[i].filename, emu.files[i].data) for i in ids]
    assert uploaded == [("audio/mp3", "voice.mp3", MP3), ("audio/wav", "meeting.wav", wav(seed=3))]
    if protocol.name == "v2":
        assert emu.chat_requests[-1]["messages"][-1]["content"][1] == {"files": [{"id": i} for i in ids]}
    assert emu.live_files() == set()


def test_an_image_and_a_voice_message_in_one_message_both_reach_gigachat(plugin, emu, with_audio, protocol):
    voice = m.audio_part(base64_data=b64(OPUS), mime_type="audio/ogg", filename="voice.ogg")  # a Telegram voice note
    image = m.image_part(base64_data=b64(png()), filename="dot.png")
    assert ask(plugin, with_audio, protocol.model, image, voice).error is None
    assert [emu.files[i].mime for i in sent_file_ids(protocol, emu)] == ["image/png", "audio/x-ogg"]
    assert emu.live_files() == set()


def test_audio_is_deleted_when_gigachat_fails_the_request(plugin, emu, with_audio, protocol):
    emu.inject(Fault.status(422, {"status": 422, "message": "Unprocessable Entity"}))
    reply = ask(plugin, with_audio, protocol.model, m.audio_part(base64_data=b64(MP3)))
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert len(emu.files) == 1
    assert emu.live_files() == set()


@pytest.mark.parametrize(
    ("part", "audio", "message"),
    [
        (lambda s: m.audio_part(url=s.serve("/long.mp3", MP3 + b"\0" * (36 * MB), chunked=True), filename="long.mp3"),
         True, "'long.mp3' is larger than allowed: GigaChat takes audio files of at most 35 MB"),
        (lambda s: m.audio_part(url=s.serve("/long.wav", wav() + b"\0" * (36 * MB), "audio/wav"), filename="long.wav"),
         True, "'long.wav' is 36.0 MB, GigaChat takes audio files of at most 35 MB"),
        (lambda s: m.audio_part(base64_data=b64(FLAC), mime_type="audio/flac", filename="song.flac"), True,
         "'song.flac' is a FLAC audio file; GigaChat takes MP3, WAV, OGG, Opus, M4A, MP4 and WebM audio"),
        (lambda s: m.audio_part(base64_data=b64(png()), filename="fake.mp3"), True,
         "'fake.mp3' is sent as audio/mpeg, but its content is a PNG image"),
        (lambda s: m.audio_part(base64_data=b64(MP3), filename="voice.mp3"), False,
         "model GigaChat-2-Max does not take audio files, so 'voice.mp3' can't be sent"),
    ],
    ids=["over-35-mb-streamed", "over-35-mb-by-length", "unsupported-type", "not-audio", "model-without-audio"],
)  # fmt: skip
def test_audio_gigachat_cannot_take_is_refused_naming_it_before_anything_is_uploaded(plugin, emu, creds, server,
                                                                                     part, audio, message):  # fmt: skip
    credentials = {**creds, "audio_support": "true"} if audio else creds
    reply = ask(plugin, credentials, "GigaChat-2-Max", m.image_part(base64_data=b64(png())), part(server))
    assert reply.error["error_type"] == "InvokeBadRequestError"
    assert message in reply.error["message"]
    assert (emu.files, emu.chat_requests) == ({}, [])
    after = plugin.request(m.invoke_llm(PROVIDER, "GigaChat-2-Max", creds, [m.user("hello")]))
    assert (after.error, after.text) == (None, "Echo: hello")


@pytest.mark.parametrize(
    ("model", "switch", "audio"),
    [("GigaChat-2-Max", None, False), ("GigaChat-3-Ultra", None, False), ("GigaChat-2-Max", "true", True),
     ("GigaChat-3-Ultra", "true", True), ("GigaChat-7-Future", "false", False)],
)  # fmt: skip
def test_only_a_model_whose_operator_turned_audio_on_declares_it(plugin, creds, model, switch, audio):
    credentials = creds if switch is None else {**creds, "audio_support": switch}
    schema = plugin.request(m.model_schema(PROVIDER, "llm", model, credentials)).chunks[0]["model_schema"]
    assert ("audio" in (schema["features"] or [])) is audio
