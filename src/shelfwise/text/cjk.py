"""Chinese, Japanese and Korean text: which characters are CJK, how much of a catalog is, and Chinese words.

Chinese is written without spaces, so a run of Han characters is a whole phrase ("男士运动鞋跑步鞋"), not a
word. `segment` cuts such a run into words with jieba's dictionary. jieba takes about a second and ~50 MB
to build its prefix dictionary and logs that on stderr, so it is loaded once, on the first Han text, with
its logger silenced: a catalog without Chinese never loads it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

# Han ideographs (CJK unified, extension A, compatibility). These are what jieba segments and what the
# spelling corrector must leave alone: an edit-distance "fix" of a Chinese word is a different word.
HAN_CHARS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Han plus Japanese kana and Korean Hangul: scripts an English-only sentence encoder cannot read.
CJK_CHARS = HAN_CHARS + "\u3040-\u30ff\u31f0-\u31ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af"

HAN = re.compile(f"[{HAN_CHARS}]")
_HAN_RUN = re.compile(f"[{HAN_CHARS}]+")
_HAN_OR_OTHER_RUN = re.compile(f"[{HAN_CHARS}]+|[^{HAN_CHARS}]+")
_CJK = re.compile(f"[{CJK_CHARS}]")

CjkAnalysis = Literal["jieba_bigram", "jieba", "char", "bigram"]


def has_han(text: str) -> bool:
    return HAN.search(text) is not None


def is_han_word(word: str) -> bool:
    """True when `word` is all Han characters (what `split_han` yields for a Chinese run)."""
    return _HAN_RUN.fullmatch(word) is not None


def split_han(token: str) -> list[str]:
    """`iphone手机壳` -> [`iphone`, `手机壳`]: Han runs apart from the letters or digits around them."""
    return _HAN_OR_OTHER_RUN.findall(token)


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


def segment(run: str, analysis: CjkAnalysis = "jieba", subwords: bool = False) -> list[str]:
    """Index words of one run of Han characters.

    - `jieba`: dictionary words (precise mode, with its HMM for words not in the dictionary). With
      `subwords`, jieba's search mode: a long word is followed by the dictionary words inside it
      ("运动鞋" -> "运动", "运动鞋"), so an index built that way also answers the shorter word.
    - `char`: one term per character, the dictionary-free baseline.
    - `bigram`: overlapping character pairs (Lucene's CJK analyzer); a lone character stays one term.
    - `jieba_bigram`: jieba's words, then the pairs of a run longer than two characters. Words rank
      exact matches; pairs still match where jieba cuts a title and a query differently (花草茶茶泡袋 ->
      花草 / 茶茶 / 泡袋 hides 茶泡袋). Best of the four on the Chinese titles (bench/search_chinese.py).
    """
    if analysis == "char":
        return list(run)
    if analysis == "bigram":
        return _pairs(run)
    tokenizer = _jieba()
    found: Iterator[str] = tokenizer.cut_for_search(run) if subwords else tokenizer.cut(run)
    words = [word for word in found if word.strip()]
    if analysis == "jieba_bigram" and len(run) > 2:
        words += _pairs(run)
    return words


def _pairs(run: str) -> list[str]:
    return [run] if len(run) < 2 else [run[i : i + 2] for i in range(len(run) - 1)]


_TOKENIZER: Any = None
_TOKENIZER_LOCK = threading.Lock()


def _jieba() -> Any:
    """jieba's tokenizer, built once per process. A private instance rather than `jieba.dt`, so words
    that other code adds to jieba's global dictionary do not change how the catalog is indexed."""
    global _TOKENIZER
    with _TOKENIZER_LOCK:
        if _TOKENIZER is None:
            import jieba

            tokenizer = jieba.Tokenizer()
            with _quiet(logging.getLogger("jieba")):
                tokenizer.initialize()
            _TOKENIZER = tokenizer
        return _TOKENIZER


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    """jieba logs 'Building prefix dict ...' at DEBUG on a stderr handler of its own; warnings still show."""
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)
