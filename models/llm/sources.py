"""Web search sources: GigaChat's citation markers -> readable references, and the list of the sources they cite.

GigaChat's built-in web search cites inline with markers such as `[sources=[2]]`, written before the sentence's full
stop, and names the pages on the answer's text part as `inline_data.sources`, a map from the marker's number to
`{url, title}` (ai-forever/gigachat tests/integration/cassettes/test_primary_chat_builtin_tools.yaml; the map may hold
pages no marker cites). What a reader gets instead (docs/built-in-tools.md):

    … on x86-64 Linux [2].

    Sources:
    - [2] [Python News for February 2026...](https://example.com/python-news-2026/)

- A marker becomes its numbers in brackets: `[sources=[2]]` -> `[2]`, `[sources=[1, 3]]` -> `[1, 3]`; one citing
  nothing is dropped. Only `[sources=[N]]` is recorded; a comma list is read the way gpt2giga reads it.
- The answer ends with the cited sources in number order, each a Markdown link with its title, under a heading in
  Russian when the answer has Cyrillic text, else in English. A source without a usable http(s) URL is listed by its
  title alone; one with neither, or cited but never named, is left out (its reference stays, unexplained).
- Streamed, a marker may be cut across pieces: only a tail that could still become a marker is held back (like the
  stop sequences in stream.py); any other text passes at once. Sources are collected from every piece, so a page
  named after its marker is still listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from .exchange import Source

OPENING = "[sources=["
# The most characters between the marker's brackets: more is ordinary text that happens to start like a marker.
MAX_INNER = 64
_INNER = rf"[^\[\]\n]{{0,{MAX_INNER}}}"
_MARKER = re.compile(rf"\[sources=\[({_INNER})\]\]")
_PARTIAL = re.compile(rf"\[sources=\[{_INNER}\]?")
_NUMBER = re.compile(r"[\w-]+")
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
MAX_TITLE = 200
MAX_URL = 2048
# Characters that would end or break a Markdown link destination or text; percent-encoded, or escaped.
_URL_UNSAFE = "()<> \t"
_TITLE_SPECIAL = re.compile(r"([\\\[\]*_`<>])")


class SourceMarkers:
    """Rewrites one answer's markers as it streams, and lists what they cited when it ends."""

    def __init__(self) -> None:
        self._pending = ""
        self._cited: dict[str, None] = {}  # ordered set
        self._sources: dict[str, Source] = {}
        self._cyrillic = False

    def add(self, sources: Iterable[Source]) -> None:
        for source in sources:
            self._sources[source.number] = source

    def feed(self, text: str) -> str:
        """What can be shown of the answer so far: markers rewritten, a possible marker's start held back."""
        self._cyrillic = self._cyrillic or bool(_CYRILLIC.search(text))
        self._pending += text
        held = _held_from(self._pending)
        out, self._pending = self._pending[:held], self._pending[held:]
        return self._rewrite(out)

    def flush(self) -> str:
        """The rest, once the answer is complete: a held tail that never became a marker is ordinary text."""
        out, self._pending = self._pending, ""
        return self._rewrite(out)

    def closing(self) -> str:
        """The list of cited sources that ends the answer ("" when none can be listed)."""
        entries = [entry for number in sorted(self._cited, key=_order) if (entry := self._entry(number))]
        if not entries:
            return ""
        heading = "Источники" if self._cyrillic else "Sources"
        return f"\n\n{heading}:\n" + "\n".join(entries)

    def _rewrite(self, text: str) -> str:
        return _MARKER.sub(self._reference, text)

    def _reference(self, marker: re.Match[str]) -> str:
        numbers = list(dict.fromkeys(_NUMBER.findall(marker.group(1))))
        self._cited.update(dict.fromkeys(numbers))
        return f"[{', '.join(numbers)}]" if numbers else ""

    def _entry(self, number: str) -> str | None:
        source = self._sources.get(number)
        if source is None:
            return None
        url = link_target(source.url)
        title = readable_title(source.title) or (urlsplit(url).hostname if url else None)
        if not title:
            return None
        return f"- [{number}] [{title}]({url})" if url else f"- [{number}] {title}"


def _held_from(text: str) -> int:
    """Where the tail that could still become a marker starts (len(text) when none could)."""
    start = max(0, len(text) - len(OPENING) - MAX_INNER - 1)
    index = text.find("[", start)
    while index >= 0:
        tail = text[index:]
        if OPENING.startswith(tail) or _PARTIAL.fullmatch(tail):
            return index
        index = text.find("[", index + 1)
    return len(text)


def _order(number: str) -> tuple[int, int | str]:
    return (0, int(number)) if number.isdigit() else (1, number)


def link_target(url: str | None) -> str | None:
    """An http(s) URL as a Markdown link destination, or None when it is not one."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if any(ord(char) < 32 for char in url):
        return None
    return "".join(quote(char, safe="") if char in _URL_UNSAFE else char for char in url)


def readable_title(title: str | None) -> str:
    """A title on one line, cut to MAX_TITLE characters, with Markdown's special characters escaped."""
    if not isinstance(title, str):
        return ""
    text = " ".join(title.split())
    if len(text) > MAX_TITLE:
        text = text[: MAX_TITLE - 1].rstrip() + "…"
    return _TITLE_SPECIAL.sub(r"\\\1", text)
