"""The plugin's one retry layer (the SDK's own is switched off in client.py).

Retried: 429 (honouring Retry-After), 5xx, and connection failures before any answer arrived. Not retried: a read
timeout (GigaChat may still be generating and would bill twice), and anything after a stream's first chunk reached
the caller (a retried stream would repeat text the user already saw).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import httpx
from gigachat.exceptions import RateLimitError, ResponseError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A Retry-After longer than this is not waited for: the caller gets InvokeRateLimitError at once.
    max_retry_after: float = 20.0


DEFAULT_POLICY = RetryPolicy()


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, ResponseError):
        return error.status_code == 429 or error.status_code >= 500
    return isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.RemoteProtocolError)


def delay_before_retry(error: BaseException, attempt: int, policy: RetryPolicy) -> float | None:
    """Seconds to wait before the next attempt, or None when the error should be raised now."""
    if attempt + 1 >= policy.attempts or not is_retryable(error):
        return None
    if isinstance(error, RateLimitError) and error.retry_after > 0:
        return error.retry_after if error.retry_after <= policy.max_retry_after else None
    return min(policy.base_delay * 2**attempt, policy.max_delay) * random.uniform(0.5, 1.0)


def call_with_retries(call: Callable[[], T], policy: RetryPolicy = DEFAULT_POLICY) -> T:
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            delay = delay_before_retry(error, attempt, policy)
            if delay is None:
                raise
        time.sleep(delay)
        attempt += 1


def stream_with_retries(open_stream: Callable[[], Iterator[T]], policy: RetryPolicy = DEFAULT_POLICY) -> Iterator[T]:
    """Yield the stream's items; retry opening it only until its first item has been received."""
    stream, first = call_with_retries(lambda: _first_item(open_stream()), policy)
    try:
        if first is not _EMPTY:
            yield first
            yield from stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


_EMPTY = object()


def _first_item(stream: Iterator[T]) -> tuple[Iterator[T], object]:
    try:
        return stream, next(stream)
    except StopIteration:
        return stream, _EMPTY
    except BaseException:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
        raise
