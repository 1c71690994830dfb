"""HTML in product text made plain: entities unescaped exactly once, tags removed by the standard
library's HTML parser (a real tokenizer, not a pattern), and the bodies of script and style elements
dropped rather than kept as words."""

from __future__ import annotations

import html
from html.parser import HTMLParser

# Elements whose content is code or a fallback, never text a shopper should read.
DROPPED_ELEMENTS = frozenset({"script", "style", "template", "noscript"})
# Elements inside a run of text (`Lin<b>en</b>` is one word); any other tag separates words.
INLINE_ELEMENTS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "code", "em", "font", "i", "mark", "q", "s", "small"}
    | {"span", "strong", "sub", "sup", "time", "u", "var", "wbr"}
)


class _TextOnly(HTMLParser):
    """Collects the text of a fragment: character data outside dropped elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.dropping = 0  # depth inside dropped elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_ELEMENTS:
            self.dropping += 1
        elif tag not in INLINE_ELEMENTS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in INLINE_ELEMENTS | DROPPED_ELEMENTS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_ELEMENTS:
            self.dropping = max(self.dropping - 1, 0)
        elif tag not in INLINE_ELEMENTS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.parts.append(data)


def has_markup(text: str) -> bool:
    """Whether `text` may hold a tag or an entity (the cheap test before `plain_text`)."""
    return "<" in text or "&" in text


def plain_text(text: str) -> str:
    """`text` with its entities unescaped once (`&amp;lt;` becomes `&lt;`, never `<`) and then its markup
    removed: tags give way to a space (inline ones to nothing), comments and the content of script, style,
    template and noscript elements are dropped, and a `<` that starts no tag (`Salt & pepper <3`) stays.
    Entity-encoded markup (`&lt;p&gt;Soft &amp;amp; warm&lt;/p&gt;`) is markup once unescaped, and is
    read as HTML: its tags removed and its own entities decoded as a browser would (`Soft & warm`)."""
    unescaped = html.unescape(text)
    if "<" not in unescaped:
        return unescaped.strip()  # entities only: no markup to parse
    parser = _TextOnly()
    # What holds tags is HTML, whose own entities are part of it: the parser decodes them as a browser
    # would, so `<p>Soft &amp; warm</p>` reads `Soft & warm`, not `Soft &amp; warm`.
    parser.feed(unescaped)
    parser.close()
    return "".join(parser.parts).strip()
