"""models/llm/stream.py (answer pieces -> Dify chunks) and models/common/tokens.py (the offline token estimate)."""

from __future__ import annotations

import json

import pytest
from dify_plugin.entities.model.llm import LLMResultChunk, LLMUsage
from dify_plugin.errors.model import InvokeBadRequestError, InvokeConnectionError, InvokeServerUnavailableError

from models.common.tokens import (
    MAX_BILLABLE_TOKENS,
    MESSAGE_OVERHEAD,
    billable,
    estimate_prompt_tokens,
    estimate_tokens,
)
from models.llm.exchange import Delta, FunctionCall, Usage
from models.llm.stream import (
    BLACKLIST_NOTICE,
    MAX_CHUNK_BYTES,
    MAX_PIECE_CHARS,
    Assembler,
    StopBuffer,
    dify_chunks,
)

MODEL = "GigaChat-2-Max"
WEATHER = FunctionCall("get_weather", {"city": "Москва", "days": 2})


def feed_all(buffer: StopBuffer, pieces: list[str]) -> list[str]:
    return [buffer.feed(piece) for piece in pieces] + [buffer.flush()]


class UsageRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[Usage | None, str]] = []

    def __call__(self, usage: Usage | None, answer: str) -> LLMUsage:
        self.calls.append((usage, answer))
        prompt, completion = (usage.input_tokens, usage.output_tokens) if usage else (0, 0)
        return LLMUsage.empty_usage().model_copy(
            update={"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        )


def run(deltas: list[Delta], stops: list[str] | None = None, call_as_text: str | None = None):
    usage_of = UsageRecorder()
    chunks = list(dify_chunks(MODEL, iter(deltas), Assembler(stops, call_as_text), usage_of))
    return chunks, usage_of


def texts(chunks: list[LLMResultChunk]) -> list[str]:
    return [c.delta.message.content for c in chunks if c.delta.message.content]  # type: ignore[misc]


def joined(chunks: list[LLMResultChunk]) -> str:
    return "".join(texts(chunks))


# ---- StopBuffer --------------------------------------------------------------------------------------------------


def test_a_stop_split_across_three_pieces_never_leaks_any_part() -> None:
    buffer = StopBuffer(["<|END|>"])
    out = feed_all(buffer, ["Answer is 42<|", "EN", "D|> and more", " later"])
    assert "".join(out) == "Answer is 42"
    assert not any(part in "".join(out) for part in ("<", "<|", "EN", "D|>"))
    assert buffer.stopped


@pytest.mark.parametrize(
    ("stops", "pieces", "expected"),
    [
        pytest.param(None, ["a", "b", "c"], "abc", id="no-stops-pass-through"),
        pytest.param(["", ""], ["a", "b"], "ab", id="empty-stops-are-ignored"),
        pytest.param(["\nUser:"], ["Hello\n", "Us", "er: hi"], "Hello", id="stop-with-a-newline"),
        pytest.param(["STOP", "END"], ["one END two STOP"], "one ", id="earliest-of-several-wins"),
        pytest.param(["END", "STOP"], ["one STOP two END"], "one ", id="earliest-wins-whatever-the-order"),
        pytest.param(["ab"], ["a", "a", "a", "b"], "aa", id="a-false-start-is-released"),
        pytest.param(["xyz"], ["xy"], "xy", id="a-held-tail-is-flushed-at-the-end"),
        pytest.param(["###"], ["###"], "", id="a-stop-at-the-start"),
        pytest.param(["Конец"], ["Ответ: да. Кон", "ец", " лишнее"], "Ответ: да. ", id="cyrillic"),
    ],
)
def test_stop_sequences_cut_the_text_at_the_first_match(
    stops: list[str] | None, pieces: list[str], expected: str
) -> None:
    assert "".join(feed_all(StopBuffer(stops), pieces)) == expected


def test_without_stops_each_piece_passes_through_at_once() -> None:
    buffer = StopBuffer([])
    assert [buffer.feed(piece) for piece in ("a", "b", "c")] == ["a", "b", "c"]


def test_only_a_possible_start_of_a_stop_is_held_back() -> None:
    buffer = StopBuffer(["STOP"])
    assert buffer.feed("Hello S") == "Hello "
    assert buffer.feed("ure") == "Sure"


def test_text_after_a_stop_is_ignored() -> None:
    buffer = StopBuffer(["STOP"])
    assert buffer.feed("done STOP") == "done "
    assert buffer.feed("more text") == ""
    assert buffer.flush() == ""


# ---- dify_chunks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reports", "kept"),
    [
        pytest.param([Usage(64, 23), Usage(0, 8)], Usage(64, 23), id="threads-run-64-23-then-0-8"),
        pytest.param([Usage(69, 77), *[Usage(0, 1)] * 72], Usage(69, 77), id="threads-rerun-then-72-ones"),
        pytest.param([Usage(0, 8), Usage(64, 23)], Usage(64, 23), id="a-later-larger-report"),
        pytest.param([Usage(30, 2), Usage(0, 9)], Usage(30, 9), id="each-count-its-largest"),
    ],
)
def test_usage_reported_in_several_events_keeps_each_count_s_largest_value(reports: list[Usage], kept: Usage) -> None:
    deltas = [Delta(text="a", usage=usage) for usage in reports]
    _, usage_of = run([*deltas, Delta(finish_reason="stop")])
    assert usage_of.calls == [(kept, "a" * len(reports))]


def test_text_passes_through_piece_by_piece_and_the_final_chunk_carries_usage() -> None:
    usage = Usage(input_tokens=11, output_tokens=3)
    chunks, usage_of = run([Delta(text="Hel"), Delta(text="lo"), Delta(text="!", finish_reason="stop", usage=usage)])
    assert texts(chunks) == ["Hel", "lo", "!"]
    final = chunks[-1].delta
    assert final.finish_reason == "stop"
    assert final.usage is not None and (final.usage.prompt_tokens, final.usage.completion_tokens) == (11, 3)
    assert usage_of.calls == [(usage, "Hello!")]
    assert [c.delta.index for c in chunks] == list(range(len(chunks)))
    assert all(c.model == MODEL for c in chunks)
    assert all(c.delta.usage is None and c.delta.finish_reason is None for c in chunks[:-1])


def test_every_chunk_has_string_content() -> None:
    chunks, _ = run(
        [Delta(reasoning="hmm"), Delta(text="x"), Delta(function_call=WEATHER, finish_reason="function_call")]
    )
    assert all(isinstance(c.delta.message.content, str) for c in chunks)


def test_reasoning_is_wrapped_in_think_tags_before_the_answer() -> None:
    chunks, usage_of = run(
        [Delta(reasoning="Let me "), Delta(reasoning="think."), Delta(text="42", finish_reason="stop")]
    )
    assert joined(chunks) == "<think>\nLet me think.\n</think>\n\n42"
    assert usage_of.calls[0][1] == "42"  # the answer text excludes the reasoning


def test_reasoning_without_an_answer_is_closed_at_the_end() -> None:
    chunks, _ = run([Delta(reasoning="only thoughts", finish_reason="stop")])
    assert joined(chunks) == "<think>\nonly thoughts\n</think>\n\n"


def test_a_function_call_becomes_exactly_one_tool_call_chunk_before_the_final_chunk() -> None:
    chunks, _ = run(
        [
            Delta(text="Checking the weather."),
            Delta(function_call=WEATHER, state_id="state-7", finish_reason="function_call"),
        ]
    )
    calls = [c for c in chunks if c.delta.message.tool_calls]
    assert len(calls) == 1
    assert chunks.index(calls[0]) == len(chunks) - 2
    [tool_call] = calls[0].delta.message.tool_calls
    assert tool_call.type == "function"
    assert tool_call.function.name == "get_weather"
    assert isinstance(tool_call.function.arguments, str)
    assert json.loads(tool_call.function.arguments) == {"city": "Москва", "days": 2}
    assert tool_call.id.endswith("_fs_state-7")
    assert calls[0].delta.message.opaque_body == {"functions_state_id": "state-7"}
    assert chunks[-1].delta.finish_reason == "tool_calls"
    assert chunks[-1].delta.message.tool_calls == []


def test_a_function_call_after_a_stop_sequence_is_still_sent_and_finishes_as_tool_calls() -> None:
    chunks, _ = run(
        [Delta(text="Sure. STOP ignored"), Delta(function_call=WEATHER, finish_reason="function_call")], stops=["STOP"]
    )
    assert joined(chunks) == "Sure. "
    assert sum(len(c.delta.message.tool_calls) for c in chunks) == 1
    assert chunks[-1].delta.finish_reason == "tool_calls"


def test_the_tool_call_id_is_the_same_however_often_it_is_asked_for() -> None:
    assembler = Assembler(None)
    assembler.pieces(Delta(function_call=WEATHER, state_id="s-1", finish_reason="function_call"))
    assert assembler.tool_calls()[0].id == assembler.tool_calls()[0].id


def test_a_function_call_cut_off_by_the_length_limit_is_not_sent() -> None:
    chunks, _ = run([Delta(function_call=WEATHER, finish_reason="length")])
    assert not any(c.delta.message.tool_calls for c in chunks)
    assert chunks[-1].delta.finish_reason == "length"


def test_a_function_call_reason_without_a_call_finishes_as_stop() -> None:
    chunks, _ = run([Delta(text="hi", finish_reason="function_call")])
    assert chunks[-1].delta.finish_reason == "stop"


def test_the_structured_output_function_is_shown_as_its_json_arguments() -> None:
    answer = FunctionCall("structured_output", {"name": "Иван", "age": 30})
    chunks, _ = run([Delta(function_call=answer, finish_reason="function_call")], call_as_text="structured_output")
    assert json.loads(joined(chunks)) == {"name": "Иван", "age": 30}
    assert not any(c.delta.message.tool_calls for c in chunks)
    assert chunks[-1].delta.finish_reason == "stop"


def test_a_blacklisted_answer_appends_the_notice_and_finishes_as_stop() -> None:
    chunks, usage_of = run([Delta(text="Не могу"), Delta(finish_reason="blacklist")])
    assert joined(chunks) == "Не могу" + BLACKLIST_NOTICE
    assert chunks[-1].delta.finish_reason == "stop"
    assert usage_of.calls[0][1] == "Не могу"


def test_a_stream_without_a_finish_reason_is_a_connection_error() -> None:
    with pytest.raises(InvokeConnectionError, match="ended before the answer was complete"):
        run([Delta(text="half an ans")])


def test_a_stream_that_failed_to_form_a_function_call_is_a_bad_request() -> None:
    with pytest.raises(InvokeBadRequestError, match="function call"):
        run([Delta(finish_reason="error")])


def test_a_stop_sequence_in_the_stream_finishes_as_stop_and_ignores_the_rest() -> None:
    usage = Usage(5, 9)
    chunks, usage_of = run(
        [Delta(text="Yes.\nUs"), Delta(text="er: and then"), Delta(text=" more", finish_reason="length", usage=usage)],
        stops=["\nUser:"],
    )
    assert joined(chunks) == "Yes."
    assert chunks[-1].delta.finish_reason == "stop"
    assert usage_of.calls == [(usage, "Yes.")]


def test_a_missing_usage_is_passed_to_usage_of_as_none_with_the_answer() -> None:
    _, usage_of = run([Delta(text="abc", finish_reason="stop")])
    assert usage_of.calls == [(None, "abc")]


# ---- the offline token estimate ----------------------------------------------------------------------------------


def test_an_empty_text_has_no_tokens() -> None:
    assert estimate_tokens("") == 0


@pytest.mark.parametrize("text", ["a", "!", "1", "я", " "])
def test_any_non_empty_text_has_at_least_one_token(text: str) -> None:
    assert estimate_tokens(text) >= 1


@pytest.mark.parametrize("unit", ["word ", "слово ", "12345 ", "{}[]; ", "Привет, world! 42 "])
def test_the_estimate_grows_with_the_length(unit: str) -> None:
    counts = [estimate_tokens(unit * n) for n in (1, 10, 100, 1000)]
    assert counts == sorted(counts)
    assert counts[-1] > counts[1] > 0


def test_russian_costs_more_tokens_per_character_than_english_within_plausible_bounds() -> None:
    english = "The quick brown fox jumps over the lazy dog and runs into the forest. " * 20
    russian = "Съешь же ещё этих мягких французских булок, да выпей чаю, и иди домой. " * 20
    english_ratio = len(english) / estimate_tokens(english)
    russian_ratio = len(russian) / estimate_tokens(russian)
    assert 2.5 <= english_ratio <= 6.0
    assert 1.5 <= russian_ratio <= 4.5
    assert russian_ratio < english_ratio


def test_a_prompt_costs_its_texts_plus_a_per_message_overhead() -> None:
    texts_ = ["Hello there", "Как дела?"]
    assert estimate_prompt_tokens(texts_) == sum(map(estimate_tokens, texts_)) + 2 * MESSAGE_OVERHEAD
    assert estimate_prompt_tokens([]) == 0


# ---- reply lines the daemon can read -------------------------------------------------------------------------------


def test_a_piece_longer_than_a_line_allows_reaches_dify_whole_in_pieces_of_bounded_length() -> None:
    text = "\x1b" * (2 * MAX_PIECE_CHARS + 5)  # characters JSON writes six bytes long
    chunks, _ = run([Delta(text=text, finish_reason="stop")])
    contents = [chunk.delta.message.content for chunk in chunks]
    assert "".join(contents) == text
    assert [len(content) for content in contents[:3]] == [MAX_PIECE_CHARS, MAX_PIECE_CHARS, 5]
    assert max(len(chunk.model_dump_json().encode()) for chunk in chunks) < MAX_CHUNK_BYTES // 3


def test_a_tool_call_too_large_for_one_line_is_a_typed_error_not_a_line() -> None:
    call = FunctionCall("lookup", {"q": "Ж" * (3 * 1024 * 1024)})
    with pytest.raises(InvokeServerUnavailableError, match=r"GigaChat's answer is 6\.0 MiB in one message to Dify"):
        run([Delta(function_call=call, finish_reason="function_call")])


def test_the_answer_is_assembled_once_from_all_its_pieces() -> None:
    _, usage_of = run([Delta(text=f"{i} ") for i in range(1000)] + [Delta(finish_reason="stop")])
    assert usage_of.calls[-1][1] == "".join(f"{i} " for i in range(1000))


@pytest.mark.parametrize(("reported", "billed"), [(-5, 0), (0, 0), (1234, 1234), (10**18, MAX_BILLABLE_TOKENS)])
def test_usage_counts_are_clamped_to_what_one_call_can_use(reported: int, billed: int) -> None:
    assert billable(reported) == billed
