"""Pure helpers for embeddings: split long texts, plan requests within GigaChat's limits, merge vectors."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

# Sentence ends, then line breaks, then spaces: the most natural boundary that fits wins.
_BOUNDARIES = (re.compile(r"(?<=[.!?…])\s+"), re.compile(r"\n+"), re.compile(r"\s+"))


def split_text(text: str, max_tokens: int, count: Callable[[str], int]) -> list[str]:
    """Split text into parts of at most max_tokens (by `count`), at the most natural boundary available."""
    if count(text) <= max_tokens:
        return [text]
    for boundary in _BOUNDARIES:
        pieces = [p for p in boundary.split(text) if p]
        if len(pieces) > 1:
            return _pack(pieces, max_tokens, count, boundary)
    # One unbroken run of characters (a hash, a base64 blob): cut it by length.
    size = max(1, len(text) * max_tokens // max(count(text), 1))
    return [text[i : i + size] for i in range(0, len(text), size)]


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


def plan_batches(sizes: Sequence[int], max_items: int, max_tokens: int) -> list[list[int]]:
    """Group item indexes, in order, into batches of at most max_items items and max_tokens estimated tokens."""
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for index, size in enumerate(sizes):
        if current and (len(current) >= max_items or tokens + size > max_tokens):
            batches.append(current)
            current, tokens = [], 0
        current.append(index)
        tokens += size
    if current:
        batches.append(current)
    return batches


def merge_vectors(vectors: Sequence[Sequence[float]], weights: Sequence[float]) -> list[float]:
    """Weighted average of the parts' vectors, L2-normalized: one vector for a text embedded in parts."""
    if len(vectors) == 1:
        return normalize(vectors[0])
    total = sum(weights) or 1.0
    merged = [sum(v[i] * w for v, w in zip(vectors, weights, strict=True)) / total for i in range(len(vectors[0]))]
    return normalize(merged)


def normalize(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector] if norm else list(vector)
