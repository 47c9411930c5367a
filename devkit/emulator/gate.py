"""A gate for tests of concurrency: requests wait at it until enough of them are being answered together."""

from __future__ import annotations

import threading


class Gate:
    """Holds every request to a path until `count` of them are waiting at once, then lets them all go, and each later
    one straight through. A test of "these requests are in flight together" thus waits on the requests themselves,
    not on a clock. A client that never has `count` requests out at the same time is let through after `timeout`
    seconds, and `timed_out` says so. With `count` None the gate opens only when `open()` is called (or on timeout)."""

    def __init__(self, count: int | None, path: str, timeout: float) -> None:
        self.count = count
        self.path = path  # a suffix of the request path, like "/embeddings"
        self.timeout = timeout
        self.timed_out = False
        self._waiting = 0
        self._open = False
        self._cond = threading.Condition()

    def pass_through(self, path: str) -> None:
        if not path.endswith(self.path):
            return
        with self._cond:
            self._waiting += 1
            self._cond.notify_all()
            if self.count is not None and self._waiting >= self.count:
                self.open()
            elif not self._cond.wait_for(lambda: self._open, self.timeout):
                self.timed_out = True
                self.open()
            self._waiting -= 1

    def wait_until_waiting(self, count: int) -> bool:
        """Block until `count` requests wait at the gate (True), or the gate's timeout passes (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._waiting >= count, self.timeout)

    def open(self) -> None:
        with self._cond:
            self._open = True
            self._cond.notify_all()
