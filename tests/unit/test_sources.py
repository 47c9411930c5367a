"""models/llm/sources.py: web search markers -> readable references and the closing list of cited sources, however the
stream cuts them; and stream.py's Assembler, which puts them before the stop sequences."""

from __future__ import annotations

import pytest

from models.llm.exchange import Delta, Source, Usage
from models.llm.sources import MAX_TITLE, SourceMarkers, link_target, readable_title
from models.llm.stream import UNSHOWN_NOTICE, Assembler
from tests import v2_recordings as recorded

RECORDED_SOURCES = [Source(number, **page) for number, page in recorded.SOURCES.items()]
NEWS = recorded.SOURCES["2"]
CLOSING_2 = f"\n\nSources:\n- [2] [{NEWS['title']}]({NEWS['url']})"


def render(pieces: list[str], sources=RECORDED_SOURCES, sources_after: int = 0) -> tuple[list[str], str]:
    """(what each piece showed, the whole answer) with the sources arriving after piece number `sources_after`."""
    markers = SourceMarkers()
    shown = []
    for index, piece in enumerate(pieces):
        if index == sources_after:
            markers.add(sources)
        shown.append(markers.feed(piece))
    if sources_after >= len(pieces):
        markers.add(sources)
    tail = markers.flush() + markers.closing()
    return shown, "".join(shown) + tail


def test_the_recorded_answer_reads_with_bracketed_references_and_ends_with_the_one_source_it_cites():
    _, text = render([recorded.WEB_SEARCH_TEXT])
    assert text == (
        "Python 3.15 speeds up its JIT compiler on x86-64 Linux [2].\n\nUTF-8 becomes the default text encoding [2]."
        + CLOSING_2
    )


def test_a_marker_citing_several_sources_lists_each_in_number_order_under_a_russian_heading_for_a_russian_answer():
    sources = [Source("10", "https://example.com/ten", "Десять"), *RECORDED_SOURCES]
    _, text = render(["Вышел Python 3.15 [sources=[10, 1]], он быстрее [sources=[1]]."], sources)
    assert text == (
        "Вышел Python 3.15 [10, 1], он быстрее [1].\n\nИсточники:\n"
        "- [1] [Изменения в Python 2026](https://example.ru/python-2026)\n- [10] [Десять](https://example.com/ten)"
    )


TEXT = "Fast JIT [sources=[2]]. UTF-8 [sources=[1,2]]. Arrays [x] and [sources] stay."
WHOLE = render([TEXT])[1]


@pytest.mark.parametrize("cut", range(1, len(TEXT)))
def test_a_marker_cut_anywhere_between_two_pieces_reads_the_same_and_never_shows_raw(cut: int):
    shown, text = render([TEXT[:cut], TEXT[cut:]], sources_after=2)  # the sources come after every marker
    assert text == WHOLE
    assert not any("sources=" in piece for piece in shown)


def test_a_marker_cut_into_single_characters_reads_the_same():
    assert render(list(TEXT), sources_after=len(TEXT))[1] == WHOLE


@pytest.mark.parametrize(
    ("piece", "shown"),
    [
        pytest.param("no brackets at all", "no brackets at all", id="plain-text-at-once"),
        pytest.param("a list [1, 2] and a link [docs]", "a list [1, 2] and a link [docs]", id="other-brackets-at-once"),
        pytest.param("see [", "see ", id="a-bracket-that-may-open-a-marker"),
        pytest.param("see [sour", "see ", id="the-start-of-the-word"),
        pytest.param("see [sources=[1, 2", "see ", id="inside-the-numbers"),
        pytest.param("see [sources=[2]", "see ", id="one-bracket-short"),
        pytest.param("see [sun", "see [sun", id="a-bracket-that-turned-out-to-be-text"),
        pytest.param("see [sources=[" + "9" * 70, "see [sources=[" + "9" * 70, id="too-long-to-be-a-marker"),
    ],
)
def test_only_a_tail_that_could_still_become_a_marker_is_held_back(piece: str, shown: str):
    assert SourceMarkers().feed(piece) == shown


def test_a_held_tail_that_never_became_a_marker_is_shown_when_the_answer_ends():
    markers = SourceMarkers()
    assert markers.feed("cut short [sources=[2") == "cut short "
    assert markers.flush() == "[sources=[2"
    assert markers.closing() == ""


