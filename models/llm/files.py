"""Files in a chat request: what GigaChat takes, what a file really is, and which files a request sends.

Pure rules only, no network and no disk; uploads.py does the downloading, uploading and deleting.

GigaChat takes files only by id, as `attachments` of a user message (ai-forever/gigachat
examples/vision/example_vision.ipynb). Its limits (developers.sber.ru/docs/ru/gigachat/api/reference/rest/post-file),
applied here before anything is uploaded:
- images: JPEG, PNG, TIFF or BMP, at most 15 MB each; documents: TXT, PDF, DOC, DOCX, EPUB, PPT or PPTX, at most
  40 MB each; audio: MP3, WAV, OGG, Opus, M4A, MP4 or WebM (weba), at most 35 MB each, under the MIME names that
  page gives (audio/mp3, audio/x-ogg, audio/x-m4a, ...);
- one image per message, up to 10 per request "whatever the number of messages" (Sber's chat reference,
  developers.sber.ru/docs/ru/gigachat/api/reference/rest/post-chat, 19 February 2026), at most 10 files per request,
  at most 80 MB of files per request (Sber's total for images and audio; applied to all files, which also bounds the
  plugin's memory).

A Dify message with more images than that is refused, naming the image, rather than split into several user
messages: no source shows v1 accepting consecutive user messages with an image each, and v2's server joins
neighbouring user messages by default (its `unnormalized_history` option), which would make one message of them again.

The user's latest message is strict: every file in it is sent, or the request fails with InvokeBadRequestError naming
the file and the limit, so GigaChat never answers about an image it did not see. Files in earlier messages are
best effort: newest first while the limits allow, so a long conversation keeps its most recent files.

Audio goes only to a model that declares Dify's `audio` feature: no Sber page or recording says which chat models
take it, so none is predefined with it, and an operator who knows one turns on 'Accepts audio' for it (catalog.py).
Audio to any other model is refused naming the file, never uploaded on the chance that GigaChat hears it.

The type is read from the bytes (magic numbers), never trusted from the declared MIME type: a PNG declared as
image/jpeg is sent as the PNG it is, but a file whose content is of another kind than the part that carries it (PNG
bytes in a document part declared as PDF, an HTML page in an image part) is rejected, because the part's kind decided
which limits and which model feature admitted it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from dify_plugin.entities.model.message import (
    AudioPromptMessageContent,
    DocumentPromptMessageContent,
    ImagePromptMessageContent,
    MultiModalPromptMessageContent,
)
from dify_plugin.errors.model import InvokeBadRequestError

from ..common.prefix import PREFIX
from .exchange import Turn
from .sniff import DOCX, Unreadable, sniff

MB = 1024 * 1024
_PLACEHOLDER = "pending-file:"


class Kind(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"
    AUDIO = "audio"

    @property
    def plural(self) -> str:
        return "audio files" if self is Kind.AUDIO else f"{self.value}s"


@dataclass(frozen=True)
class Limits:
    image_bytes: int = 15 * MB
    document_bytes: int = 40 * MB
    audio_bytes: int = 35 * MB
    images_per_message: int = 1
    files_per_request: int = 10
    total_bytes: int = 80 * MB

    def max_bytes(self, kind: Kind) -> int:
        return {Kind.IMAGE: self.image_bytes, Kind.DOCUMENT: self.document_bytes, Kind.AUDIO: self.audio_bytes}[kind]


LIMITS = Limits()


@dataclass(frozen=True)
class FileType:
    mime: str  # the name GigaChat's /files takes (gpt2giga constants.py), not always the IANA one
    kind: Kind
    name: str
    extension: str


ACCEPTED: dict[str, FileType] = {
    t.mime: t
    for t in (
        FileType("image/jpeg", Kind.IMAGE, "JPEG image", "jpg"),
        FileType("image/png", Kind.IMAGE, "PNG image", "png"),
        FileType("image/tiff", Kind.IMAGE, "TIFF image", "tiff"),
        FileType("image/bmp", Kind.IMAGE, "BMP image", "bmp"),
        FileType("text/plain", Kind.DOCUMENT, "text file", "txt"),
        FileType("application/pdf", Kind.DOCUMENT, "PDF document", "pdf"),
        FileType("application/msword", Kind.DOCUMENT, "Word 97-2003 document", "doc"),
        FileType(DOCX, Kind.DOCUMENT, "Word document", "docx"),
        FileType("application/epub", Kind.DOCUMENT, "EPUB book", "epub"),
        FileType("application/ppt", Kind.DOCUMENT, "PowerPoint 97-2003 presentation", "ppt"),
        FileType("application/pptx", Kind.DOCUMENT, "PowerPoint presentation", "pptx"),
        FileType("audio/mp3", Kind.AUDIO, "MP3 audio file", "mp3"),
        FileType("audio/wav", Kind.AUDIO, "WAV audio file", "wav"),
        FileType("audio/x-ogg", Kind.AUDIO, "Ogg audio file", "ogg"),
        FileType("audio/opus", Kind.AUDIO, "Opus audio file", "opus"),
        FileType("audio/x-m4a", Kind.AUDIO, "M4A audio file", "m4a"),
        FileType("audio/mp4", Kind.AUDIO, "MP4 audio file", "mp4"),
        FileType("audio/webm", Kind.AUDIO, "WebM audio file", "weba"),
    )
}
_UNSUPPORTED_NAMES = {
    "image/gif": "a GIF image",
    "image/webp": "a WebP image",
    "image/heic": "a HEIC image",
    "image/avif": "an AVIF image",
    "image/svg+xml": "an SVG image",
    "text/html": "an HTML page",
    "application/zip": "a ZIP archive",
    "application/x-ole-storage": "an Office 97-2003 file that is neither a .doc nor a .ppt",
    "audio/flac": "a FLAC audio file",
    "audio/aac": "an AAC audio file",
    "audio/aiff": "an AIFF audio file",
    "audio/amr": "an AMR audio file",
    "video/quicktime": "a QuickTime video",
    "video/x-matroska": "a Matroska video",
}
_ACCEPTED_LIST = {
    Kind.IMAGE: "JPEG, PNG, TIFF and BMP images",
    Kind.DOCUMENT: "TXT, PDF, DOC, DOCX, EPUB, PPT and PPTX",
    Kind.AUDIO: "MP3, WAV, OGG, Opus, M4A, MP4 and WebM audio",
}
# Declared names (MIME types and extensions) Dify may use for the types GigaChat spells differently.
_DECLARED_ALIASES = {
    "image/jpg": "image/jpeg",
    "application/vnd.ms-powerpoint": "application/ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "application/pptx",
    "application/epub+zip": "application/epub",
    **dict.fromkeys(("audio/mpeg", "audio/mpeg3", "audio/x-mp3"), "audio/mp3"),
    **dict.fromkeys(("audio/x-wav", "audio/wave", "audio/x-pn-wav", "audio/vnd.wave"), "audio/wav"),
    **dict.fromkeys(("audio/ogg", "application/ogg", "audio/vorbis"), "audio/x-ogg"),
    "audio/m4a": "audio/x-m4a",
    "jpeg": "image/jpeg",
    "tif": "image/tiff",
    "oga": "audio/x-ogg",
    "webm": "audio/webm",
    **{t.extension: t.mime for t in ACCEPTED.values()},
}


def bad(message: str) -> InvokeBadRequestError:
    return InvokeBadRequestError(PREFIX + message)


def megabytes(size: int) -> str:
    return f"{size / MB:.1f} MB" if size % MB else f"{size // MB} MB"


# ---- the parts of a request ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingFile:
    part: MultiModalPromptMessageContent
    kind: Kind | None  # None: a kind of input GigaChat takes no files of (video)
    label: str  # how messages name the file: "'photo.png'" or "an unnamed image"
    refusal: str | None = None  # why this request can't send it (then it is never read or uploaded)

    @property
    def declared(self) -> FileType | None:
        for name in (self.part.mime_type, self.part.format, self.part.filename.rpartition(".")[2]):
            mime = (name or "").split(";")[0].strip().lower()
            if found := ACCEPTED.get(_DECLARED_ALIASES.get(mime, mime)):
                return found
        return None


_KINDS = {
    ImagePromptMessageContent: Kind.IMAGE,
    DocumentPromptMessageContent: Kind.DOCUMENT,
    AudioPromptMessageContent: Kind.AUDIO,
}


class Media:
    """The `attach` callback of to_turns: a placeholder per media part, resolved to a file id by uploads.py.
    `takes_audio`: whether the model declares the `audio` feature."""

    def __init__(self, model: str = "", takes_audio: bool = False) -> None:
        self.files: dict[str, PendingFile] = {}
        self.model, self.takes_audio = model, takes_audio

    def attach(self, part: MultiModalPromptMessageContent) -> str:
        placeholder = f"{_PLACEHOLDER}{len(self.files)}"
        kind, label = _KINDS.get(type(part)), label_of(part)
        self.files[placeholder] = PendingFile(part, kind, label, self._refusal(kind, part, label))
        return placeholder

    def _refusal(self, kind: Kind | None, part: MultiModalPromptMessageContent, label: str) -> str | None:
        if kind is None:
            return f"this plugin sends no {part.type.value} files to GigaChat; {label} can't be sent."
        if kind is Kind.AUDIO and not self.takes_audio:
            return (
                f"{f'model {self.model}' if self.model else 'this model'} does not take audio files, so {label} "
                "can't be sent; no source says which GigaChat models do: add one that does as a customizable model "
                "with 'Accepts audio' on."
            )
        return None

    def __bool__(self) -> bool:
        return bool(self.files)


def label_of(part: MultiModalPromptMessageContent) -> str:
    name = " ".join((part.filename or "").split())
    if not name:
        return f"an unnamed {part.type.value}"
    return f"'{name if len(name) <= 80 else name[:79] + '…'}'"


# ---- which files a request sends --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    placeholder: str
    turn: int
    current: bool  # in the user's latest message: must be sent, or the request fails


def select(turns: Sequence[Turn], files: Mapping[str, PendingFile], limits: Limits = LIMITS) -> list[Slot]:
    """The files to send, newest first: all of the latest user message (or an error), then older ones that fit."""
    current = max((i for i, turn in enumerate(turns) if turn.role == "user"), default=None)
    if current is not None:
        _check_latest(turns[current].attachments, files, limits)
    kept: list[Slot] = []
    images: dict[int, int] = {}
    for index in reversed(range(len(turns))):
        for placeholder in reversed(turns[index].attachments):
            pending = files.get(placeholder)
            if pending is None or pending.refusal or len(kept) >= limits.files_per_request:
                continue
            if pending.kind is Kind.IMAGE:
                if images.get(index, 0) >= limits.images_per_message:
                    continue
                images[index] = images.get(index, 0) + 1
            kept.append(Slot(placeholder, index, index == current))
    return kept


def _check_latest(placeholders: Sequence[str], files: Mapping[str, PendingFile], limits: Limits) -> None:
    images = 0
    for count, placeholder in enumerate((p for p in placeholders if p in files), start=1):
        pending = files[placeholder]
        if pending.refusal:
            raise bad(pending.refusal)
        if count > limits.files_per_request:
            raise bad(
                f"{pending.label} is file {count} of one message; GigaChat takes at most "
                f"{limits.files_per_request} files per request."
            )
        images += pending.kind is Kind.IMAGE
        if images > limits.images_per_message:
            most = limits.images_per_message
            which = "one image" if most == 1 else f"at most {most} images"
            raise bad(
                f"{pending.label} is image {images} of one message; GigaChat takes {which} per message: send the "
                "others in another message."
            )


def with_ids(turns: Sequence[Turn], ids: Mapping[str, str]) -> list[Turn]:
    """The turns with placeholders replaced by file ids; files left out are dropped, repeats within a message too."""
    result = []
    for turn in turns:
        if turn.attachments:
            attached = tuple(dict.fromkeys(ids[p] for p in turn.attachments if p in ids))
            turn = replace(turn, attachments=attached)
        result.append(turn)
    return result


class Budget:
    """The request's running total of file bytes."""

    def __init__(self, limits: Limits = LIMITS) -> None:
        self.limits = limits
        self.used = 0

    def admit(self, size: int, pending: PendingFile, current: bool) -> bool:
        if self.used + size > self.limits.total_bytes:
            if current:
                raise bad(
                    f"{pending.label} brings the request's files to {megabytes(self.used + size)}; GigaChat takes at "
                    f"most {megabytes(self.limits.total_bytes)} of files per request."
                )
            return False
        self.used += size
        return True


