"""Injectable failures: what a flaky network, an overloaded GigaChat or its nginx front would do."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Faults that only make sense inside an SSE body; on a blocking request they degrade as documented per factory.
STREAM_KINDS = frozenset({"cut_stream", "malformed_event", "no_final_event", "stall", "trickle", "unknown_event"})
# What `echo_request` can quote of the request.
ECHOED_PARTS = ("authorization", "body")


@dataclass(frozen=True)
class Fault:
    kind: str
    code: int = 0
    body: dict[str, Any] | str | bytes | None = None
    headers: dict[str, str] | None = None
    seconds: float = 0.0
    after_chunks: int = 0

    @classmethod
    def status(
        cls, code: int, body: dict[str, Any] | str | None = None, headers: dict[str, str] | None = None
    ) -> Fault:
        """Answer `code`; `body=None` means GigaChat's `{"status": code, "message": <reason>}`."""
        return cls("status", code=code, body=body, headers=headers)

    @classmethod
    def raw(cls, code: int, payload: bytes, headers: dict[str, str]) -> Fault:
        """Answer `code` with exactly these bytes and headers (say a gzip bomb with `Content-Encoding: gzip`), on a
        blocking request and a stream alike."""
        return cls("status", code=code, body=payload, headers=headers)

    @classmethod
    def rate_limit(cls, retry_after: float) -> Fault:
        return cls(
            "status",
            code=429,
            body={"status": 429, "message": "Too Many Requests"},
            headers={"Retry-After": f"{retry_after:g}"},
        )

    @classmethod
    def html(cls, status: int = 502) -> Fault:
        """An nginx error page instead of JSON, as a proxy in front of GigaChat answers."""
        return cls("html", code=status)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")

    @classmethod
    def cut_stream(cls, after_chunks: int = 1) -> Fault:
        """Close an SSE body after `after_chunks` content events (no final chunk, no [DONE], no terminating
        chunk). A blocking request is dropped instead."""
        return cls("cut_stream", after_chunks=after_chunks)

    @classmethod
    def malformed_event(cls, after_chunks: int = 1) -> Fault:
        """Insert `data: {not json` after `after_chunks` events. A blocking request gets a 200 non-JSON body."""
        return cls("malformed_event", after_chunks=after_chunks)

    @classmethod
    def stall(cls, seconds: float, after_chunks: int = 1) -> Fault:
        """Go silent for `seconds`, then carry on: before anything for blocking requests, after the headers and
        `after_chunks` events for streams."""
        return cls("stall", seconds=seconds, after_chunks=after_chunks)

    @classmethod
    def echo_prompt(cls, status: int = 500) -> Fault:
        """An error whose message quotes the last user message, to prove clients never log error bodies."""
        return cls("echo_prompt", code=status)

    @classmethod
    def unknown_event(cls, after_chunks: int = 1) -> Fault:
        """Insert, after `after_chunks` events, an event of a name the protocol does not define, carrying text
        (v2 streams only; the SDK's v1 stream has no event names). A blocking request is answered normally."""
        return cls("unknown_event", after_chunks=after_chunks)

    @classmethod
    def echo_request(cls, status: int, part: str = "authorization") -> Fault:
        """An error whose message quotes the request's Authorization header (a Bearer token, a Basic string) or the
        start of its body (an uploaded file's text), as a careless gateway does."""
        if part not in ECHOED_PARTS:
            raise ValueError(f"echo_request quotes one of {ECHOED_PARTS}, not {part!r}")
        return cls("echo_request", code=status, body=part)

    @classmethod
    def trickle(cls, interval: float) -> Fault:
        """Never fall silent for long, never finish soon: wait `interval` before every SSE event of a stream, and
        between single bytes of a blocking answer's body."""
        return cls("trickle", seconds=interval)

    @classmethod
    def no_final_event(cls) -> Fault:
        """Stream content and [DONE] but never the finish_reason/usage chunk. A blocking answer omits
        finish_reason."""
        return cls("no_final_event")


NGINX_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
