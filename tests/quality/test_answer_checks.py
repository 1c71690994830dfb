"""The Q&A checks: empty and duplicate pairs are kept out with their row, another script is flagged."""

from __future__ import annotations

from shelfwise.quality.checks.answers import check_pairs, pair_key, script


def test_empty_and_duplicate_pairs_are_kept_out_naming_their_row() -> None:
    rows = [
        (1, {"question": "Is it safe?", "answer": "Yes, it is certified."}),
        (2, {"question": "  ", "answer": "Something"}),
        (3, {"question": "Is it  SAFE?", "answer": "yes, it is certified."}),
        (4, {"question": "Old one?", "answer": "Imported before."}),
        (5, {"question": "No answer"}),
    ]

    checked = check_pairs(rows, {pair_key("Old one?", "Imported before.")}, next_id=0)

    assert [p.question for p in checked.accepted] == ["Is it safe?"]
    assert [(r.row, r.checks) for r in checked.rejected] == [
        (2, ["qa.empty"]),
        (3, ["qa.duplicate"]),
        (4, ["qa.duplicate"]),
        (5, ["qa.empty"]),
    ]
    assert "row 5: the answer is empty" in checked.rejected[-1].message


def test_an_answer_in_another_script_is_flagged_but_kept() -> None:
    rows = [
        (1, {"pair_id": "a", "question": "这个水壶保修多久?", "answer": "Two years."}),
        (2, {"pair_id": "b", "question": "这个水壶保修多久?", "answer": "保修两年。"}),
    ]

    checked = check_pairs(rows, set(), next_id=0)

    assert [p.pair_id for p in checked.accepted] == ["a", "b"]
    assert checked.flagged == {"a": ["qa.language_mismatch"]}
    assert (script("iPhone 手机壳"), script("Two years"), script("123 ?")) == ("cjk", "latin", None)
