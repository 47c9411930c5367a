"""Files in a chat request: what GigaChat takes, what a file really is, and which files a request sends.

Pure rules only, no network and no disk; uploads.py does the downloading, uploading and deleting.

GigaChat takes files only by id, as `attachments` of a user message (ai-forever/gigachat
examples/vision/example_vision.ipynb). Its limits (developers.sber.ru/docs/ru/gigachat/api/reference/rest/post-file),
applied here before anything is uploaded:
- images: JPEG, PNG, TIFF or BMP, at most 15 MB each; documents: TXT, PDF, DOC, DOCX, EPUB, PPT or PPTX, at most
  40 MB each;
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

The type is read from the bytes (magic numbers), never trusted from the declared MIME type: a PNG declared as
image/jpeg is sent as the PNG it is, but a file whose content is of another kind than the part that carries it (PNG
bytes in a document part declared as PDF, an HTML page in an image part) is rejected, because the part's kind decided
which limits and which model feature admitted it.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from urllib.parse import urlsplit

from dify_plugin.entities.model.message import (
    DocumentPromptMessageContent,
    ImagePromptMessageContent,
    MultiModalPromptMessageContent,
)
from dify_plugin.errors.model import InvokeBadRequestError

from ..common.prefix import PREFIX
from .exchange import Turn

MB = 1024 * 1024
_PLACEHOLDER = "pending-file:"
# DOCX, PPTX and EPUB are ZIP archives, opened here only to read their list of files and the first bytes of one of
# them. Apache POI, which reads the same formats, refuses by default an entry that inflates more than 100 times
# (a minimum inflate ratio of 0.01) once it exceeds 100 KB, and archives of more than 1,000 entries
# (poi.apache.org, ZipSecureFile). The plugin takes the ratio and allows ten times the entries: an EPUB or a long
# presentation holds a file per chapter, slide or picture. The list itself is bounded before it is parsed, at 200
# bytes an entry, since a lying entry count would not stop a reader that walks the list's bytes.
MAX_ARCHIVE_ENTRIES = 10_000
MAX_INFLATE_RATIO = 100
_RATIO_GRACE_BYTES = 100 * 1024
_MAX_DIRECTORY_BYTES = MAX_ARCHIVE_ENTRIES * 200
_END_RECORD = struct.Struct("<4s4H2LH")  # a ZIP's end of central directory record (PKWARE APPNOTE 4.3.16)


class Kind(StrEnum):
    IMAGE = "image"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Limits:
    image_bytes: int = 15 * MB
    document_bytes: int = 40 * MB
    images_per_message: int = 1
    files_per_request: int = 10
    total_bytes: int = 80 * MB

    def max_bytes(self, kind: Kind) -> int:
        return self.image_bytes if kind is Kind.IMAGE else self.document_bytes


LIMITS = Limits()


@dataclass(frozen=True)
class FileType:
    mime: str  # the name GigaChat's /files takes (gpt2giga constants.py), not always the IANA one
    kind: Kind
    name: str
    extension: str


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
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
        FileType(_DOCX, Kind.DOCUMENT, "Word document", "docx"),
        FileType("application/epub", Kind.DOCUMENT, "EPUB book", "epub"),
        FileType("application/ppt", Kind.DOCUMENT, "PowerPoint 97-2003 presentation", "ppt"),
        FileType("application/pptx", Kind.DOCUMENT, "PowerPoint presentation", "pptx"),
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
}
_ACCEPTED_LIST = {
    Kind.IMAGE: "JPEG, PNG, TIFF and BMP images",
    Kind.DOCUMENT: "TXT, PDF, DOC, DOCX, EPUB, PPT and PPTX",
}
# Declared names (MIME types and extensions) Dify may use for the types GigaChat spells differently.
_DECLARED_ALIASES = {
    "image/jpg": "image/jpeg",
    "application/vnd.ms-powerpoint": "application/ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "application/pptx",
    "application/epub+zip": "application/epub",
    "jpeg": "image/jpeg",
    "tif": "image/tiff",
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
    kind: Kind | None  # None: a kind of input GigaChat takes no files of here (audio, video)
    label: str  # how messages name the file: "'photo.png'" or "an unnamed image"

    @property
    def declared(self) -> FileType | None:
        for name in (self.part.mime_type, self.part.format, self.part.filename.rpartition(".")[2]):
            mime = (name or "").split(";")[0].strip().lower()
            if found := ACCEPTED.get(_DECLARED_ALIASES.get(mime, mime)):
                return found
        return None


class Media:
    """The `attach` callback of to_turns: a placeholder per media part, resolved to a file id by uploads.py."""

    def __init__(self) -> None:
        self.files: dict[str, PendingFile] = {}

    def attach(self, part: MultiModalPromptMessageContent) -> str:
        placeholder = f"{_PLACEHOLDER}{len(self.files)}"
        kind = (
            Kind.IMAGE
            if isinstance(part, ImagePromptMessageContent)
            else Kind.DOCUMENT
            if isinstance(part, DocumentPromptMessageContent)
            else None
        )
        self.files[placeholder] = PendingFile(part, kind, label_of(part))
        return placeholder

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
            if pending is None or pending.kind is None or len(kept) >= limits.files_per_request:
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
        if pending.kind is None:
            kind = pending.part.type.value
            raise bad(f"this plugin sends no {kind} files to GigaChat; {pending.label} can't be sent.")
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
    return f"{actual}GigaChat takes {kind.value}s of at most {megabytes(limits.max_bytes(kind))}"


class Unreadable(Exception):
    """Bytes the plugin will not read further (an archive built to exhaust a reader); says why, after the name."""


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
        raise bad(f"{pending.label} is sent as {said}, but its content is a {found.name}.")
    return found


def upload_name(pending: PendingFile, file_type: FileType, number: int) -> str:
    """The file name GigaChat gets: the user's, with the extension of what the file really is."""
    name = " ".join((pending.part.filename or "").split()).replace("/", "_").replace("\\", "_")
    stem, dot, extension = name.rpartition(".")
    if not name:
        return f"{file_type.kind.value}-{number}.{file_type.extension}"
    if dot and _DECLARED_ALIASES.get(extension.lower()) == file_type.mime:
        return name
    return f"{stem if dot else name}.{file_type.extension}"


