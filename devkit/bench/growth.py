"""Figure 8 of `make bench`: the plugin's cost grows in step with its input. Four times the input must cost less than
five times the time (a linear cost gives 4×; a cost that copies what it has so far for each new piece, 16×).

Two inputs a hostile or careless caller controls, each through the packaged plugin and timed on the harness's clock
(request line written -> `end` read): a streamed answer of many chunks (GigaChat's side, scripted on the emulator),
and a prompt of many consecutive user messages, which GigaChat needs joined into one (Dify's side).
"""

from __future__ import annotations

from devkit.bench.stats import Row, Stat
from devkit.emulator import Reply
from devkit.harness import messages as m
from devkit.rig import MODEL, PROVIDER, Rig, chat_request, checked, timed_request

GROWTH_TARGET = 5.0
PIECE = "word " * 40  # 200 characters a chunk or a message: enough text that copying it again and again shows


def _stream_seconds(rig: Rig, chunks: int) -> float:
    rig.emulator.script(Reply(text=[PIECE] * chunks))
    reply, seconds = timed_request(rig.plugin, chat_request(rig.creds, "tell me a long story", stream=True), 300)
    checked(reply)
    return seconds


def _messages_seconds(rig: Rig, messages: int) -> float:
    rig.emulator.script(Reply(text="ok"))  # not the emulator's echo of all the text: only the prompt should grow
    prompt = [m.user(f"{i}: {PIECE}") for i in range(messages)]
    data = m.invoke_llm(PROVIDER, MODEL, rig.creds, prompt, stream=False)
    reply, seconds = timed_request(rig.plugin, data, 300)
    checked(reply)
    return seconds


def growth(rig: Rig, runs: int, chunks: int, messages: int) -> list[Row]:
    rows = []
    measures = [
        (f"Streamed answer: {chunks:,} → {4 * chunks:,} chunks of 200 characters", _stream_seconds, chunks),
        (f"Prompt: {messages:,} → {4 * messages:,} consecutive user messages of 200 characters", _messages_seconds,
         messages),
    ]  # fmt: skip
    for measure, seconds_for, size in measures:
        small, large = [], []
        for _ in range(runs):
            small.append(seconds_for(rig, size))
            large.append(seconds_for(rig, 4 * size))
            rig.emulator.reset()
        # The ratio of the medians: a ratio per run divides one noisy figure by another.
        ratio = Stat.of(large).median / Stat.of(small).median
        rows.append(
            Row(
                "8",
                f"Cost growth, 4× the input. {measure}: time of the larger",
                Stat.of(large).fmt("s"),
                f"{Stat.of(small).fmt('s')} (the smaller)",
                f"{ratio:.2f}× the time (of the medians)",
                f"< {GROWTH_TARGET:g}×",
                ratio < GROWTH_TARGET,
            )
        )
    return rows
