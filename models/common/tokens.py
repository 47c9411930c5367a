"""Offline token estimate for GigaChat prompts: no network, no OAuth, no tokenizer download.

Dify calls get_num_tokens before each request to fit the context window, so it must be cheap. The estimate counts
characters by class with C-speed string operations and applies per-class ratios; GigaChat's own usage numbers,
returned with every answer, stay the authoritative figure. Ratios and the measured error are in README.md
("Token counting").
"""

from __future__ import annotations

import math
import string

# Characters per token, by class.
_NON_ASCII_PER_TOKEN = 3.0  # mostly Cyrillic
_LETTERS_PER_TOKEN = 4.0  # Latin words
_DIGITS_PER_TOKEN = 2.0
_SYMBOL_TOKENS = 0.8  # punctuation and symbols usually stand alone
MESSAGE_OVERHEAD = 3  # role and separators around each message

_DROP_NON_LETTERS = bytes(set(range(128)) - set(string.ascii_letters.encode()))
_DROP_NON_DIGITS = bytes(set(range(128)) - set(string.digits.encode()))
_DROP_NON_SYMBOLS = (string.ascii_letters + string.digits + string.whitespace).encode()


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    ascii_bytes = text.encode("ascii", "ignore")
    non_ascii = len(text) - len(ascii_bytes)
    letters = len(ascii_bytes.translate(None, _DROP_NON_LETTERS))
    digits = len(ascii_bytes.translate(None, _DROP_NON_DIGITS))
    symbols = len(ascii_bytes.translate(None, _DROP_NON_SYMBOLS))
    estimate = (
        non_ascii / _NON_ASCII_PER_TOKEN
        + letters / _LETTERS_PER_TOKEN
        + digits / _DIGITS_PER_TOKEN
        + symbols * _SYMBOL_TOKENS
    )
    return max(1, math.ceil(estimate))


def estimate_prompt_tokens(texts: list[str]) -> int:
    return sum(estimate_tokens(text) + MESSAGE_OVERHEAD for text in texts)
