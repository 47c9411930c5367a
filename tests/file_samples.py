"""Small real files (PNG, JPEG, DOCX, WAV, MP3, …) built in memory for the tests of images, documents and audio; the
loopback file server standing in for Dify's FILES_URL lives in devkit/file_server.py."""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib

# A 1x1 baseline JPEG (JFIF): the image the emulator's image generation draws.
from devkit.emulator.builtin import JPEG as JPEG
from devkit.file_server import FileServer as FileServer  # where the tests of files have always found it

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00"
HTML = b"<!DOCTYPE html>\n<html><head><title>Dify</title></head><body>Sign in</body></html>\n"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
TIFF = b"II*\x00\x08\x00\x00\x00" + b"\x00" * 32
BMP = b"BM" + struct.pack("<IHHI", 58, 0, 0, 54) + b"\x28\x00\x00\x00" + b"\x00" * 44


def png(seed: int = 0, size: int = 1) -> bytes:
    """A valid size x size RGB PNG; different seeds give different bytes."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    rows = b"".join(b"\x00" + bytes([seed % 256, (seed >> 8) % 256, 0]) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def wav(seconds: float = 0.01, seed: int = 0) -> bytes:
    """A valid 8 kHz mono 16-bit PCM WAV file; different seeds give different samples."""
    samples = bytes((seed + i) % 256 for i in range(int(8000 * seconds) * 2))
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples)) + samples
    return b"RIFF" + struct.pack("<I", len(body)) + body


# An MPEG-1 Layer III frame header (128 kbit/s, 44.1 kHz) and its 417-byte frame, with and without an ID3v2 tag.
MP3_FRAME = b"\xff\xfb\x90\x64" + b"\x00" * 413
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + MP3_FRAME * 2
# The first Ogg page of an Opus stream (RFC 7845: "OpusHead" starts the identification header) and of a Vorbis one.
_OGG_PAGE = b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x13"
OPUS = _OGG_PAGE + b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
OGG_VORBIS = _OGG_PAGE + b"\x01vorbis\x00\x00\x00\x00\x01\x44\xac\x00\x00"
# The EBML header of a WebM file (DocType "webm") and of a Matroska one.
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm" + b"\x00" * 16
MKV = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska" + b"\x00" * 16
# MPEG-4 files: an `ftyp` box whose major brand says M4A audio, or a general MP4.
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A isommp42" + b"\x00\x00\x00\x08free"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41" + b"\x00\x00\x00\x08free"
FLAC = b"fLaC\x00\x00\x00\x22" + b"\x00" * 34
AAC = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 16


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
PPTX = _zip({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p:presentation/>"})
XLSX = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
EPUB = _zip({"mimetype": b"application/epub+zip", "META-INF/container.xml": b"<container/>"})
