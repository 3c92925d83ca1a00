"""Text from input files: which characters are refused, how text is shown safely, how ids compare.

A name travels from a scenario file to terminals, error lines, spreadsheets and letters. Control
and format characters (ESC sequences that recolour or move a terminal's cursor, bidirectional
overrides that reverse what a reader sees, NUL) have no place in a branch name, so they are
refused on load; `printable` escapes them anyway wherever input text is echoed (an error line
quotes the bad value itself).
"""

from __future__ import annotations

import unicodedata

#: Unicode categories refused in names: controls, format characters (bidi overrides,
#: zero-width joiners), surrogates, private use, line and paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
#: Control characters a free-text field (a description) may hold.
FREE_TEXT_CONTROLS = frozenset("\n\t")


def refused_character(text: str, *, free_text: bool = False) -> str | None:
    """The first character of `text` in `REFUSED_CATEGORIES` (tab and newline allowed in free text), or None."""
    for char in text:
        if free_text and char in FREE_TEXT_CONTROLS:
            continue
        if unicodedata.category(char) in REFUSED_CATEGORIES:
            return char
    return None


def describe_character(char: str) -> str:
    """`U+001B (ESC)`-style description of one character, for an error message."""
    name = unicodedata.name(char, "") or {"\x1b": "ESC", "\x00": "NUL", "\x7f": "DEL"}.get(char, "control")
    return f"U+{ord(char):04X} ({name})"


def printable(text: str) -> str:
    """`text` with every refused character written as an escape (`\\x1b`, `\\u202e`): safe on a terminal."""
    if refused_character(text) is None:
        return text
    return "".join(
        char.encode("unicode_escape").decode("ascii") if unicodedata.category(char) in REFUSED_CATEGORIES else char
        for char in text
    )


def id_key(branch_id: str) -> str:
    """NFKC(id).casefold().strip(): the form under which two branch ids count as the same.

    Full-width `Ｂ０１`, `b01` and `B01 ` all become `b01`: ids that look alike on a printed
    plan must not name two different branches.
    """
    return unicodedata.normalize("NFKC", branch_id).casefold().strip()