# ---- what a file is -----------------------------------------------------------------------------------------------


def check_size(size: int, kind: Kind, label: str, limits: Limits = LIMITS) -> None:
    if size == 0:
        raise bad(f"{label} is empty.")
    if size > limits.max_bytes(kind):
        raise bad(f"{label} is {too_large(size, kind, limits)}.")


def too_large(size: int | None, kind: Kind, limits: Limits = LIMITS) -> str:
    actual = f"{megabytes(size)}, " if size is not None else "larger than allowed: "
    return f"{actual}GigaChat takes {kind.plural} of at most {megabytes(limits.max_bytes(kind))}"


def verified_type(data: bytes, pending: PendingFile) -> FileType:
    """The type to upload the file as, read from its bytes; a type GigaChat refuses or of another kind is an error."""
    assert pending.kind is not None
    declared = pending.declared
    try:
        actual = sniff(data, declared.mime if declared else "")
    except Unreadable as error:
        raise bad(f"{pending.label} {error}") from None
    found = ACCEPTED.get(actual or "")
    if found is None:
        what = _UNSUPPORTED_NAMES.get(actual or "", "of a type GigaChat does not take")
        hint = " If it came from a URL, check Dify's FILES_URL." if actual == "text/html" else ""
        raise bad(f"{pending.label} is {what}; GigaChat takes {_ACCEPTED_LIST[pending.kind]}.{hint}")
    if found.kind is not pending.kind:
        said = pending.part.mime_type or pending.kind.value
        raise bad(f"{pending.label} is sent as {said}, but its content is {_a(found.name)}.")
    return found


