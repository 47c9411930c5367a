"""models/text_embedding/batching.py: conservative counts, natural splits, in-order request plans, merged vectors."""

from __future__ import annotations

import json
import math

import pytest

from devkit.emulator import count_tokens
from models.common.tokens import estimate_tokens
from models.text_embedding.batching import (
    REPLY_BUDGET_BYTES,
    budget_tokens,
    fit_reply,
    merge_vectors,
    normalize,
    plan_batches,
    split_text,
)

SENTENCES = " ".join(f"Sentence number {i} says something about embeddings." for i in range(60))
LINES = "\n".join(f"line {i} of a table without any full stops" for i in range(80))
WORDS = " ".join(f"word{i}" for i in range(400))
BLOB = "x" * 5000


def words(text: str) -> list[str]:
    return text.split()


# ---- counting -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "a b c d e f g", SENTENCES, "Привет, мир! " * 50, "1234567890" * 20, BLOB])
def test_the_budget_count_is_never_below_the_estimate_nor_one_token_per_four_characters(text):
    assert budget_tokens(text) >= estimate_tokens(text)
    assert budget_tokens(text) >= count_tokens(text)  # the emulator's rule: a token per started 4 characters


# ---- splitting ------------------------------------------------------------------------------------------------------


def test_a_text_within_the_limit_stays_whole():
    assert split_text("A short text.", 100) == ["A short text."]


@pytest.mark.parametrize(
    ("text", "limit", "boundary"),
    [
        (SENTENCES, 120, "."),  # sentence ends come first
        (LINES, 100, None),  # then line breaks
        (WORDS, 50, None),  # then spaces
    ],
    ids=["sentences", "lines", "words"],
)
def test_a_long_text_is_split_at_natural_boundaries_into_parts_that_fit(text, limit, boundary):
    parts = split_text(text, limit)
    assert len(parts) > 1
    assert all(budget_tokens(part) <= limit for part in parts)
    assert [w for part in parts for w in words(part)] == words(text)  # nothing lost, nothing reordered
    if boundary:
        assert all(part.endswith(boundary) for part in parts)


def test_an_unbroken_run_of_characters_is_cut_by_length():
    parts = split_text(BLOB, 100)
    assert "".join(parts) == BLOB
    assert all(budget_tokens(part) <= 100 for part in parts)


def test_a_single_overlong_sentence_is_split_further_at_spaces():
    text = "Short one. " + " ".join(["long"] * 300) + ". Another short one."
    parts = split_text(text, 60)
    assert all(budget_tokens(part) <= 60 for part in parts)
    assert [w for part in parts for w in words(part)] == words(text)


def test_a_custom_count_drives_the_split():
    parts = split_text("a b c d e f", 2, count=lambda t: len(t.split()))
    assert parts == ["a b", "c d", "e f"]


# ---- request plans --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "max_items", "spread", "min_items", "expected"),
    [
        (0, 64, 4, 8, []),
        (1, 64, 4, 8, [1]),  # a search query: one request
        (5, 64, 4, 8, [5]),  # too few texts to be worth spreading
        (20, 64, 4, 8, [10, 10]),  # spread, but no request below min_items
        (128, 64, 4, 8, [32, 32, 32, 32]),  # Dify's max_chunks call: one request per worker
        (250, 64, 4, 8, [63, 63, 63, 61]),
        (1000, 64, 4, 8, [64] * 15 + [40]),  # never above max_items
        (128, 64, 1, 8, [64, 64]),  # parallelism 1: as few requests as the limits allow
        (128, 64, 16, 8, [8] * 16),
    ],
)
def test_requests_are_spread_over_the_parallelism_within_the_item_limit(count, max_items, spread, min_items, expected):
    batches = plan_batches([1] * count, max_items, 10**9, spread=spread, min_items=min_items)
    assert [len(b) for b in batches] == expected
    assert [i for b in batches for i in b] == list(range(count))  # every item once, in order


def test_the_token_limit_closes_a_request_early_and_an_oversized_item_goes_alone():
    batches = plan_batches([40, 40, 40, 500, 10, 10], max_items=64, max_tokens=100)
    assert batches == [[0, 1], [2], [3], [4, 5]]


# ---- merging --------------------------------------------------------------------------------------------------------


def unit(vector: list[float]) -> bool:
    return math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-12)


def test_a_text_embedded_whole_keeps_gigachats_numbers_unchanged():
    assert merge_vectors([[3.0, 4.0]], [7]) == [3.0, 4.0]


@pytest.mark.parametrize(
    ("vectors", "weights", "expected"),
    [
        ([[1.0, 0.0], [0.0, 1.0]], [1, 1], [math.sqrt(0.5), math.sqrt(0.5)]),
        ([[1.0, 0.0], [0.0, 1.0]], [3, 1], [3 / math.sqrt(10), 1 / math.sqrt(10)]),
        # A part's norm carries no weight: only its token count does.
        ([[100.0, 0.0], [0.0, 1.0]], [1, 1], [math.sqrt(0.5), math.sqrt(0.5)]),
        ([[1.0, 0.0], [0.0, 1.0]], [0, 0], [math.sqrt(0.5), math.sqrt(0.5)]),
    ],
    ids=["equal", "weighted", "norms-ignored", "no-weights"],
)
def test_parts_merge_into_the_weighted_mean_of_their_directions(vectors, weights, expected):
    merged = merge_vectors(vectors, weights)
    assert merged == pytest.approx(expected)
    assert unit(merged)


def test_a_zero_vector_stays_zero_instead_of_dividing_by_zero():
    assert normalize([0.0, 0.0]) == [0.0, 0.0]


# ---- fitting the reply line -----------------------------------------------------------------------------------------


def test_a_call_of_dify_size_is_sent_with_full_precision():
    vectors = [[0.123456789012345] * 2560 for _ in range(64)]
    assert fit_reply(vectors) is vectors


def test_a_bigger_call_is_sent_rounded_to_8_places_so_its_reply_still_fits_the_daemons_line():
    vectors = [[-0.0123456789012345] * 1024 for _ in range(250)]
    fitted = fit_reply(vectors)
    assert fitted is not None
    assert fitted[0][0] == -0.01234568
    assert len(json.dumps(fitted)) < REPLY_BUDGET_BYTES


def test_a_call_too_big_even_when_rounded_cannot_be_fitted():
    assert fit_reply([[0.5] * 2560 for _ in range(200)]) is None
