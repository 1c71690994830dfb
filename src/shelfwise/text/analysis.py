"""Text -> words: the one place in shelfwise that splits text into words, segments Chinese and stems.

Parts of shelfwise split text differently on purpose, and each way is a named rule here, so that no other
module keeps a tokenising regex of its own. Every rule lower-cases first.

- `Analyzer` (the lexical index's BM25 terms): digit runs and letter runs apart (`BM25_TOKEN_PATTERN`),
  Han runs cut into words (`segment`), stopwords dropped, the rest stemmed.
- `words(text, rule)` for everything else:
  - `alnum`: runs of letters and digits of any script together ("128gb" and a whole Han run are one
    word each): what the catalog quality checks compare titles by.
  - `word`: `alnum` with the underscore (Python's `\\w`): the key under which identical titles group.
  - `spelling`: Han runs, letter runs and digit runs apart, so that "iphnoe手机壳" still has a
    correctable Latin word: the words the spelling corrector walks through in a query.
  - `letters`: letter runs, neither digits nor Han: the words the spelling corrector learns.
  - `whitespace`: white space only: merchandising rules and synonyms match what a person typed, word for
    word ("wi-fi" stays one word).
- `numbers(text)`: the numbers, decimals whole ("2.5", "128"): what tells product variants apart.

Chinese is written without spaces, so a run of Han characters is a whole phrase ("男士运动鞋跑步鞋"), not a
word; `segment` cuts it into words with jieba's dictionary. jieba takes about a second and ~50 MB to build
its prefix dictionary and logs that on stderr, so it is loaded once, on the first Han text, with its
logger silenced: a catalog without Chinese never loads it. Which characters are Han is shelfwise.text.cjk.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import Stemmer

from shelfwise.text.cjk import HAN_CHARS, has_han

WordRule = Literal["alnum", "word", "spelling", "letters", "whitespace"]
CjkAnalysis = Literal["jieba_bigram", "jieba", "char", "bigram"]
StopwordLanguage = Literal["en", "de", "fr", "es", "it", "nl", "pt"]

# Runs of digits and runs of letters are separate tokens, single characters included: sizes and
# dimensions ("2x4", "12-gauge", "1/2 in.") match however they are written. (LexicalIndexConfig says
# how this compares with bm25s's default.)
BM25_TOKEN_PATTERN = r"(?u)\d+|[^\W\d_]+"

_RULES: dict[str, re.Pattern[str]] = {
    "alnum": re.compile(r"[^\W_]+", re.UNICODE),
    "word": re.compile(r"\w+", re.UNICODE),
    # Han runs are words of their own here so that the letters next to them ("iphnoe手机壳") stay
    # correctable; a Han run is neither learnt nor corrected (see shelfwise.search.spelling).
    "spelling": re.compile(f"[{HAN_CHARS}]+|[^\\W\\d_{HAN_CHARS}]+|\\d+", re.UNICODE),
    "letters": re.compile(f"[^\\W\\d_{HAN_CHARS}]+"),
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_HAN_OR_OTHER_RUN = re.compile(f"[{HAN_CHARS}]+|[^{HAN_CHARS}]+")


def words(text: str, rule: WordRule = "alnum") -> list[str]:
    """The lower-cased words of `text` under `rule` (see the module docstring), in order."""
    lowered = text.lower()
    if rule == "whitespace":
        return lowered.split()
    return _RULES[rule].findall(lowered)


def normalise(text: str) -> str:
    """Lower case, white space collapsed to single spaces: how typed phrases are compared."""
    return " ".join(words(text, "whitespace"))


def numbers(text: str) -> list[str]:
    """The numbers in `text`, in order, a decimal ("2.5", "2,5") as one."""
    return _NUMBER.findall(text)


def stemmer(language: str | None) -> Any:
    """A Snowball stemmer (PyStemmer) for `language`, or None for no stemming. Its `stemWord` and
    `stemWords` leave Han words as they are."""
    return Stemmer.Stemmer(language) if language else None


def stopword_set(stopwords: StopwordLanguage | Iterable[str] | None) -> frozenset[str]:
    """bm25s's list for a language code, the given words, or none."""
    if not isinstance(stopwords, str):
        return frozenset(stopwords or ())
    # Imported here: bm25s is a heavy import, and only the lexical index needs its lists.
    from bm25s import stopwords as bm25s_stopwords

    lists: dict[str, tuple[str, ...]] = {
        "en": bm25s_stopwords.STOPWORDS_EN,
        "de": bm25s_stopwords.STOPWORDS_GERMAN,
        "fr": bm25s_stopwords.STOPWORDS_FRENCH,
        "es": bm25s_stopwords.STOPWORDS_SPANISH,
        "it": bm25s_stopwords.STOPWORDS_ITALIAN,
        "nl": bm25s_stopwords.STOPWORDS_DUTCH,
        "pt": bm25s_stopwords.STOPWORDS_PORTUGUESE,
    }
    return frozenset(lists[stopwords])


class Analyzer:
    """Text -> BM25 index terms: lower-case, split by `token_pattern`, segment Han runs, drop stopwords,
    stem. Queries and documents share it, except that documents may also index the sub-words of long
    Chinese words (`document=True` with `cjk_subwords`).

    Han runs are segmented into words and are not stemmed; text without Han characters never loads the
    Chinese dictionary. The lexical index's config chooses every option (LexicalIndexConfig.analyzer).
    """

    def __init__(
        self,
        *,
        token_pattern: str,
        stopwords: StopwordLanguage | Iterable[str] | None,
        stemmer_language: str | None,
        cjk_analysis: CjkAnalysis,
        cjk_subwords: bool,
    ) -> None:
        self._pattern = re.compile(token_pattern)
        self._stopwords = stopword_set(stopwords)
        self._stemmer = stemmer(stemmer_language)
        self._cjk_analysis: CjkAnalysis = cjk_analysis
        self._cjk_subwords = cjk_subwords

    def words(self, text: str, document: bool = False) -> list[str]:
        """The words as typed (lower-cased), stopwords removed: what explanations quote."""
        tokens = self._pattern.findall(text.lower())
        if has_han(text):
            tokens = self._segment(tokens, document)
        return [w for w in tokens if w not in self._stopwords]

    def _segment(self, tokens: list[str], document: bool) -> list[str]:
        subwords = document and self._cjk_subwords
        found: list[str] = []
        for token in tokens:
            if not has_han(token):
                found.append(token)
                continue
            # "iphone手机壳" is one run of letters to the token pattern: its Latin part keeps stemming.
            for run in split_han(token):
                found.extend(segment(run, self._cjk_analysis, subwords) if has_han(run) else (run,))
        return found

    def terms(self, words: list[str]) -> list[str]:
        """One index term per word, in order. (Snowball stemmers leave Han words as they are.)"""
        return list(self._stemmer.stemWords(words)) if self._stemmer else words

    def analyze(self, text: str, document: bool = False) -> list[str]:
        return self.terms(self.words(text, document))


def split_han(token: str) -> list[str]:
    """`iphone手机壳` -> [`iphone`, `手机壳`]: Han runs apart from the letters or digits around them."""
    return _HAN_OR_OTHER_RUN.findall(token)


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
    cut = [word for word in found if word.strip()]
    if analysis == "jieba_bigram" and len(run) > 2:
        cut += _pairs(run)
    return cut


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
