"""Chinese, Japanese and Korean script: which characters are CJK, and how much of a catalog is.

How Chinese text is cut into words is shelfwise.text.analysis (`segment`, `split_han`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Han ideographs (CJK unified, extension A, compatibility). These are what jieba segments and what the
# spelling corrector must leave alone: an edit-distance "fix" of a Chinese word is a different word.
HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Han plus Japanese kana and Korean Hangul: scripts an English-only sentence encoder cannot read.
CJK_CHARS = HAN_CHARS + "\u3040-\u30ff\u31f0-\u31ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"

_HAN = re.compile(f"[{HAN_CHARS}]")
_HAN_RUN = re.compile(f"[{HAN_CHARS}]+")
_CJK = re.compile(f"[{CJK_CHARS}]")


def has_han(text: str) -> bool:
    return _HAN.search(text) is not None


def is_han_word(word: str) -> bool:
    """True when `word` is all Han characters (what `analysis.split_han` yields for a Chinese run)."""
    return _HAN_RUN.fullmatch(word) is not None


def cjk_share(texts: Iterable[str]) -> float:
    """The share of non-empty texts holding at least one CJK character (0 for no texts).

    Per text rather than per character: one Chinese character carries about a word, so a character count
    would under-weigh a mixed title such as "Apple iPhone 15 手机壳 透明"; and a shop whose products are
    one in five Chinese needs an encoder that reads them, however long its English descriptions are.
    """
    total = cjk = 0
    for text in texts:
        if not text:
            continue
        total += 1
        cjk += _CJK.search(text) is not None
    return cjk / total if total else 0.0