def _a(name: str) -> str:
    """The name with its article, as it is said: "an MP3 audio file", "an EPUB book", "a PNG image"."""
    first = name.split()[0]
    vowel_sound = first[0] in ("AEFHILMNORSX" if first.isupper() else "AEIOUaeiou")
    return f"{'an' if vowel_sound else 'a'} {name}"


def upload_name(pending: PendingFile, file_type: FileType, number: int) -> str:
    """The file name GigaChat gets: the user's, with the extension of what the file really is."""
    name = " ".join((pending.part.filename or "").split()).replace("/", "_").replace("\\", "_")
    stem, dot, extension = name.rpartition(".")
    if not name:
        return f"{file_type.kind.value}-{number}.{file_type.extension}"
    if dot and _DECLARED_ALIASES.get(extension.lower()) == file_type.mime:
        return name
    return f"{stem if dot else name}.{file_type.extension}"


# ---- bytes from a part --------------------------------------------------------------------------------------------


def decode_base64(value: str, pending: PendingFile, limits: Limits = LIMITS) -> bytes:
    """The bytes of base64 data (a data: URL prefix is allowed), refusing oversized data before decoding it."""
    assert pending.kind is not None
    value = value.strip()
    if value.startswith("data:"):
        header, _, value = value.partition(",")
        if not header.endswith(";base64"):
            raise bad(f"{pending.label} is a data URL without base64 data.")
    value = "".join(value.split())
    if len(value) // 4 * 3 > limits.max_bytes(pending.kind) + 2:
        raise bad(f"{pending.label} is {too_large(len(value) // 4 * 3, pending.kind, limits)}.")
    try:
        return base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise bad(f"{pending.label} is not valid base64 data.") from None


def check_download_url(url: str, label: str) -> None:
    """Only http(s) URLs are fetched: never file:, ftp: or anything else, at the first hop or after a redirect."""
    try:
        parts = urlsplit(url)
    except ValueError:
        raise bad(f"{label} has a malformed URL.") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        scheme = parts.scheme or "no scheme"
        raise bad(f"{label} has a URL with {scheme}; only http and https URLs are downloaded.")
