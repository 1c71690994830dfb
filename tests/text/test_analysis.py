"""The one tokeniser module: each word rule, numbers, Chinese segmentation and the BM25 analyzer."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from shelfwise.text.analysis import (
    BM25_TOKEN_PATTERN,
    Analyzer,
    CjkAnalysis,
    StopwordLanguage,
    normalise,
    numbers,
    segment,
    split_han,
    stemmer,
    stopword_set,
    words,
)

MIXED = "Bosch 2x4 Wi-Fi o'Neill_XL 12.5mm iphnoe手机壳 红色 128GB"
TEXT_PACKAGE = Path(__file__).parents[2] / "src" / "shelfwise" / "text"


def bm25(
    *,
    stopwords: StopwordLanguage | None = "en",
    stemmer_language: str | None = "english",
    cjk_analysis: CjkAnalysis = "jieba_bigram",
    cjk_subwords: bool = True,
) -> Analyzer:
    """The lexical index's default analyzer, options aside."""
    return Analyzer(
        token_pattern=BM25_TOKEN_PATTERN,
        stopwords=stopwords,
        stemmer_language=stemmer_language,
        cjk_analysis=cjk_analysis,
        cjk_subwords=cjk_subwords,
    )


def test_alnum_keeps_letters_and_digits_together_and_a_han_run_whole() -> None:
    assert words(MIXED) == [
        "bosch", "2x4", "wi", "fi", "o", "neill", "xl", "12", "5mm", "iphnoe手机壳", "红色", "128gb",
    ]  # fmt: skip


def test_word_rule_differs_from_alnum_only_by_keeping_the_underscore() -> None:
    assert words("o'Neill_XL pro", "word") == ["o", "neill_xl", "pro"]
    assert words("o'Neill_XL pro", "alnum") == ["o", "neill", "xl", "pro"]


def test_spelling_rule_splits_han_letters_and_digits_apart() -> None:
    assert words("iphnoe手机壳 2x4 Wi-Fi", "spelling") == ["iphnoe", "手机壳", "2", "x", "4", "wi", "fi"]
    assert words("iphnoe手机壳 2x4 Wi-Fi", "letters") == ["iphnoe", "x", "wi", "fi"]


def test_whitespace_splits_on_spaces_only() -> None:
    assert words(" O'Neill\tWi-Fi,  12.5mm ", "whitespace") == ["o'neill", "wi-fi,", "12.5mm"]
    assert normalise("  Sofa \t COUCH \n") == "sofa couch"


def test_numbers_keep_decimals_whole() -> None:
    assert numbers(MIXED) == ["2", "4", "12.5", "128"]
    assert numbers("2,5 l or 3 l") == ["2,5", "3"]


def test_han_runs_are_split_from_the_letters_and_digits_around_them() -> None:
    assert split_han("iphone15手机壳") == ["iphone15", "手机壳"]
    assert split_han("手机壳") == ["手机壳"]


def test_jieba_cuts_a_chinese_phrase_into_words_not_characters() -> None:
    cut = segment("男士运动鞋跑步鞋")
    assert "".join(cut) == "男士运动鞋跑步鞋"
    assert "男士" in cut and "运动鞋" in cut
    assert sum(len(w) >= 2 for w in cut) >= 3


def test_search_mode_adds_the_dictionary_words_inside_a_long_word() -> None:
    assert segment("运动鞋") == ["运动鞋"]
    fine = segment("运动鞋", subwords=True)
    assert "运动" in fine and "运动鞋" in fine


def test_character_and_pair_analysis_need_no_dictionary() -> None:
    assert segment("运动鞋", "char") == ["运", "动", "鞋"]
    assert segment("运动鞋", "bigram") == ["运动", "动鞋"]
    assert segment("鞋", "bigram") == ["鞋"]
    assert segment("男士运动鞋", "jieba_bigram") == ["男士", "运动鞋", "男士", "士运", "运动", "动鞋"]


def test_bm25_splits_digits_from_letters_drops_stopwords_and_stems() -> None:
    analyzer = bm25()
    assert analyzer.words("The Running shoes for men 2x4") == ["running", "shoes", "men", "2", "x", "4"]
    assert analyzer.analyze("The Running shoes for men 2x4") == ["run", "shoe", "men", "2", "x", "4"]
    assert bm25(stopwords=None, stemmer_language=None).analyze("The shoes") == ["the", "shoes"]


def test_bm25_segments_chinese_and_keeps_stemming_the_latin_part_of_a_mixed_token() -> None:
    analyzer = bm25()
    assert analyzer.words("iPhone15手机壳 男士运动鞋") == [
        "iphone", "15", "手机", "壳", "手机", "机壳", "男士", "运动鞋", "男士", "士运", "运动", "动鞋",
    ]  # fmt: skip
    # Documents also index the words inside a long word; queries do not.
    document = analyzer.analyze("iPhone15手机壳 男士运动鞋", document=True)
    assert document[:2] == ["iphon", "15"] and document.count("运动") == 2
    assert bm25(cjk_subwords=False).analyze("男士运动鞋", document=True) == analyzer.analyze("男士运动鞋")


def test_stopwords_and_stemmer_options() -> None:
    assert "the" in stopword_set("en") and "der" in stopword_set("de")
    assert stopword_set(["a", "b"]) == frozenset({"a", "b"}) and stopword_set(None) == frozenset()
    assert stemmer("english").stemWord("weeds") == "weed" and stemmer(None) is None


def test_jieba_loads_silently_and_only_for_chinese_text() -> None:
    code = (
        "import sys\n"
        "from shelfwise.text.analysis import Analyzer, BM25_TOKEN_PATTERN\n"
        "analyzer = Analyzer(token_pattern=BM25_TOKEN_PATTERN, stopwords='en', stemmer_language='english',"
        " cjk_analysis='jieba_bigram', cjk_subwords=True)\n"
        "analyzer.analyze('Running shoes for men')\n"
        "print('jieba' in sys.modules)\n"
        "print(analyzer.analyze('男士运动鞋'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    english_loaded, chinese_terms = done.stdout.splitlines()
    assert english_loaded == "False"
    assert "运动鞋" in chinese_terms
    assert done.stderr == ""


TEXT_MODULES = sorted(path.stem for path in TEXT_PACKAGE.glob("*.py") if path.stem != "__init__")


@pytest.mark.parametrize("module", TEXT_MODULES)
def test_each_text_module_imports_alone(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import shelfwise.text.{module}"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_the_text_layer_imports_only_itself_io_and_domain() -> None:
    allowed = ("shelfwise.text", "shelfwise.io", "shelfwise.domain")
    found = []
    for path in TEXT_PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.append(node.module)
            elif isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
    shelfwise = [name for name in found if name == "shelfwise" or name.startswith("shelfwise.")]
    assert shelfwise, "the check must see the text layer's own imports"
    assert [name for name in shelfwise if not name.startswith(allowed)] == []
