"""models/common/tokens.py against token counts that GigaChat itself reported for known texts.

Every sample below is a text (or a request's messages) together with a number GigaChat returned for it, and where
that number was published. No other tokenizer is involved. Three kinds of number:

- `count`: `POST /tokens/count`, the tokens of the text alone.
- `answer`: `usage.completion_tokens` of a chat answer, minus the one end-of-message token every answer carries
  (GigaChat reports 2 for the answer "Hello").
- `prompt`: `usage.prompt_tokens` of a request with these messages, GigaChat's hidden overhead included; compared
  with `estimate_prompt_tokens`, as Dify's `get_num_tokens` is answered.

Long texts are not copied here. The estimate reads nothing but how many characters of each class a text has, so a
long sample is given by that composition and rebuilt as a stand-in text of the same composition.

The tolerances are the errors measured on these samples (docs/token-counting.md), rounded outwards: an
estimate may over-count a good deal more than it may under-count, because an under-count lets a prompt overflow
the context window.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from models.common.tokens import estimate_prompt_tokens, estimate_tokens

GIGACHAT_CASSETTES = "ai-forever/gigachat tests/integration/cassettes/"
SBER_API_REFERENCE = (
    "Sber GigaChat API reference, POST /chat/completions examples "
    "(developers.sber.ru/docs/ru/gigachat/api/reference/rest/post-chat; copy: "
    "Waso-python/Smart_PDF_parser readme_gigachat_api.md)"
)


def composed(two_byte=0, wide=0, letters=0, digits=0, symbols=0, newlines=0, spaces=0) -> str:
    """A stand-in text with the given composition: two-byte letters (Cyrillic), wider characters (dashes, CJK),
    ASCII letters, digits, ASCII symbols, line breaks and other whitespace."""
    return "ж" * two_byte + "—" * wide + "a" * letters + "7" * digits + "." * symbols + "\n" * newlines + " " * spaces


@dataclass(frozen=True)
class Sample:
    name: str
    group: str  # "en", "ru" or "code" (code, JSON, numbers and mixed text)
    kind: str  # "count", "answer" or "prompt"
    text: str | tuple[str, ...]  # one text, or a request's messages for kind "prompt"
    reported: int  # the number GigaChat reported
    source: str

    @property
    def real(self) -> int:
        return self.reported - 1 if self.kind == "answer" else self.reported

    @property
    def estimate(self) -> int:
        if self.kind == "prompt":
            return estimate_prompt_tokens(list(self.text))
        return estimate_tokens(self.text)


SAMPLES = [
    # --- English -----------------------------------------------------------------------------------------------
    Sample("en_first_text", "en", "count", "First text", 2, GIGACHAT_CASSETTES + "test_tokens_count_multiple.yaml"),
    Sample("en_second_text", "en", "count", "Second text", 2, GIGACHAT_CASSETTES + "test_tokens_count_multiple.yaml"),
    Sample("en_hello_world", "en", "count", "Hello, world!", 4, GIGACHAT_CASSETTES + "test_tokens_count_single.yaml"),
    # GigaChat:2.0.28.2
    Sample("en_answer_hello_dot", "en", "answer", "Hello.", 3, GIGACHAT_CASSETTES + "test_chat_simple.yaml"),
    # GigaChat-3-Ultra:32.3.18.5
    Sample("en_answer_hello", "en", "answer", "Hello", 2, GIGACHAT_CASSETTES + "test_primary_chat_create_simple.yaml"),
    # GigaChat-3-Ultra:32.3.18.5, the answer after a function result
    Sample(
        "en_answer_order_status",
        "en",
        "answer",
        "Order A-1024 is currently packed and scheduled for delivery tomorrow.",
        17,
        GIGACHAT_CASSETTES + "test_primary_chat_function_tool_roundtrip.yaml",
    ),
    # GigaChat:2.0.28.2, a one-sentence English translation (145 characters)
    Sample(
        "en_answer_translation",
        "en",
        "answer",
        composed(letters=118, symbols=4, spaces=23),
        30,
        SBER_API_REFERENCE + ", application/json example",
    ),
    # GigaChat:2.0.28.2, the same sentence with one more word (149 characters)
    Sample(
        "en_answer_translation_streamed",
        "en",
        "answer",
        composed(letters=121, symbols=4, spaces=24),
        31,
        SBER_API_REFERENCE + ", text/event-stream example",
    ),
    # GigaChat:2.0.28.2
    Sample(
        "en_prompt_say_hello",
        "en",
        "prompt",
        ("Say 'Hello' and nothing else",),
        17,
        GIGACHAT_CASSETTES + "test_chat_simple.yaml",
    ),
    # GigaChat-3-Ultra:32.3.18.5
    Sample(
        "en_prompt_say_hello_ultra",
        "en",
        "prompt",
        ("Say 'Hello' and nothing else",),
        19,
        GIGACHAT_CASSETTES + "test_primary_chat_create_simple.yaml",
    ),
    # GigaChat-3-Ultra:32.3.18.5
    Sample(
        "en_prompt_ticket_code",
        "en",
        "prompt",
        ("Generate one support ticket code.",),
        18,
        GIGACHAT_CASSETTES + "test_primary_chat_regex_format.yaml",
    ),
    # --- Russian -----------------------------------------------------------------------------------------------
    # GigaChat-Plus:3.1.25.3
    Sample(
        "ru_answer_players",
        "ru",
        "answer",
        "На поле должно быть 11 игроков от каждой команды.",
        13,
        "TalismanFR/gigachat-php-sdk tests/Unit/Service/GigaChatServiceTest.php",
    ),
    # GigaChat:3.1.25.3, a children's story (386 characters)
    Sample(
        "ru_answer_story",
        "ru",
        "answer",
        composed(two_byte=305, symbols=17, spaces=64),
        110,
        "nastya-ilicheva/cat_skazkoplet candinsky_and_gigachat/giga.py (an earlier revision)",
    ),
    # GigaChat:1.0.26.20, a Markdown list of five reasons (1,210 characters)
    Sample(
        "ru_answer_markdown_list",
        "ru",
        "answer",
        composed(two_byte=979, wide=1, digits=5, symbols=51, newlines=15, spaces=159),
        290,
        "mobilon-dev/gigachat-api-client samples/sendRequest.js",
    ),
    # GigaChat:1.0.26.20
    Sample(
        "ru_prompt_five_reasons",
        "ru",
        "prompt",
        ("5 причин всего",),
        15,
        "mobilon-dev/gigachat-api-client samples/sendRequest.js",
    ),
    # GigaChat:2.0.28.2, a translator's system prompt (91 characters) and a user message (154 characters)
    Sample(
        "ru_prompt_translator",
        "ru",
        "prompt",
        (
            composed(two_byte=78, wide=1, symbols=2, spaces=10),
            composed(two_byte=121, wide=1, letters=8, symbols=4, spaces=20),
        ),
        55,
        SBER_API_REFERENCE + ", application/json example",
    ),
    # --- Code, JSON, numbers, mixed ----------------------------------------------------------------------------
    # GigaChat:2.0.28.2; GigaChat-3-Ultra reported the same for the same answer
    Sample(
        "code_answer_json",
        "code",
        "answer",
        '{\n    "answer": "ok",\n    "n": 3\n}',
        21,
        GIGACHAT_CASSETTES + "test_chat_parse_json_schema.yaml, test_primary_chat_parse_json_schema.yaml",
    ),
    # GigaChat-3-Ultra:32.3.18.5, an answer held to a regular expression
    Sample(
        "code_answer_ticket",
        "code",
        "answer",
        "TKT-2023",
        8,
        GIGACHAT_CASSETTES + "test_primary_chat_regex_format.yaml",
    ),
    # GigaChat:2.0.28.2
    Sample(
        "code_prompt_json",
        "code",
        "prompt",
        ('Return {"answer":"ok","n":3} exactly.',),
        24,
        GIGACHAT_CASSETTES + "test_chat_parse_json_schema.yaml",
    ),
    # GigaChat-2-Max:2.0.30.01, a JSON answer of Russian steps with LaTeX formulas (490 characters)
    Sample(
        "code_answer_json_math",
        "code",
        "answer",
        composed(two_byte=217, letters=27, digits=28, symbols=86, newlines=10, spaces=122),
        174,
        "ai-forever/gigachat ADD_JSON_FEATURE.md",
    ),
    # GigaChat-2-Max:2.0.30.01
    Sample(
        "code_prompt_equation",
        "code",
        "prompt",
        (
            "Ты — полезный репетитор по математике. Объясняй решение пошагово.",
            "Как решить уравнение 8x + 7 = -23. Решай в десятичных числах.",
        ),
        56,
        "ai-forever/gigachat ADD_JSON_FEATURE.md",
    ),
]

# Relative error (estimate - real) / real allowed for samples of at least SHORT tokens: (lowest, highest).
TOLERANCE = {"en": (-0.10, 0.15), "ru": (-0.10, 0.70), "code": (-0.10, 0.30)}
# Mean absolute relative error per group over those samples, as measured, rounded up.
MEAN_ERROR = {"en": 0.10, "ru": 0.30, "code": 0.15}
# Below this many tokens one token is a large share, so the error is bounded in tokens instead.
SHORT = 10
SHORT_TOLERANCE = 2


def relative_error(sample: Sample) -> float:
    return (sample.estimate - sample.real) / sample.real


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_the_estimate_lands_within_the_measured_tolerance_of_gigachats_own_count(sample: Sample) -> None:
    if sample.real < SHORT:
        assert abs(sample.estimate - sample.real) <= SHORT_TOLERANCE, sample.source
    else:
        lowest, highest = TOLERANCE[sample.group]
        assert lowest <= relative_error(sample) <= highest, sample.source


@pytest.mark.parametrize("group", sorted(TOLERANCE))
def test_the_mean_error_per_language_stays_at_the_measured_level(group: str) -> None:
    errors = [abs(relative_error(s)) for s in SAMPLES if s.group == group and s.real >= SHORT]
    assert errors
    assert sum(errors) / len(errors) <= MEAN_ERROR[group]


def test_no_long_sample_is_under_counted_by_more_than_a_tenth() -> None:
    worst = min(relative_error(s) for s in SAMPLES if s.real >= SHORT)
    assert worst >= -0.10


def test_the_samples_cover_every_group_and_kind() -> None:
    assert {s.group for s in SAMPLES} == set(TOLERANCE)
    assert {s.kind for s in SAMPLES} == {"count", "answer", "prompt"}
    assert len(SAMPLES) >= 15


GROUP_NAMES = {"en": "English", "ru": "Russian", "code": "Code, JSON, numbers, mixed"}


def error_table() -> str:
    """The measured errors as docs/token-counting.md shows them (python -m tests.unit.test_tokens_calibration)."""
    lines = [
        f"| Texts | Samples | Mean error (≥ {SHORT} tokens) | Range (≥ {SHORT} tokens) | Under {SHORT} tokens |",
        "| --- | --- | --- | --- | --- |",
    ]
    for group, name in GROUP_NAMES.items():
        samples = [s for s in SAMPLES if s.group == group]
        long = [relative_error(s) for s in samples if s.real >= SHORT]
        short = [abs(s.estimate - s.real) for s in samples if s.real < SHORT]
        mean = f"{sum(map(abs, long)) / len(long):.0%}" if long else "—"
        span = f"{min(long):+.0%} … {max(long):+.0%}".replace("-", "−") if long else "—"
        off = f"at most {max(short)} token{'s' * (max(short) != 1)} off" if short else "—"
        lines.append(f"| {name} | {len(samples)} | {mean} | {span} | {off} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(error_table())
