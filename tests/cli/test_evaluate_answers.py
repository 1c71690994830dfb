"""`shelfwise evaluate answers --json`: the engine's default, then bm25 and encoder, as one JSON line."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from typer.testing import CliRunner

from shelfwise.cli.main import app

runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})
PRODUCTS = ("kettle", "toaster", "blender", "mixer", "fridge", "freezer", "dishwasher", "microwave")
ASPECTS = (
    ("What is the warranty on the {p}?", "The {p} has a two year warranty covering parts and labour."),
    ("How loud is the {p} when it runs?", "The {p} runs at about 40 decibels, quieter than a conversation."),
    ("Does the {p} come with a manual?", "Yes, a printed instruction booklet ships in the box with the {p}."),
    ("What colours does the {p} come in?", "The {p} is sold in white, black and brushed steel finishes."),
    ("How much power does the {p} use?", "The {p} draws 1200 watts at most from a standard socket."),
)


def test_evaluate_answers_json_lists_the_default_then_its_peers(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl.gz"
    rows = [
        {"line_no": i, "asin": p, "question": q.format(p=p), "answer": a.format(p=p)}
        for i, (p, (q, a)) in enumerate((p, aspect) for p in PRODUCTS for aspect in ASPECTS)
    ]
    with gzip.open(qa, "wt", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)

    result = runner.invoke(
        app, ["--data-dir", str(tmp_path / "data"), "evaluate", "answers", "--qa", str(qa), "--json"]
    )

    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert [row["name"] for row in figures["rows"]][:3] == ["shelfwise", "bm25", "encoder"]
    for row in figures["rows"]:
        assert set(row["metrics"]) == {"mrr_at_10", "recall_at_1", "recall_at_5"}
        assert 0 <= row["metrics"]["recall_at_1"] <= row["metrics"]["recall_at_5"] <= 1
    # Each question names its product and aspect: the words alone find most answers.
    assert figures["rows"][1]["metrics"]["recall_at_5"] > 0.5
    assert figures["questions"] == len(rows)


def test_evaluate_answers_on_a_broken_file_names_the_line(tmp_path: Path) -> None:
    qa = tmp_path / "qa.jsonl"
    qa.write_text('{"question": "a?", "answer": "b"}\n{oops\n')

    result = runner.invoke(app, ["evaluate", "answers", "--qa", str(qa), "--data-dir", str(tmp_path / "d")])

    assert result.exit_code == 1 and "line 2" in result.output


def test_ingest_answers_stores_the_good_pairs_and_lists_the_rest(tmp_path: Path) -> None:
    qa = tmp_path / "faq.jsonl"
    qa.write_text(
        '{"question": "Do you ship abroad?", "answer": "Yes, to 30 countries."}\n'
        '{"question": "Gift wrap?", "answer": ""}\n'
        '{"question": "do you ship  abroad?", "answer": "yes, to 30 countries."}\n'
    )

    result = runner.invoke(app, ["ingest", "answers", str(qa), "--data-dir", str(tmp_path / "d")])

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["accepted"] == 1 and report["duplicates"] == 1 and report["total_pairs"] == 1
    assert report["rejected"][0]["checks"] == ["qa.empty"] and report["rejected"][0]["row"] == 2