def sniff(data: bytes, declared: str = "") -> str | None:
    """The MIME type of the bytes (GigaChat's names for the types it takes), or None when unrecognised.

    `declared` only settles what bytes cannot: whether an Office 97-2003 container is a .doc or a .ppt.
    """
    head = data[:16]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"BM") and len(data) >= 26 and data[6:10] == b"\x00\x00\x00\x00":
        return "image/bmp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return {b"avif": "image/avif", b"heic": "image/heic", b"heix": "image/heic"}.get(head[8:12])
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return declared if declared in ("application/msword", "application/ppt") else "application/x-ole-storage"
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    return _text_type(data[:8192])


def _zip_type(data: bytes) -> str:
    _check_directory(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # reads the directory only; nothing is extracted to disk
            entries = archive.infolist()
            _check_ratios(entries)
            names = {entry.filename for entry in entries}
            if "mimetype" in names:
                # At most a few bytes, whatever the entry claims or holds: EPUB's marker is 20 bytes.
                with archive.open("mimetype") as entry:
                    if entry.read(64).strip() == b"application/epub+zip":
                        return "application/epub"
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError, EOFError, NotImplementedError, zlib.error):
        return "application/zip"
    if "word/document.xml" in names:
        return _DOCX
    if "ppt/presentation.xml" in names:
        return "application/pptx"
    return "application/zip"


def _check_directory(data: bytes) -> None:
    """Refuse an archive whose list of files is too long to parse, read from its end record before any parsing."""
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - _END_RECORD.size - 0xFFFF))
    if at < 0 or len(data) - at < _END_RECORD.size:
        return  # no end record: zipfile finds no archive either
    entries, directory_bytes = _END_RECORD.unpack_from(data, at)[4:6]
    if entries > MAX_ARCHIVE_ENTRIES:
        count = f"{entries:,}" + (" or more" if entries == 0xFFFF else "")  # 0xFFFF: the count is in a ZIP64 record
        raise Unreadable(
            f"is an archive of {count} files; the plugin reads archives of at most {MAX_ARCHIVE_ENTRIES:,}."
        )
    if directory_bytes > _MAX_DIRECTORY_BYTES:
        raise Unreadable(
            f"is an archive whose list of files takes {megabytes(directory_bytes)}; the plugin reads archives of at "
            f"most {MAX_ARCHIVE_ENTRIES:,} files."
        )


def _check_ratios(entries: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive with an entry that inflates implausibly far (a ZIP bomb): GigaChat would have to unpack it."""
    ratios = [e.file_size // max(e.compress_size, 1) for e in entries if e.file_size > _RATIO_GRACE_BYTES]
    worst = max(ratios, default=0)
    if worst > MAX_INFLATE_RATIO:
        raise Unreadable(
            f"would expand to {worst:,} times its packed size, like a ZIP bomb; the plugin takes archives whose files "
            f"expand at most {MAX_INFLATE_RATIO} times."
        )


def _text_type(sample: bytes) -> str | None:
    if not sample or b"\x00" in sample:
        return None
    text = sample.decode("utf-8", "ignore").lstrip("\ufeff \t\r\n").lower()
    if text.startswith(("<!doctype html", "<html", "<head", "<body")):
        return "text/html"
    if text.startswith("<svg") or (text.startswith("<?xml") and "<svg" in text[:1024]):
        return "image/svg+xml"
    controls = sum(1 for byte in sample if byte < 32 and byte not in b"\t\n\r\f\x1b")
    return "text/plain" if controls <= len(sample) // 100 else None


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