def test_only_cited_sources_are_listed_and_none_at_all_when_nothing_is_cited():
    assert render(["No markers here."])[1] == "No markers here."


@pytest.mark.parametrize(
    ("source", "entry"),
    [
        pytest.param(Source("2", None, "Title only"), "- [2] Title only", id="no-url-listed-by-title"),
        pytest.param(Source("2", "javascript:alert(1)", "Script"), "- [2] Script", id="not-http-listed-by-title"),
        pytest.param(Source("2", "https://example.com/a", None), "- [2] [example.com](https://example.com/a)",
                     id="no-title-named-by-host"),
        pytest.param(Source("2", "https://example.com/a", "  "), "- [2] [example.com](https://example.com/a)",
                     id="blank-title-named-by-host"),
        pytest.param(Source("2", "https://example.com/a_(b) c", "[Draft] *new*"),
                     r"- [2] [\[Draft\] \*new\*](https://example.com/a_%28b%29%20c)", id="markdown-kept-intact"),
    ],
)  # fmt: skip
def test_a_source_missing_or_mangling_its_parts_is_listed_as_far_as_it_can_be(source: Source, entry: str):
    _, text = render(["Fact [sources=[2]]."], [source])
    assert text == f"Fact [2].\n\nSources:\n{entry}"


@pytest.mark.parametrize(
    ("pieces", "sources", "text"),
    [
        pytest.param(["Fact [sources=[2]]."], [Source("2")], "Fact [2].", id="neither-url-nor-title"),
        pytest.param(["Fact [sources=[7]]."], RECORDED_SOURCES, "Fact [7].", id="cited-but-never-named"),
        pytest.param(["Fact [sources=[]]."], RECORDED_SOURCES, "Fact .", id="a-marker-citing-nothing"),
        pytest.param(["Fact [sources=[2]]."], [], "Fact [2].", id="no-sources-at-all"),
    ],
)
def test_a_malformed_sources_object_degrades_to_plain_text(pieces, sources, text):
    assert render(pieces, sources)[1] == text


@pytest.mark.parametrize("url", ["ftp://x.org", "https://", "https://x.org/a\nb", "https://x.org/" + "a" * 3000, 7])
def test_a_link_target_is_an_http_url_on_one_line_within_bounds(url):
    assert link_target(url) is None
    assert link_target(" http://example.com ") == "http://example.com"


def test_a_title_is_one_line_cut_to_its_bound():
    assert readable_title("Two\nlines\t here") == "Two lines here"
    assert readable_title("x" * 500) == "x" * (MAX_TITLE - 1) + "…"


# ---- in the answer (stream.py) ---------------------------------------------------------------------------------------


def assemble(deltas: list[Delta], stops=None, cites=True) -> str:
    assembler = Assembler(stops, switches=["Web search"] if cites else [])
    return "".join(assembler.pieces(delta) for delta in deltas) + assembler.tail()


def test_the_assembler_rewrites_markers_and_lists_sources_that_arrive_in_a_later_piece():
    deltas = [Delta(text="Fact [sour"), Delta(text="ces=[2]]."), Delta(sources=(RECORDED_SOURCES[1],)),
              Delta(finish_reason="stop", usage=Usage(1, 1))]  # fmt: skip
    assert assemble(deltas) == "Fact [2]." + CLOSING_2


def test_without_built_in_tools_a_marker_like_text_is_left_as_written():
    assert assemble([Delta(text="[sources=[2]]", finish_reason="stop")], cites=False) == "[sources=[2]]"


def test_stop_sequences_see_the_readable_text_and_a_stop_ends_the_answer_before_the_list():
    deltas = [Delta(text="Fact [sources=[2]]. More [sources=[1]].", sources=tuple(RECORDED_SOURCES)),
              Delta(finish_reason="stop")]  # fmt: skip
    assert assemble(deltas, stops=["[2]. More"]) == "Fact "
    assert assemble(deltas, stops=["sources="]).endswith("- [2] [" + NEWS["title"] + "](" + NEWS["url"] + ")")


def test_a_generated_file_that_is_not_an_image_leaves_a_notice_at_the_end_of_the_answer():
    deltas = [Delta(text="Here ", unshown_files=("f-1",)), Delta(text="it is."), Delta(finish_reason="stop")]
    assert assemble(deltas) == "Here it is." + UNSHOWN_NOTICE
