"""The privacy session's parts (tests/e2e/test_privacy.py): the canaries, the scenarios' registry and the helpers
that run a request through the plugin. Scenarios are registered with `@scenario` in test_privacy.py and
privacy_paths.py; the session runs them all, in one plugin process, in the order they were registered.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trustme

from devkit.emulator import Fault, GigaChatEmulator, Reply, UploadedFile
from devkit.harness import PluginProcess
from devkit.harness import Reply as PluginReply
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for

MODEL = "GigaChat-2-Max"

CLIENT_ID, CLIENT_SECRET = "canary-client-id-3c9e", "canary-client-secret-8d2f"
KEY = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
WRONG_SECRET = "canary-wrong-secret-71ad"
WRONG_KEY = base64.b64encode(f"{CLIENT_ID}:{WRONG_SECRET}".encode()).decode()
PASSWORD, WRONG_PASSWORD = "canary-password-5a7b", "canary-wrong-password-0c3e"
SHORT_PASSWORD = "q7#Zx"  # shorter than any window a message is searched for
BASIC = base64.b64encode(f"canary-user:{SHORT_PASSWORD}".encode()).decode()  # the Basic string /token receives
FRAGMENTED_ID, FRAGMENTED_SECRET = "canary-fragment-id-1b7c", "k3x9-77QpZ0wLmR2v-canary"
SECRET_FRAGMENT = FRAGMENTED_SECRET[5:17]  # 12 characters a server quotes of the secret
PROMPT = "canary-prompt-6e1d: пациент Иванов, диагноз и номер полиса 4410 2298"
ANSWER = "canary-answer-9b4c: the diagnosis is confidential"
FILE = b"canary-file-2f8a: quarterly report, strictly confidential\n"
ECHOED = "(GigaChat's message is withheld because it quotes the request)"


# ---- the session ----------------------------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    run: Callable[[Session], PluginReply]
    error: str | None = None  # the expected error_type, None for success
    keeps: tuple[str, ...] = ()  # what the error message must keep of GigaChat's answer


@dataclass
class Session:
    plugin: PluginProcess
    emu: GigaChatEmulator
    https: GigaChatEmulator
    mtls: GigaChatEmulator
    ca: trustme.CA
    client_ca: trustme.CA
    replies: dict[str, PluginReply] = field(default_factory=dict)
    canaries: dict[str, bytes] = field(default_factory=dict)
    dirs: dict[str, Path] = field(default_factory=dict)
    before: dict[str, dict[str, tuple]] = field(default_factory=dict)
    after: dict[str, dict[str, tuple]] = field(default_factory=dict)
    started: float = 0.0
    sent: list[object] = field(default_factory=list)  # chat and embedding request bodies GigaChat received
    uploads: dict[str, UploadedFile] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def creds(self, **overrides: str) -> dict[str, str]:
        return credentials_for(self.emu, api_key=KEY) | overrides

    def settle(self) -> None:
        """Keep what GigaChat received, then clear every emulator so no fault or script outlives its scenario."""
        for emu in (self.emu, self.https, self.mtls):
            self.sent += [*emu.chat_requests, *emu.embedding_requests]
            self.uploads |= emu.files
            self.deleted += emu.deleted_files
            emu.reset()


def ask(s: Session, creds: dict[str, str], stream: bool = True, tools: list[dict] | None = None) -> PluginReply:
    document = m.document_part(
        base64_data=base64.b64encode(FILE).decode(), mime_type="text/plain", filename="report.txt"
    )
    parts: list[dict] = [m.text_part(PROMPT), document]
    return s.plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user(parts)], tools=tools, stream=stream))


def ask_text(s: Session, creds: dict[str, str], stream: bool = True) -> PluginReply:
    return s.plugin.request(m.invoke_llm(PROVIDER, MODEL, creds, [m.user(PROMPT)], stream=stream))


def answered(s: Session, reply: Reply, creds: dict[str, str] | None = None, stream: bool = True) -> PluginReply:
    s.emu.script(reply)
    return ask(s, creds or s.creds(), stream)


def faulted(s: Session, fault: Fault, path: str = "/chat/completions", times: int = 1, stream: bool = True):
    s.emu.inject(fault, path, times)
    return ask_text(s, s.creds(), stream)


def validation(s: Session, creds: dict[str, str]) -> PluginReply:
    return s.plugin.request(m.validate_provider_credentials(PROVIDER, creds))


def user_password(s: Session, password: str) -> dict[str, str]:
    return {"auth_method": "user_password", "username": "canary-user", "password": password, "base_url": s.emu.base_url}


LOOKUP = m.tool_def(
    "lookup_record", "Finds a patient record", {"type": "object", "properties": {"query": {"type": "string"}}}
)
MALFORMED_USAGE = {"prompt_tokens": ANSWER, "completion_tokens": 1, "total_tokens": 2}
SCENARIOS: list[Scenario] = []


def scenario(error: str | None = None, *keeps: str) -> Callable[[Callable[[Session], PluginReply]], None]:
    """Register a scenario of the session: its expected error type and what its message must keep."""

    def register(run: Callable[[Session], PluginReply]) -> None:
        SCENARIOS.append(Scenario(run.__name__.replace("_", "-"), run, error, keeps))

    return register


def canaries(s: Session) -> dict[str, bytes]:
    found = {
        "authorization key": KEY.encode(),
        "client secret": CLIENT_SECRET.encode(),
        "wrong key": WRONG_KEY.encode(),
        "wrong secret": WRONG_SECRET.encode(),
        "password": PASSWORD.encode(),
        "wrong password": WRONG_PASSWORD.encode(),
        "prompt": PROMPT.split(":")[0].encode(),
        "answer": ANSWER.split(":")[0].encode(),
        "file": FILE.split(b":")[0],
        "file as base64": base64.b64encode(FILE),
        "short password": SHORT_PASSWORD.encode(),
        "Basic string": BASIC.encode(),
        "fragment of a secret": SECRET_FRAGMENT.encode(),
        **s.canaries,
    }
    return {name: value for name, value in found.items() if value}


def leaks(text: str | bytes, s: Session, allowed: tuple[str, ...] = ()) -> list[str]:
    """The canaries found in text (each canary is ASCII, so JSON escaping cannot hide it)."""
    data = text.encode() if isinstance(text, str) else text
    return [name for name, value in canaries(s).items() if name not in allowed and value in data]
