"""Small payloads that stand for something enormous: what a hostile file server, a hostile GigaChat or a user's
upload sends to make a careless reader run out of memory or time. Built in memory in well under a second, so tests
can afford them; `deflated_zeros` is cached because every bomb is made of it.
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib

MiB = 1024 * 1024
_BLOCK = bytes(MiB)


@functools.cache
def deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of `size` zero bytes: about a thousandth of `size`."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    whole, rest = divmod(size, MiB)
    parts = [compressor.compress(_BLOCK) for _ in range(whole)]
    parts += [compressor.compress(bytes(rest)), compressor.flush()]
    return b"".join(parts)


def gzip_layers(size: int, layers: int = 1) -> bytes:
    """`size` zero bytes gzipped `layers` times (a body for `Content-Encoding: gzip, gzip, ...`)."""
    crc = 0
    for _ in range(size // MiB):
        crc = zlib.crc32(_BLOCK, crc)
    crc = zlib.crc32(bytes(size % MiB), crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    body = header + deflated_zeros(size) + struct.pack("<II", crc, size & 0xFFFFFFFF)
    for _ in range(layers - 1):
        body = gzip.compress(body, 9)
    return body


def zip_bomb(name: str, size: int, declared: int | None = None) -> bytes:
    """A ZIP archive of one deflated entry `name` holding `size` zero bytes, whose headers claim `declared` bytes
    (its true size when None): a reader that trusts the claim but inflates all the entry holds is the victim."""
    data = deflated_zeros(size)
    claim = size if declared is None else declared
    crc = zlib.crc32(bytes(claim)) if claim <= MiB else 0  # right for the claim, so reading the claim succeeds
    fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0x21, crc, len(data), claim & 0xFFFFFFFF)
    encoded = name.encode()
    local = b"PK\x03\x04" + fields + struct.pack("<HH", len(encoded), 0) + encoded + data
    central = (
        b"PK\x01\x02"
        + struct.pack("<H", 20)
        + fields
        + struct.pack("<HHHHHII", len(encoded), 0, 0, 0, 0, 0, 0)
        + encoded
    )
    return local + central + _end_record(1, len(central), len(local))


def zip_of_entries(count: int) -> bytes:
    """A ZIP archive whose central directory lists `count` one-letter entries (at most 65,535, the classic limit),
    all pointing at one empty stored file: a few megabytes that a reader parses into `count` objects."""
    fields = struct.pack("<HHHHHIII", 20, 0, 0, 0, 0x21, 0, 0, 0)
    local = b"PK\x03\x04" + fields + struct.pack("<HH", 1, 0) + b"a"
    record = b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHHHII", 1, 0, 0, 0, 0, 0, 0) + b"a"
    return local + record * count + _end_record(count, len(record) * count, len(local))


def _end_record(entries: int, directory_size: int, directory_offset: int) -> bytes:
    return b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, entries, entries, directory_size, directory_offset, 0)
