"""The plugin's one retry layer (the SDK's own is switched off in client.py).

Retried: 429 and 5xx (honouring Retry-After on both), and connection failures before any answer arrived. Not
retried: a read timeout (GigaChat may still be generating and would bill twice), and anything after a stream's first
item arrived (a retried stream would repeat text the user already saw): `open_stream` retries only until then.

The wait before a retry is the server's Retry-After when it sends one (RFC 9110 defines it for 429 and 503: the
server knows best when it will take requests again), else an exponential backoff with jitter. A Retry-After longer
than `max_retry_after` is not waited for: the caller gets the typed error at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import httpx
from gigachat.exceptions import ResponseError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A longer Retry-After is not waited for: the caller gets the typed error (rate limit, unavailable) at once.
    max_retry_after: float = 20.0


DEFAULT_POLICY = RetryPolicy()


def is_retryable(error: BaseException, *, stream_unopened: bool = False) -> bool:
    if isinstance(error, ResponseError):
        return error.status_code == 429 or error.status_code >= 500
    if isinstance(error, httpx.RemoteProtocolError):
        # A connection closed before any answer (a stale keep-alive connection, a restarting gateway) is retried.
        # A blocking answer cut short is not: GigaChat has generated it, and a retry would bill twice. A stream cut
        # before its first event has shown the user nothing, so it is reopened like a failed connection.
        return stream_unopened or "without sending a response" in str(error)
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout)


def delay_before_retry(
    error: BaseException, attempt: int, policy: RetryPolicy, *, stream_unopened: bool = False
) -> float | None:
    """Seconds to wait before the next attempt, or None when the error should be raised now."""
    if attempt + 1 >= policy.attempts or not is_retryable(error, stream_unopened=stream_unopened):
        return None
    wait = retry_after(error)
    if wait is not None:
        return wait if wait <= policy.max_retry_after else None
    return min(policy.base_delay * 2**attempt, policy.max_delay) * random.uniform(0.5, 1.0)


def retry_after(error: BaseException) -> float | None:
    """The seconds a 429 or 5xx answer asks the client to wait (numeric Retry-After > 0), or None."""
    if not isinstance(error, ResponseError) or error.headers is None:
        return None
    try:
        seconds = float(error.headers.get("retry-after") or "")
    except ValueError:
        return None
    return seconds if 0 < seconds < float("inf") else None


def call_with_retries(
    call: Callable[[], T], policy: RetryPolicy = DEFAULT_POLICY, *, stream_unopened: bool = False
) -> T:
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            delay = delay_before_retry(error, attempt, policy, stream_unopened=stream_unopened)
            if delay is None:
                raise
        time.sleep(delay)
        attempt += 1


def open_stream(open_source: Callable[[], Iterator[T]], policy: RetryPolicy = DEFAULT_POLICY) -> OpenStream[T]:
    """Open a stream and receive its first item, opening it again (by the rules above) until that item has arrived.

    The request is sent here, not when the caller first reads, so a rejection is raised here too. The caller closes
    the result, best in a `with` block, whichever way it stops reading; a stream that failed to open is closed here.
    """
    return call_with_retries(lambda: _primed(open_source()), policy, stream_unopened=True)


class OpenStream[T]:
    """A stream whose first item has already arrived: iterating yields that item, then the rest as they arrive."""

    def __init__(self, source: Iterator[T], received: list[T]) -> None:
        self._source, self._received = source, received

    def __iter__(self) -> OpenStream[T]:
        return self

    def __next__(self) -> T:
        return self._received.pop() if self._received else next(self._source)

    def close(self) -> None:
        _close(self._source)

    def __enter__(self) -> OpenStream[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _primed(source: Iterator[T]) -> OpenStream[T]:
    try:
        return OpenStream(source, [next(source)])
    except StopIteration:
        return OpenStream(source, [])
    except BaseException:
        _close(source)
        raise


def _close(source: Iterator[T]) -> None:
    close = getattr(source, "close", None)
    if close is not None:
        close()
