"""models/common/retry.py: retry what is safe to retry, never repeat a stream that has begun, always close it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from gigachat import exceptions as sdk

from models.common import retry
from models.common.retry import (
    DEFAULT_POLICY,
    RetryPolicy,
    call_with_retries,
    delay_before_retry,
    is_retryable,
    open_stream,
)

URL = "https://gigachat.devices.sberbank.ru/api/v1/chat/completions"


def status_error(status: int, retry_after: str | None = None) -> sdk.ResponseError:
    cls = {400: sdk.BadRequestError, 401: sdk.AuthenticationError, 404: sdk.NotFoundError, 429: sdk.RateLimitError}
    headers = httpx.Headers({"retry-after": retry_after} if retry_after is not None else {})
    error_cls = cls.get(status, sdk.ServerError if status >= 500 else sdk.ResponseError)
    return error_cls(URL, status, b"{}", headers)


def transport(cls: type[httpx.TransportError], message: str = "failed") -> httpx.TransportError:
    return cls(message, request=httpx.Request("POST", URL))


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    recorded: list[float] = []
    monkeypatch.setattr(retry.time, "sleep", recorded.append)
    return recorded


class Script:
    """A callable that raises or returns the scripted outcomes in turn."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> object:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class FakeStream:
    """An SDK-like stream: items, then perhaps an error; remembers whether it was closed."""

    def __init__(self, items: list[str], error: BaseException | None = None, fail_first: BaseException | None = None):
        self._items = iter(items)
        self._error = error
        self._fail_first = fail_first
        self.closed = False
        self.taken = 0

    def __iter__(self) -> FakeStream:
        return self

    def __next__(self) -> str:
        if self._fail_first is not None:
            raise self._fail_first
        try:
            item = next(self._items)
        except StopIteration:
            if self._error is not None:
                raise self._error from None
            raise
        self.taken += 1
        return item

    def close(self) -> None:
        self.closed = True


class Opener:
    def __init__(self, *streams: FakeStream | BaseException) -> None:
        self.streams = list(streams)
        self.opened: list[FakeStream] = []

    def __call__(self) -> Iterator[str]:
        stream = self.streams[len(self.opened)]
        if isinstance(stream, BaseException):
            self.opened.append(FakeStream([]))
            raise stream
        self.opened.append(stream)
        return stream


