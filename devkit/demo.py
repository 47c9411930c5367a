"""`make demo`: the packaged plugin, run as Dify's daemon runs it, against the bundled GigaChat emulator.

Builds dist/gigachat-<version>.difypkg, installs it into a temporary folder, starts `python -m main` there with
INSTALL_METHOD=local, and talks to it over stdin/stdout in the daemon's envelope: credential validation, a streamed
answer (printed as it arrives), a tool call, a web search answer with its sources and an embedding.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from devkit import ROOT
from devkit.emulator import GigaChatEmulator, Reply
from devkit.harness import PluginProcess
from devkit.harness import messages as m
from devkit.rig import PROVIDER, credentials_for, install_plugin


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="gigachat-demo-") as folder, GigaChatEmulator(chunk_delay=0.15) as emu:
        installed = install_plugin(Path(folder), dist=ROOT / "dist")
        built = installed.built
        print(f"packaged   {built.identifier} ({len(built.files)} files, {built.size:,} bytes)")
        credentials = credentials_for(emu)
        print(f"emulator   {emu.base_url}")
        started = time.perf_counter()
        with PluginProcess(installed.dir, python=sys.executable) as plugin:
            plugin.wait_ready(120)
            print(f"plugin     ready (first heartbeat) after {time.perf_counter() - started:.2f} s")
            validation = plugin.request(m.validate_provider_credentials(PROVIDER, credentials))
            print(f"validate   {'ok' if validation.error is None else validation.error['message']}")
            _stream_answer(plugin, emu, credentials)
            _tool_call(plugin, emu, credentials)
            _web_search(plugin, credentials)
            embedding = plugin.request(
                m.invoke_embedding(PROVIDER, "EmbeddingsGigaR", credentials, ["Что такое Dify?"], "query")
            )
            vector = embedding.chunks[0]["embeddings"][0]
            print(f"embedding  {len(vector)} dimensions, usage {embedding.chunks[0]['usage']['tokens']} tokens")
        print(f"oauth      {emu.oauth_calls} token request(s) for all of the above")
    return 0


def _stream_answer(plugin: PluginProcess, emu: GigaChatEmulator, credentials: dict) -> None:
    emu.script(Reply(text=["GigaChat ", "answers ", "through ", "Dify, ", "chunk ", "by ", "chunk."]))
    request = m.invoke_llm(PROVIDER, "GigaChat-2-Max", credentials, [m.system("Be brief."), m.user("Hello!")])
    print("stream     ", end="", flush=True)
    for _, chunk in plugin.stream(request):
        delta = chunk["delta"]
        print(delta["message"]["content"], end="", flush=True)
        if delta["usage"]:
            usage = delta["usage"]
            print(f"\n           finish={delta['finish_reason']} prompt={usage['prompt_tokens']} "
                  f"completion={usage['completion_tokens']} tokens")  # fmt: skip


def _tool_call(plugin: PluginProcess, emu: GigaChatEmulator, credentials: dict) -> None:
    emu.chunk_delay = 0
    emu.script(Reply(function_call=("get_weather", {"city": "Москва"}), functions_state_id="demo-state"))
    weather = m.tool_def(
        "get_weather",
        "Current weather in a city",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    )
    request = m.invoke_llm(PROVIDER, "GigaChat-2-Max", credentials, [m.user("Weather in Moscow?")], tools=[weather])
    reply = plugin.request(request)
    for call in reply.tool_calls:
        arguments = json.loads(call["function"]["arguments"])
        print(f"tool call  {call['function']['name']}({arguments}) finish={reply.finish_reason}")


def _web_search(plugin: PluginProcess, credentials: dict) -> None:
    """GigaChat-3-Ultra with its web search switch on: references and the cited sources, as a reader sees them."""
    messages = [m.user("Python news?")]
    request = m.invoke_llm(PROVIDER, "GigaChat-3-Ultra", credentials, messages, {"web_search": True}, stream=False)
    reply = plugin.request(request)
    lines = (reply.text or reply.error["message"]).split("\n")
    print("web search " + "\n".join([lines[0], *(f"           {line}" if line else "" for line in lines[1:])]))


if __name__ == "__main__":
    raise SystemExit(main())
