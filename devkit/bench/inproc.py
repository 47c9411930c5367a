"""Figure 4's in-process half, run by devkit/bench/calls.py in the extracted plugin's folder (its cwd).

Reads the prompt on stdin, prints {"get_num_tokens": [...], "estimate": [...]}: per run, the median seconds of one
call of the LLM's get_num_tokens (what dify_plugin calls for get_llm_num_tokens) and of the bare estimate.
A separate process because importing the plugin imports dify_plugin, which gevent-patches the importing process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.getcwd())  # the plugin folder, as `python -m main` sees it

from dify_plugin.entities.model.message import UserPromptMessage

from models.common.tokens import estimate_prompt_tokens
from models.llm.llm import GigaChatLargeLanguageModel


def _median_call(fn, calls: int) -> float:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    text = sys.stdin.read()
    llm = GigaChatLargeLanguageModel(model_schemas=[])
    # dify_plugin hands the model parsed PromptMessage objects, so parsing is not part of the plugin's count.
    messages = [UserPromptMessage(content=text)]
    credentials = {"api_key": "unused: counting never authenticates"}
    out: dict[str, list[float]] = {"get_num_tokens": [], "estimate": []}
    for _ in range(args.runs):
        out["get_num_tokens"].append(
            _median_call(lambda: llm.get_num_tokens("GigaChat-2", credentials, messages, None), args.calls)
        )
        out["estimate"].append(_median_call(lambda: estimate_prompt_tokens([text]), args.calls))
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