# ---- what is retried ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (status_error(429), True),
        (status_error(500), True),
        (status_error(502), True),
        (status_error(503), True),
        (transport(httpx.ConnectError), True),
        (transport(httpx.ConnectTimeout), True),
        (transport(httpx.RemoteProtocolError, "Server disconnected without sending a response."), True),
        # The answer had begun: GigaChat generated it, so a retry would bill twice.
        (transport(httpx.RemoteProtocolError, "peer closed connection without sending complete message body"), False),
        (transport(httpx.ReadTimeout), False),  # GigaChat may still be generating: a retry would bill twice
        (transport(httpx.WriteTimeout), False),
        (status_error(400), False),
        (status_error(401), False),
        (status_error(402), False),
        (status_error(404), False),
        (status_error(422), False),
        (ValueError("bug"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_only_rate_limits_server_errors_and_failed_connections_are_retried(
    error: BaseException, retryable: bool
) -> None:
    assert is_retryable(error) is retryable
    assert (delay_before_retry(error, 0, DEFAULT_POLICY) is not None) is retryable


@pytest.mark.parametrize(("header", "delay"), [("3", 3.0), ("0.25", 0.25), ("20", 20.0)])
def test_a_rate_limit_waits_exactly_as_long_as_retry_after_says(header: str, delay: float) -> None:
    assert delay_before_retry(status_error(429, header), 0, DEFAULT_POLICY) == delay


@pytest.mark.parametrize("header", ["21", "3600"])
def test_a_retry_after_longer_than_the_limit_is_not_waited_for(header: str) -> None:
    assert delay_before_retry(status_error(429, header), 0, DEFAULT_POLICY) is None


@pytest.mark.parametrize(("status", "header", "delay"), [(503, "0.05", 0.05), (502, "2", 2.0), (500, "20", 20.0)])
def test_a_server_error_with_retry_after_waits_as_long_as_it_says(status: int, header: str, delay: float) -> None:
    assert delay_before_retry(status_error(status, header), 0, DEFAULT_POLICY) == delay


@pytest.mark.parametrize("header", ["21", "3600"])
def test_a_server_error_asking_for_a_longer_wait_than_the_limit_is_not_retried(header: str) -> None:
    assert delay_before_retry(status_error(503, header), 0, DEFAULT_POLICY) is None


@pytest.mark.parametrize("header", ["inf", "nan", "soon", "0", "-5"])
def test_a_server_error_with_an_unusable_retry_after_backs_off_exponentially(header: str) -> None:
    delay = delay_before_retry(status_error(503, header), 0, DEFAULT_POLICY)
    assert delay is not None
    assert 0.25 <= delay <= 0.5


@pytest.mark.parametrize("header", ["-1", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_a_client_error_is_never_retried_whatever_its_retry_after(header: str) -> None:
    assert delay_before_retry(status_error(400, header), 0, DEFAULT_POLICY) is None


@pytest.mark.parametrize("header", [None, "soon", "0"])
def test_a_rate_limit_without_a_usable_retry_after_backs_off_exponentially(header: str | None) -> None:
    delay = delay_before_retry(status_error(429, header), 1, DEFAULT_POLICY)
    assert delay is not None
    assert 0.5 <= delay <= 1.0


@pytest.mark.parametrize("attempt", range(6))
def test_the_backoff_doubles_with_jitter_and_is_capped(attempt: int) -> None:
    policy = RetryPolicy(attempts=10, base_delay=1.0, max_delay=8.0)
    delay = delay_before_retry(status_error(500), attempt, policy)
    ceiling = min(2**attempt, 8.0)
    assert delay is not None
    assert ceiling / 2 <= delay <= ceiling


def test_the_last_attempt_is_never_followed_by_a_wait() -> None:
    policy = RetryPolicy(attempts=3)
    assert delay_before_retry(status_error(500), 1, policy) is not None
    assert delay_before_retry(status_error(500), 2, policy) is None


# ---- call_with_retries -------------------------------------------------------------------------------------------


def test_a_call_that_recovers_returns_its_result_after_the_waits(sleeps: list[float]) -> None:
    call = Script(status_error(503), transport(httpx.ConnectError), "answer")
    assert call_with_retries(call) == "answer"
    assert call.calls == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0


def test_a_call_that_keeps_failing_raises_the_last_error_after_all_attempts(sleeps: list[float]) -> None:
    last = status_error(502)
    call = Script(status_error(500), status_error(503), last)
    with pytest.raises(sdk.ServerError) as caught:
        call_with_retries(call, RetryPolicy(attempts=3))
    assert caught.value is last
    assert call.calls == 3 and len(sleeps) == 2


@pytest.mark.parametrize(
    "error", [transport(httpx.ReadTimeout), status_error(400), status_error(401), status_error(429, "120")]
)
def test_a_call_that_must_not_be_repeated_fails_at_once(sleeps: list[float], error: BaseException) -> None:
    call = Script(error, "never reached")
    with pytest.raises(type(error)):
        call_with_retries(call)
    assert call.calls == 1
    assert sleeps == []


def test_a_rate_limited_call_waits_for_retry_after(sleeps: list[float]) -> None:
    assert call_with_retries(Script(status_error(429, "2"), "ok")) == "ok"
    assert sleeps == [2.0]


# ---- open_stream ---------------------------------------------------------------------------------------------


def test_a_stream_passes_every_item_through_and_is_closed_when_its_block_ends(sleeps: list[float]) -> None:
    opener = Opener(FakeStream(["a", "b", "c"]))
    with open_stream(opener) as stream:
        assert list(stream) == ["a", "b", "c"]
        assert not opener.opened[0].closed
    assert opener.opened[0].closed
    assert sleeps == []


def test_the_request_is_sent_and_the_first_item_received_before_open_stream_returns() -> None:
    source = FakeStream(["a", "b"])
    with open_stream(Opener(source)) as stream:
        assert source.taken == 1
        assert next(stream) == "a"
        assert source.taken == 1


def test_a_stream_that_fails_before_its_first_item_is_reopened(sleeps: list[float]) -> None:
    first = FakeStream([], fail_first=status_error(503))
    opener = Opener(transport(httpx.ConnectError), first, FakeStream(["a", "b"]))
    with open_stream(opener) as stream:
        assert list(stream) == ["a", "b"]
    assert len(opener.opened) == 3
    assert first.closed and opener.opened[2].closed
    assert len(sleeps) == 2


def test_a_stream_that_fails_after_its_first_item_is_never_repeated(sleeps: list[float]) -> None:
    disconnected = transport(httpx.RemoteProtocolError, "Server disconnected without sending a response.")
    broken = FakeStream(["a", "b"], error=disconnected)
    opener = Opener(broken, FakeStream(["a", "b", "c"]))
    received = []
    with pytest.raises(httpx.RemoteProtocolError), open_stream(opener) as stream:
        for item in stream:
            received.append(item)
    assert received == ["a", "b"]
    assert len(opener.opened) == 1
    assert broken.closed
    assert sleeps == []


def test_a_stream_rejected_with_a_client_error_is_not_reopened_and_is_closed(sleeps: list[float]) -> None:
    rejected = FakeStream([], fail_first=status_error(422))
    opener = Opener(rejected, FakeStream(["a"]))
    with pytest.raises(sdk.ResponseError):
        open_stream(opener)
    assert len(opener.opened) == 1
    assert rejected.closed
    assert sleeps == []


def test_an_empty_stream_yields_nothing_and_is_closed() -> None:
    opener = Opener(FakeStream([]))
    with open_stream(opener) as stream:
        assert list(stream) == []
    assert opener.opened[0].closed


def test_a_stream_abandoned_by_its_reader_is_closed() -> None:
    source = FakeStream(["a", "b", "c"])
    with open_stream(Opener(source)) as stream:
        assert next(stream) == "a"
    assert source.closed
    assert source.taken == 1


def test_a_plain_generator_is_closed_too() -> None:
    closed = []

    def generator() -> Iterator[str]:
        try:
            yield "a"
            yield "b"
        finally:
            closed.append(True)

    with open_stream(generator) as stream:
        assert next(stream) == "a"
    assert closed == [True]
