"""What the plugin reads from a server, bounded: how far an answer may expand, how long a line of an event stream
may be, and how long a request may run in total.

httpx would decode an answer per whatever `Content-Encoding` the server names, stacked encodings included, and hand
on the result whole: two layers of gzip of 2.6 KB become gigabytes. And its timeouts count each wait for data, so a
server that sends a byte now and then never times out. `bound` installs two event hooks (httpx's public extension
point) on an httpx client: on each request they note its deadline and ask only for encodings this module decodes; on
each answer they take over the decoding, so the decoded bytes are counted as they come out of the decompressor, a
piece at a time, and the deadline is checked as each piece of data arrives.

The `gigachat` SDK's clients are bounded in client.py, downloads in models/llm/downloads.py.
"""

from __future__ import annotations

import functools
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

MiB = 1024 * 1024
# The largest answer the plugin asks GigaChat for is 64 vectors of 2560 numbers, about 3.9 MiB of JSON
# (models/text_embedding/EmbeddingsGigaR.yaml); a streamed answer of 32,000 tokens is about 10 MB of events.
MAX_ANSWER_BYTES = 16 * MiB
# A streamed event is a few hundred bytes; the limit still lets a broken event longer than the daemon's 5 MiB line
# through, for stream.py to cut into pieces the daemon can read.
MAX_EVENT_LINE_BYTES = 8 * MiB
_PIECE = 64 * 1024  # the most one decompressor call may produce
_DECODED = "gzip, deflate"  # the encodings asked for, and the only ones read besides identity
_BOUNDS = "gigachat.bounds"
_DEADLINE = "gigachat.deadline"


@dataclass(frozen=True)
class Bounds:
    max_bytes: int = MAX_ANSWER_BYTES  # of the decoded answer
    seconds: float | None = None  # from sending the request to the answer's last byte
    max_line: int = MAX_EVENT_LINE_BYTES  # of a `text/event-stream` answer


class AnswerTooLarge(Exception):
    def __init__(self, limit: int, line: bool) -> None:
        super().__init__(f"{'a line of ' if line else ''}the answer is larger than {limit} bytes")
        self.limit, self.line = limit, line


class UnknownEncoding(Exception):
    """The answer is encoded in a way this module does not decode, and so cannot bound."""


def bound(client: httpx.Client, bounds: Bounds) -> httpx.Client:
    """The client, its answers bounded by `bounds` unless a request brings its own (`with_bounds`)."""
    client.event_hooks = {"request": [functools.partial(_on_request, bounds)], "response": [_on_response]}
    return client


def is_bound(client: httpx.Client) -> bool:
    return any(getattr(hook, "func", None) is _on_request for hook in client.event_hooks["request"])


def with_bounds(bounds: Bounds, deadline: float | None = None) -> dict:
    """Request extensions giving one request its own bounds, and a deadline (time.monotonic) it shares with others."""
    return {_BOUNDS: bounds} | ({_DEADLINE: deadline} if deadline is not None else {})


def _on_request(default: Bounds, request: httpx.Request) -> None:
    bounds = request.extensions.setdefault(_BOUNDS, default)
    if bounds.seconds is not None:
        request.extensions.setdefault(_DEADLINE, time.monotonic() + bounds.seconds)
    if request.headers.get("accept-encoding", "").strip().lower() != "identity":
        request.headers["Accept-Encoding"] = _DECODED


def _on_response(response: httpx.Response) -> None:
    request = response.request
    codings = [c.strip().lower() for c in response.headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if any(coding not in _WINDOW_BITS for coding in codings):
        raise UnknownEncoding(", ".join(codings))
    response.headers.pop("content-encoding", None)  # decoded below: httpx must not decode again
    bounds: Bounds = request.extensions.get(_BOUNDS, Bounds())
    is_events = response.headers.get("content-type", "").startswith("text/event-stream")
    response.stream = _BoundedStream(
        response.stream,  # type: ignore[arg-type]
        [_Inflater(coding) for coding in reversed(codings)],  # the last encoding applied is undone first
        bounds.max_bytes,
        bounds.max_line if is_events else None,
        request.extensions.get(_DEADLINE),
        request,
    )


# zlib's window bits per encoding: gzip's header, or zlib's (deflate; a raw stream is tried when that fails).
_WINDOW_BITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class _Inflater:
    """One layer of decoding that never produces more than _PIECE bytes per step."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._inflate = zlib.decompressobj(_WINDOW_BITS[coding])
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                piece = self._inflate.decompress(data, _PIECE)
            except zlib.error:
                if self._coding != "deflate" or self._started:
                    raise httpx.DecodingError(f"the answer is not valid {self._coding} data") from None
                self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)  # servers that send raw deflate streams
                self._started = True
                continue
            self._started = True
            data = self._inflate.unconsumed_tail
            if piece:
                yield piece
            if not data and len(piece) < _PIECE:  # a full piece may leave output pending inside zlib
                return

    def flush(self) -> Iterator[bytes]:
        yield from self.feed(b"")


class _BoundedStream(httpx.SyncByteStream):
    def __init__(
        self,
        raw: httpx.SyncByteStream,
        inflaters: list[_Inflater],
        max_bytes: int,
        max_line: int | None,
        deadline: float | None,
        request: httpx.Request,
    ) -> None:
        self._raw, self._inflaters, self._request = raw, inflaters, request
        self._max_bytes, self._max_line, self._deadline = max_bytes, max_line, deadline
        self._total = self._line = 0

    def __iter__(self) -> Iterator[bytes]:
        for data in self._raw:
            self._check_time()
            yield from self._counted(_through(self._inflaters, data))
        for index, inflater in enumerate(self._inflaters):
            for rest in inflater.flush():
                yield from self._counted(_through(self._inflaters[index + 1 :], rest))

    def close(self) -> None:
        self._raw.close()

    def _counted(self, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self._total += len(piece)
            if self._total > self._max_bytes:
                raise AnswerTooLarge(self._max_bytes, line=False)
            if self._max_line is not None:
                newline = piece.rfind(b"\n")
                self._line = self._line + len(piece) if newline < 0 else len(piece) - newline - 1
                if self._line > self._max_line:
                    raise AnswerTooLarge(self._max_line, line=True)
            yield piece

    def _check_time(self) -> None:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise httpx.ReadTimeout("the answer took longer than the request may run", request=self._request)


def _through(inflaters: list[_Inflater], data: bytes) -> Iterator[bytes]:
    if not inflaters:
        yield data
        return
    for piece in inflaters[0].feed(data):
        yield from _through(inflaters[1:], piece)
