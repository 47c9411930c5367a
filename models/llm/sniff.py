"""What a file's bytes are: the MIME type its first bytes (magic numbers) show, never the name a sender gave it.

Pure and bounded: only the first bytes are read, and a ZIP file's directory, never its members beyond a tiny
`mimetype`. The names are the ones GigaChat's /files takes (files.py), which are not always the IANA ones.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
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


class Unreadable(Exception):
    """Bytes the plugin will not read further (an archive built to exhaust a reader); says why, after the name."""


def sniff(data: bytes, declared: str = "") -> str | None:
    """The MIME type of the bytes (GigaChat's names for the types it takes), or None when unrecognised.

    `declared` only settles what bytes cannot: whether an Office 97-2003 container is a .doc or a .ppt, whether an
    Ogg file with Opus inside is sent as .ogg or .opus, and whether an MPEG-4 audio file is an .m4a or an .mp4.
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
        return _iso_media_type(head[8:12], declared)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return declared if declared in ("application/msword", "application/ppt") else "application/x-ole-storage"
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(data)
    return _audio_type(data[:64], declared) or _text_type(data[:8192])


# ISO base media (MPEG-4) brands: images in the HEIF family, video the plugin names; any other brand is MPEG-4 audio
# or video, which GigaChat takes as mp4 (audio/mp4) or m4a (audio/x-m4a).
_ISO_BRANDS = {
    b"avif": "image/avif",
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"qt  ": "video/quicktime",
    b"M4A ": "audio/x-m4a",
    b"M4B ": "audio/x-m4a",
}


def _iso_media_type(brand: bytes, declared: str) -> str:
    if brand in _ISO_BRANDS:
        return _ISO_BRANDS[brand]
    return declared if declared in ("audio/x-m4a", "audio/mp4") else "audio/mp4"


def _audio_type(head: bytes, declared: str) -> str | None:
    """The audio formats GigaChat takes, and the common ones it does not, by their headers."""
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"OggS"):
        # The first page holds the codec's header: Opus starts "OpusHead" (RFC 7845); Vorbis, FLAC or Speex in Ogg
        # is the plain .ogg GigaChat lists.
        opus = b"OpusHead" in head
        return "audio/opus" if opus and declared != "audio/x-ogg" else "audio/x-ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM, or the Matroska it is a subset of
        return "audio/webm" if b"webm" in head else "video/x-matroska"
    if head.startswith(b"ID3") or _mpeg_frame_layer(head) == 3:
        return "audio/mp3"
    if _mpeg_frame_layer(head) == 0:  # ADTS: AAC's frames share MPEG audio's sync word with "layer" 0
        return "audio/aac"
    if head.startswith(b"fLaC"):
        return "audio/flac"
    if head.startswith(b"FORM") and head[8:12] in (b"AIFF", b"AIFC"):
        return "audio/aiff"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    return None


def _mpeg_frame_layer(head: bytes) -> int | None:
    """The layer (3 for MP3, 0 for AAC's ADTS) of an MPEG audio frame header at the start, or None if there is none:
    11 set sync bits, then a version other than the reserved one."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0 or (head[1] >> 3) & 0b11 == 0b01:
        return None
    layer = (head[1] >> 1) & 0b11
    return {0b01: 3, 0b10: 2, 0b11: 1, 0b00: 0}[layer]


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
        return DOCX
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
            f"is an archive whose list of files takes {directory_bytes / 2**20:.1f} MB; the plugin reads archives of "
            f"at most {MAX_ARCHIVE_ENTRIES:,} files."
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
