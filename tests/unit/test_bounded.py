"""models/common/bounded.py on a real httpx client against a loopback server: answers are decoded here, a piece at a
time, and stop at their limits as bytes arrive; a request ends at its deadline even when data keeps trickling."""

from __future__ import annotations

import gzip
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest

from devkit.bombs import MiB, gzip_layers
from devkit.file_server import FileServer
from models.common.bounded import AnswerTooLarge, Bounds, UnknownEncoding, bound, with_bounds
from tests.tables import table

TEXT = b"0123456789abcdef" * 20_000  # 320 KB: several pieces of decoder output
DEFAULT = Bounds()


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as files:
        yield files


def fetch(server: FileServer, body: bytes, encoding: str, bounds: Bounds = DEFAULT, **route) -> bytes:
    content_type = route.pop("content_type", "application/json")
    url = server.serve("/a", body, content_type, headers={"Content-Encoding": encoding} if encoding else {}, **route)
    with bound(httpx.Client(), bounds) as client:
        return client.get(url).content


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


DECODED = table(
    ("identity", TEXT, ""),
    ("gzip", gzip.compress(TEXT), "gzip"),
    ("x-gzip", gzip.compress(TEXT), "x-gzip"),
    ("gzip-twice", gzip.compress(gzip.compress(TEXT)), "gzip, gzip"),
    ("deflate-with-zlib-header", zlib.compress(TEXT), "deflate"),
    ("raw-deflate", raw_deflate(TEXT), "deflate"),
)


@pytest.mark.parametrize(("body", "encoding"), **DECODED)
def test_an_answer_in_an_encoding_within_the_limits_is_decoded_whole(server, body, encoding):
    assert fetch(server, body, encoding) == TEXT


def test_an_answer_that_expands_past_the_limit_stops_there(server):
    with pytest.raises(AnswerTooLarge) as caught:
        fetch(server, gzip_layers(64 * MiB, layers=2), "gzip, gzip", Bounds(max_bytes=MiB))
    assert (caught.value.limit, caught.value.line) == (MiB, False)


def test_an_event_stream_line_past_the_limit_stops_there_and_shorter_lines_pass(server):
    lines = b"data: " + b"x" * 1000 + b"\n\n"
    assert fetch(server, lines * 100, "", Bounds(max_line=2000), content_type="text/event-stream") == lines * 100
    with pytest.raises(AnswerTooLarge) as caught:
        fetch(server, b"data: " + b"x" * 3000, "", Bounds(max_line=2000), content_type="text/event-stream")
    assert caught.value.line


def test_an_encoding_that_cannot_be_bounded_is_refused(server):
    with pytest.raises(UnknownEncoding):
        fetch(server, b"\x1b\x00", "br")


def test_only_the_encodings_bounded_here_are_asked_for_unless_the_request_asks_for_none(server):
    url = server.serve("/a", b"{}")
    with bound(httpx.Client(), Bounds()) as client:
        client.get(url)
        client.get(url, headers={"Accept-Encoding": "identity"})
    assert [h["accept-encoding"] for h in server.headers] == ["gzip, deflate", "identity"]


def test_a_request_ends_at_its_deadline_though_data_keeps_arriving(server):
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        fetch(server, b"x" * 100, "", Bounds(seconds=0.5), drip=0.05)  # each wait short, the whole 5 s
    assert time.monotonic() - started < 2


def test_a_deadline_given_with_a_request_is_shared_by_the_requests_that_carry_it(server):
    url = server.serve("/slow", b"x" * 100, drip=0.05)
    with bound(httpx.Client(), Bounds()) as client, pytest.raises(httpx.ReadTimeout):
        client.get(url, extensions=with_bounds(Bounds(), deadline=time.monotonic() + 0.3))
