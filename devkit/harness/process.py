"""Run a Dify plugin the way the plugin daemon's local runtime does, and hold every reply to the daemon's rules.

Launch (daemon ``local_runtime/subprocess.go``): ``<python> -m main`` in the plugin folder, the caller's environment
plus ``INSTALL_METHOD=local``. Ready = the first heartbeat. Requests are single JSON lines on stdin; replies are
``session`` events on stdout, demultiplexed by ``session_id``. Each stdout line is checked the moment it is read, so
a violation is pinned to the session (or the time window) that caused it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from . import messages as m
from . import validation as v

LOOPBACK = ("127.0.0.1", "localhost")


class DaemonRuleViolation(AssertionError):
    """Plugin output that the real daemon would reject, drop or choke on."""

    def __init__(self, problems: list[str], reply: Reply | None = None) -> None:
        self.problems = list(problems)
        self.reply = reply
        super().__init__("daemon rule violated:\n  " + "\n  ".join(self.problems))


class PluginReplyError(Exception):
    """The plugin answered a streamed request with a session `error` (raised by ``stream()``)."""

    def __init__(self, error: dict) -> None:
        self.error = error
        super().__init__(f"{error.get('error_type')}: {error.get('message')}")


class PluginStartupError(RuntimeError):
    """The plugin process exited before its first heartbeat."""


class ReceivedMessage(NamedTuple):
    ts: float  # time.perf_counter() when the line was read
    line: dict  # the whole stdout object: {"event":"session","session_id":…,"data":{"type":…,"data":…}}

    @property
    def type(self) -> str:
        return self.line["data"]["type"]

    @property
    def data(self) -> Any:
        return self.line["data"].get("data")


@dataclass
class Reply:
    session_id: str
    action: str | None
    messages: list[ReceivedMessage] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def chunks(self) -> list[Any]:
        return [msg.data for msg in self.messages if msg.type == "stream"]

    @property
    def error(self) -> dict | None:
        return next((msg.data for msg in self.messages if msg.type == "error"), None)

    def _deltas(self) -> list[dict]:
        return [c["delta"] for c in self.chunks if isinstance(c, dict) and isinstance(c.get("delta"), dict)]

    @property
    def text(self) -> str:
        contents = (d.get("message", {}).get("content") for d in self._deltas())
        return "".join(c for c in contents if isinstance(c, str))

    @property
    def tool_calls(self) -> list[dict]:
        # All tool calls of the reply, in order. A plugin that streams partial calls shows up here as duplicates.
        return [call for d in self._deltas() for call in (d.get("message", {}).get("tool_calls") or [])]

    @property
    def usage(self) -> dict | None:
        return next((d["usage"] for d in reversed(self._deltas()) if d.get("usage") is not None), None)

    @property
    def finish_reason(self) -> str | None:
        return next((d["finish_reason"] for d in reversed(self._deltas()) if d.get("finish_reason")), None)


@dataclass
class _Session:
    action: str | None
    first_violation: int  # index into Demux.violations when the request was written
    messages: list[ReceivedMessage] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    done: bool = False
    seen: set[str] = field(default_factory=set)  # the message types so far: order checks stay O(1) per message


class Demux:
    """Parses plugin output lines, checks them, and routes session messages to their waiting requests.

    Shared by the stdio harness and the remote-debug stand-in, which see the same envelopes.
    """

    def __init__(self, expect_manifest: bool, alive: Callable[[], bool], describe: Callable[[], str]) -> None:
        self.manifest: dict | None = None
        self._manifest_seen = not expect_manifest
        self.heartbeats: list[float] = []
        self.logs: list[dict] = []
        self.envelope_errors: list[dict] = []
        # (session_id or None, problem); unattributed problems are charged to every request in flight.
        self.violations: list[tuple[str | None, str]] = []
        self._sessions: dict[str, _Session] = {}
        self._cond = threading.Condition()
        self._alive = alive
        self._describe = describe

    # ---- input side (reader threads) ----

    def feed_line(self, raw: bytes, ts: float) -> None:
        obj, problems = v.check_stdout_line(raw)
        with self._cond:
            for problem in problems:
                self.violations.append((None, problem))
            if obj is not None:
                self._route(obj, ts)
            self._cond.notify_all()

    def notify(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def _route(self, obj: dict, ts: float) -> None:
        problems = v.check_event(obj, self._manifest_seen)
        sid = obj.get("session_id") if obj.get("event") == "session" else None
        session = self._sessions.get(sid) if isinstance(sid, str) else None
        if sid is not None and session is None:
            problems.append(f"session.unknown: a message for session {sid!r}, which no request opened")
        if "event" not in obj and not self._manifest_seen:
            self.manifest, self._manifest_seen = obj, True
        elif obj.get("event") == "heartbeat":
            self.heartbeats.append(ts)
        elif obj.get("event") == "log":
            self.logs.append(obj.get("data"))
        elif obj.get("event") == "error":
            self.envelope_errors.append(obj.get("data"))
        elif session is not None and not problems:
            problems += self._session_message(session, obj, ts)
        for problem in problems:
            self.violations.append((sid, problem))
            if session is not None:
                session.problems.append(problem)

    def _session_message(self, session: _Session, obj: dict, ts: float) -> list[str]:
        msg = ReceivedMessage(ts, obj)
        problems = v.check_session_order(session.seen, msg.type)
        session.seen.add(msg.type)
        if msg.type == "stream":
            problems += v.check_stream_item(session.action, msg.data)
        elif msg.type == "error":
            problems += v.check_error_data(msg.data)
        session.messages.append(msg)
        if msg.type == "end":
            session.done = True
        return problems

    # ---- request side ----

    def open(self, session_id: str, action: str | None) -> None:
        with self._cond:
            self._sessions[session_id] = _Session(action, len(self.violations))

    def _problems(self, sid: str, session: _Session) -> list[str]:
        foreign = [p for s, p in self.violations[session.first_violation :] if s is None]
        return session.problems + foreign

    def _wait_for(self, sid: str, deadline: float, ready: Callable[[_Session], bool]) -> _Session:
        session = self._sessions[sid]
        while not ready(session):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                seen = [x.type for x in session.messages]
                raise TimeoutError(f"session {sid}: no `end` in time (got {seen}){self._describe()}")
            if not self._alive():
                self._cond.wait(0.2)  # let the reader thread drain what the plugin wrote before dying
                if not ready(session):
                    raise RuntimeError(f"session {sid}: the plugin went away before `end`{self._describe()}")
            self._cond.wait(min(remaining, 0.25))
        return session

    def wait(self, sid: str, timeout: float) -> Reply:
        deadline = time.monotonic() + timeout
        with self._cond:
            session = self._sessions[sid]
            try:
                self._wait_for(sid, deadline, lambda s: s.done)
            except (TimeoutError, RuntimeError) as exc:
                # A malformed `end` is never recorded; report the rule it broke rather than a bare timeout.
                if not self._problems(sid, session):
                    raise
                problems = [*self._problems(sid, session), str(exc)]
                raise DaemonRuleViolation(problems, Reply(sid, session.action, list(session.messages))) from exc
            reply = Reply(sid, session.action, list(session.messages), self._problems(sid, session))
        reply.violations += v.check_session_complete([x.type for x in reply.messages])
        if reply.violations:
            raise DaemonRuleViolation(reply.violations, reply)
        return reply

    def iterate(self, sid: str, timeout: float) -> Iterator[tuple[float, Any]]:
        deadline = time.monotonic() + timeout
        index = 0
        while True:
            with self._cond:
                session = self._wait_for(sid, deadline, lambda s, n=index: s.done or len(s.messages) > n or s.problems)
                problems = self._problems(sid, session)
                fresh = session.messages[index:]
                index = len(session.messages)
            if problems:
                raise DaemonRuleViolation(problems, Reply(sid, session.action, list(session.messages), problems))
            for msg in fresh:
                if msg.type == "error":
                    raise PluginReplyError(msg.data)
                if msg.type == "end":
                    return
                if msg.type == "stream":
                    yield msg.ts, msg.data


def _with_no_proxy(env: dict[str, str]) -> dict[str, str]:
    # The emulator and the stand-in daemon listen on loopback; a proxy configured in CI must not intercept them.
    current = env.get("NO_PROXY") or env.get("no_proxy") or ""
    entries = [e.strip() for e in current.split(",") if e.strip()]
    entries += [host for host in LOOPBACK if host not in entries]
    env["NO_PROXY"] = env["no_proxy"] = ",".join(entries)
    return env


class PluginProcess:
    """One plugin instance on stdio, as the daemon runs it."""

    def __init__(self, plugin_dir: str | os.PathLike, python: str = sys.executable, env: dict | None = None) -> None:
        self.plugin_dir = Path(plugin_dir)
        full_env = dict(env) if env is not None else dict(os.environ)
        full_env["INSTALL_METHOD"] = "local"
        self.env = _with_no_proxy(full_env)
        self.stdout_raw_lines: list[bytes] = []
        self._stderr: list[bytes] = []
        self._write_lock = threading.Lock()
        self._closed = False
        self._proc = subprocess.Popen(
            [python, "-m", "main"],
            cwd=self.plugin_dir,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.demux = Demux(expect_manifest=True, alive=self.alive, describe=self._stderr_tail)
        self._threads = [
            threading.Thread(target=self._read_stdout, name=f"plugin-stdout-{self.pid}", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"plugin-stderr-{self.pid}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # ---- reader threads ----

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for raw in iter(self._proc.stdout.readline, b""):
            ts = time.perf_counter()
            line = raw[:-1] if raw.endswith(b"\n") else raw
            self.stdout_raw_lines.append(line)
            self.demux.feed_line(line, ts)
        self.demux.notify()  # wake waiters so they notice the exit

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for raw in iter(self._proc.stderr.readline, b""):
            self._stderr.append(raw)

    # ---- state ----

    @property
    def pid(self) -> int:
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        return self._proc.poll()

    def alive(self) -> bool:
        return self._proc.poll() is None

    # What the plugin announced: its manifest line, log events, heartbeat times and envelope-level errors.
    manifest = property(lambda self: self.demux.manifest)
    logs = property(lambda self: self.demux.logs)
    heartbeats = property(lambda self: self.demux.heartbeats)
    envelope_errors = property(lambda self: self.demux.envelope_errors)

    @property
    def violations(self) -> list[str]:
        return [problem for _, problem in self.demux.violations]

    def stderr_text(self) -> str:
        return b"".join(self._stderr).decode("utf-8", "replace")

    def _stderr_tail(self, limit: int = 2000) -> str:
        tail = self.stderr_text()[-limit:]
        code = self._proc.poll()
        state = "running" if code is None else f"exited with {code}"
        return f"\n[plugin {state}; stderr tail]\n{tail}" if tail else f"\n[plugin {state}; stderr empty]"

    # ---- lifecycle ----

    def wait_ready(self, timeout: float = 120) -> PluginProcess:
        """Block until the first heartbeat, like the daemon (which gives up after 120 s)."""
        deadline = time.monotonic() + timeout
        while not self.demux.heartbeats:
            if not self.alive():
                self._threads[0].join(2)
                if not self.demux.heartbeats:
                    raise PluginStartupError(f"plugin exited before its first heartbeat{self._stderr_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no heartbeat within {timeout}s{self._stderr_tail()}")
            time.sleep(0.02)
        if self.violations:
            raise DaemonRuleViolation(self.violations)
        return self

    def close(self) -> None:
        """SIGTERM, then SIGKILL. Closing stdin is not enough: the SDK spins on EOF instead of exiting."""
        if self._closed:
            return
        self._closed = True
        if self.alive():
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            try:
                if pipe is not None:
                    pipe.close()
            except OSError:
                pass
        for thread in self._threads:
            thread.join(2)

    def __enter__(self) -> PluginProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- requests ----

    def _send(self, data_list: list[dict], **context: str | None) -> list[str]:
        envelopes = [m.envelope(data, **context) for data in data_list]
        for env in envelopes:
            self.demux.open(env["session_id"], env["data"].get("action"))
        # Compact separators and raw UTF-8, like Go's json.Marshal; one line per request.
        payload = b"".join(
            json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for env in envelopes
        )
        assert self._proc.stdin is not None
        with self._write_lock:
            try:
                self._proc.stdin.write(payload)
                self._proc.stdin.flush()
            except (BrokenPipeError, ValueError) as exc:
                raise RuntimeError(f"cannot write to the plugin's stdin{self._stderr_tail()}") from exc
        return [env["session_id"] for env in envelopes]

    def send_raw(self, line: bytes) -> None:
        """Write bytes to stdin as-is (for framing tests); no session is opened."""
        assert self._proc.stdin is not None
        with self._write_lock:
            self._proc.stdin.write(line)
            self._proc.stdin.flush()

    def request(
        self, data: dict, timeout: float = 60, *, conversation_id: str | None = None, app_id: str | None = None
    ) -> Reply:
        """One request; conversation_id and app_id fill the envelope fields the daemon sets for app calls."""
        (sid,) = self._send([data], conversation_id=conversation_id, app_id=app_id)
        return self.demux.wait(sid, timeout)

    def request_many(self, data_list: list[dict], timeout: float = 60) -> list[Reply]:
        """Send every request before reading any reply: concurrent sessions on one stdin, as the daemon does."""
        sids = self._send(list(data_list))
        deadline = time.monotonic() + timeout
        return [self.demux.wait(sid, max(deadline - time.monotonic(), 0.01)) for sid in sids]

    def stream(self, data: dict, timeout: float = 60) -> Iterator[tuple[float, Any]]:
        """Yield (perf_counter receive time, stream data) as items arrive; raise PluginReplyError on `error`."""
        (sid,) = self._send([data])
        yield from self.demux.iterate(sid, timeout)
