"""Offline token estimate for GigaChat prompts: no network, no OAuth, no tokenizer download.

Dify calls get_num_tokens before each request to fit the context window, so it must be cheap. The estimate counts
characters by class with C-speed string operations and applies per-class ratios; GigaChat's own usage numbers,
returned with every answer, stay the authoritative figure.

Where the ratios come from: they were fitted to token counts that GigaChat itself reported for known texts, taken
from public material (the `/tokens/count` and chat cassettes of the ai-forever/gigachat SDK, Sber's API reference
examples, and logged GigaChat responses in public repositories); no other tokenizer was used. Where one ratio could
not fit every model generation, it was rounded towards over-counting, so that a prompt is never believed to fit a
context window it does not fit. The samples, their sources and the measured error are in
tests/unit/test_tokens_calibration.py and docs/token-counting.md.
"""

from __future__ import annotations

import math
import string

# Per-class ratios, fitted to GigaChat's own counts (see the module docstring).
_TWO_BYTE_PER_TOKEN = 3.5  # characters per token: Cyrillic, and other letters two bytes long in UTF-8
_LETTERS_PER_TOKEN = 4.5  # characters per token: ASCII letters (English words, identifiers)
_DIGITS_PER_TOKEN = 1.0  # characters per token: GigaChat splits numbers into single digits
_SYMBOL_TOKENS = 1.0  # tokens per ASCII punctuation mark or symbol
_NEWLINE_TOKENS = 1.5  # tokens per line break, with the indentation that follows it
_WIDE_TOKENS = 1.0  # tokens per UTF-8 byte past the second: a dash or a CJK character 1, an emoji 2 (not measured)
# Role, separators and GigaChat's hidden additions, per message: a one-message request costs 10-12 tokens more than
# its text. Part of that is paid once per request, so requests of several messages are over-counted a little.
MESSAGE_OVERHEAD = 12

_DROP_NON_LETTERS = bytes(set(range(128)) - set(string.ascii_letters.encode()))
_DROP_NON_DIGITS = bytes(set(range(128)) - set(string.digits.encode()))
_DROP_NON_SYMBOLS = (string.ascii_letters + string.digits + string.whitespace).encode()


def estimate_tokens(text: str) -> int:
    if not text:
        return 0
    ascii_bytes = text.encode("ascii", "ignore")
    non_ascii = len(text) - len(ascii_bytes)
    wide = 0
    if non_ascii:
        # UTF-8 length tells two-byte letters (Cyrillic) from wider characters without a per-character loop:
        # its excess over the ASCII and two-byte minimum is one per three-byte character and two per four-byte one.
        wide = len(text.encode("utf-8", "surrogatepass")) - len(ascii_bytes) - 2 * non_ascii
    two_byte = max(0, non_ascii - wide)
    letters = len(ascii_bytes.translate(None, _DROP_NON_LETTERS))
    digits = len(ascii_bytes.translate(None, _DROP_NON_DIGITS))
    symbols = len(ascii_bytes.translate(None, _DROP_NON_SYMBOLS))
    newlines = ascii_bytes.count(b"\n")
    estimate = (
        two_byte / _TWO_BYTE_PER_TOKEN
        + wide * _WIDE_TOKENS
        + letters / _LETTERS_PER_TOKEN
        + digits / _DIGITS_PER_TOKEN
        + symbols * _SYMBOL_TOKENS
        + newlines * _NEWLINE_TOKENS
    )
    return max(1, math.ceil(estimate))


def estimate_prompt_tokens(texts: list[str]) -> int:
    return sum(estimate_tokens(text) + MESSAGE_OVERHEAD for text in texts)


# Usage numbers from an answer go to Dify's billing and its usage records, so a broken or hostile server's negative
# or astronomical counts are clamped first. A hundred million tokens in one call is far beyond any context window
# the plugin lists (128,000 tokens, models/llm/*.yaml) and any embedding batch the plugin sends, and keeps
# sums of counts well inside the 32-bit integers databases commonly store them in.
MAX_BILLABLE_TOKENS = 100_000_000


def billable(tokens: int) -> int:
    """A token count from an answer, clamped to what one call can have used: never negative, never absurd."""
    return min(max(tokens, 0), MAX_BILLABLE_TOKENS)
