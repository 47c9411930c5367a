"""Pure helpers for embeddings: count conservatively, split long texts, plan requests, merge vectors."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from ..common.tokens import estimate_tokens

# Sentence ends, then line breaks, then spaces: the most natural boundary that fits wins.
_BOUNDARIES = (re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\n+"), re.compile(r"\s+"))
# No tokenizer we know of packs more than about four characters into a token on average (Sber documents 3-4), so
# a text is never counted below that, whatever the character-class estimate says about it.
_MAX_CHARS_PER_TOKEN = 4


def budget_tokens(text: str) -> int:
    """A token count that errs high: what a text is assumed to cost when it must fit a context."""
    return max(estimate_tokens(text), math.ceil(len(text) / _MAX_CHARS_PER_TOKEN))


def split_text(text: str, max_tokens: int, count: Callable[[str], int] = budget_tokens) -> list[str]:
    """Split text into parts of at most max_tokens (by `count`), at the most natural boundary available."""
    if len(text) <= 1 or count(text) <= max_tokens:
        return [text]
    for boundary in _BOUNDARIES:
        pieces = [p for p in boundary.split(text) if p]
        if len(pieces) > 1:
            return _pack(pieces, max_tokens, count, boundary)
    # One unbroken run of characters (a hash, a base64 blob): cut it by length.
    size = max(1, len(text) * max_tokens // max(count(text), 1))
    return [part for i in range(0, len(text), size) for part in split_text(text[i : i + size], max_tokens, count)]


def _pack(pieces: list[str], max_tokens: int, count: Callable[[str], int], boundary: re.Pattern) -> list[str]:
    joiner = "\n" if boundary.pattern == r"\n+" else " "
    parts: list[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if count(candidate) <= max_tokens:
            current = candidate
            continue
        if current:
            parts.append(current)
        if count(piece) > max_tokens:
            parts.extend(split_text(piece, max_tokens, count))
            current = ""
        else:
            current = piece
    if current:
        parts.append(current)
    return parts


def plan_batches(
    sizes: Sequence[int], max_items: int, max_tokens: int, spread: int = 1, min_items: int = 1
) -> list[list[int]]:
    """Group item indexes, in order, into requests of at most max_items items and max_tokens tokens.

    The items are also spread over up to `spread` requests of at least `min_items` items each, so that a call
    with a few dozen texts still runs as several concurrent requests instead of one long one.
    """
    if not sizes:
        return []
    wanted = max(1, min(spread, len(sizes) // max(min_items, 1)))
    per_request = max(1, min(max_items, math.ceil(len(sizes) / wanted)))
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for index, size in enumerate(sizes):
        if current and (len(current) >= per_request or tokens + size > max_tokens):
            batches.append(current)
            current, tokens = [], 0
        current.append(index)
        tokens += size
    batches.append(current)
    return batches


def merge_vectors(vectors: Sequence[Sequence[float]], weights: Sequence[float]) -> list[float]:
    """One vector for a text: GigaChat's own for a text embedded whole, the unit-length weighted mean of the parts'
    directions for a text embedded in parts.

    A whole text's vector passes through unchanged: Dify normalizes every vector before it stores or compares it
    (langgenius/dify api/core/rag/embedding/cached_embedding.py), and GigaChat's float16 numbers (0.53857421875)
    keep the reply line about a third shorter than normalized full-precision ones (-0.016830444335937502). Parts
    are normalized before averaging, because a part's norm says nothing about how much of the text it carries; its
    weight (its token count) does.
    """
    if len(vectors) == 1:
        return list(vectors[0])
    total = sum(weights)
    shares = [w / total for w in weights] if total > 0 else [1 / len(vectors)] * len(vectors)
    merged = [0.0] * len(vectors[0])
    for vector, share in zip(vectors, shares, strict=True):
        scale = share / (math.hypot(*vector) or 1.0)
        merged = [m + x * scale for m, x in zip(merged, vector, strict=True)]
    return normalize(merged)


def normalize(vector: Sequence[float]) -> list[float]:
    """The vector scaled to length 1 (a zero vector is returned as it is)."""
    norm = math.hypot(*vector)
    if not norm:
        return list(vector)
    scale = 1.0 / norm
    return [x * scale for x in vector]


# The reply to Dify is one stdout line, and the daemon reads at most 5 MiB of a line (PLUGIN_RUNTIME_MAX_BUFFER_SIZE,
# langgenius/dify-plugin-daemon internal/core/local_runtime/instance.go). Dify's calls (max_chunks texts) fit with
# full precision; a bigger call is answered with vectors rounded to ROUNDED_DECIMALS places rather than with a line
# the daemon cannot read.
REPLY_BUDGET_BYTES = int(4.5 * 1024 * 1024)
FULL_FLOAT_BYTES = 25  # the longest a float64 gets in the reply: "-0.000015851272367412408,"
# "-5.12345678,": GigaChat's components are a few units at most (±5.5 in the SDK's recorded answer); a component of
# ±10 to ±100 takes one byte more, which the budget's half MiB below the daemon's limit covers.
ROUNDED_FLOAT_BYTES = 12
ROUNDED_DECIMALS = 8  # an error of at most 5e-9 per component, below what float32 vector stores keep


def fit_reply(vectors: list[list[float]]) -> list[list[float]] | None:
    """The vectors as they can be sent in one reply: as they are, rounded, or None when even that is too big."""
    floats = sum(len(vector) for vector in vectors)
    if floats * FULL_FLOAT_BYTES <= REPLY_BUDGET_BYTES:
        return vectors
    if floats * ROUNDED_FLOAT_BYTES <= REPLY_BUDGET_BYTES:
        return [[round(x, ROUNDED_DECIMALS) for x in vector] for vector in vectors]
    return None
