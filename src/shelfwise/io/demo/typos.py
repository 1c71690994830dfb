"""Typos in the demo shoppers' searches, so spelling correction has something to correct."""

from __future__ import annotations

import random

_KEYBOARD_NEIGHBOURS = {
    "a": "sq",
    "e": "wr",
    "i": "uo",
    "o": "ip",
    "n": "bm",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "l": "k",
    "c": "xv",
    "m": "n",
    "p": "o",
}


def misspell(rng: random.Random, text: str) -> str:
    """One typo in the longest word: a dropped, doubled, swapped or neighbouring letter."""
    words = text.split()
    position = max(range(len(words)), key=lambda i: len(words[i]))
    word = words[position]
    if len(word) < 4:
        return text
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        word = word[:i] + word[i + 1 :]
    elif kind == 1:
        word = word[:i] + word[i] + word[i:]
    elif kind == 2:
        word = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    else:
        neighbours = _KEYBOARD_NEIGHBOURS.get(word[i], "e")
        word = word[:i] + rng.choice(neighbours) + word[i + 1 :]
    words[position] = word
    return " ".join(words)
