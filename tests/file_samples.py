"""Small real files (PNG, JPEG, DOCX, …) built in memory for the tests of images and documents; the loopback file
server standing in for Dify's FILES_URL lives in devkit/file_server.py."""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib

from devkit.file_server import FileServer as FileServer  # where the tests of files have always found it

# A 1x1 baseline JPEG (JFIF).
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////"
    "////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)
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


DOCX = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})
PPTX = _zip({"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p:presentation/>"})
XLSX = _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})
EPUB = _zip({"mimetype": b"application/epub+zip", "META-INF/container.xml": b"<container/>"})
