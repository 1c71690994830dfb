"""/v1/answers over a trained engine: imports that are all or nothing, clear 4xx for bad questions, the
answers with scores and reasons, and unanswered questions that are listed and deleted with their user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sample_shop import catalog_rows, event_rows
from shelfwise.app import create_app
from shelfwise.engine import Engine
from shelfwise.settings import Settings

PRODUCTS = ("kettle", "toaster", "blender", "mixer", "fridge", "freezer", "dishwasher", "microwave")
ASPECTS = (
    ("What is the warranty on the {p}?", "The {p} has a two year warranty covering parts and labour."),
    ("How loud is the {p} when it runs?", "The {p} runs at about 40 decibels, quieter than a conversation."),
    ("Does the {p} come with a manual?", "Yes, a printed instruction booklet ships in the box with the {p}."),
    ("What colours does the {p} come in?", "The {p} is sold in white, black and brushed steel finishes."),
    ("How much power does the {p} use?", "The {p} draws 1200 watts at most from a standard socket."),
)
FAQ: list[dict[str, Any]] = [
    {"question": q.format(p=p), "answer": a.format(p=p), "product_id": p}
    for p in PRODUCTS
    for q, a in ASPECTS
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, TestClient]]:
    data = tmp_path_factory.mktemp("answers")
    with Engine(Settings(data_dir=Path(data))) as engine, TestClient(create_app(engine)) as http:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        refused = http.get("/v1/answers", params={"q": "warranty?"})
        assert refused.status_code == 409 and "import Q&A pairs" in str(refused.json())
        imported = http.post("/v1/answers/import", json={"pairs": FAQ})
        assert imported.status_code == 200 and imported.json()["accepted"] == len(FAQ)
        engine.train()
        yield engine, http


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        (
            {
                "pairs": [
                    {"question": "Is it new?", "answer": "Yes."},
                    {"question": "Colour?", "answer": "  "},
                ]
            },
            "row 2",
        ),
        ([{"question": "Size?"}], "row 1: the answer is empty"),
        ([{"question": "", "answer": ""}], "the question is empty and the answer is empty"),
        ([], "no Q&A pairs"),
        ([{"question": 7, "answer": "Seven."}], "row 1: the question is not text"),
        ({"pairs": ["just text"]}, "row 1"),
    ],
)
def test_a_bad_import_is_a_422_naming_the_row_and_stores_nothing(
    client: tuple[Engine, TestClient], payload: object, named: str
) -> None:
    engine, http = client
    before = engine.answers.book.count()

    response = http.post("/v1/answers/import", json=payload)

    assert response.status_code == 422 and named in str(response.json()), response.json()
    assert engine.answers.book.count() == before


def test_an_import_over_the_row_limit_is_a_413_and_stores_nothing(client: tuple[Engine, TestClient]) -> None:
    engine, http = client
    before = engine.answers.book.count()
    rows = [{"question": f"Question {n}?", "answer": f"Answer {n}."} for n in range(10_001)]

    response = http.post("/v1/answers/import", json=rows)

    assert response.status_code == 413 and "max_request_rows" in str(response.json())
    assert engine.answers.book.count() == before


def test_a_repeated_import_skips_what_is_stored(client: tuple[Engine, TestClient]) -> None:
    _, http = client

    report = http.post("/v1/answers/import", json=FAQ[:3]).json()

    assert report["accepted"] == 0 and report["duplicates"] == 3 and report["total_pairs"] == len(FAQ)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"q": ""}, "q"),
        ({}, "q"),
        ({"q": "warranty", "k": "0"}, "k"),
        ({"q": "warranty", "k": "99"}, "k"),
        ({"q": "warranty", "limit": "3"}, "unknown parameter"),
        ({"q": "x" * 2001}, "q"),
        ({"q": "   "}, "empty"),
    ],
)
def test_a_bad_question_is_a_clear_4xx_and_logs_nothing(
    client: tuple[Engine, TestClient], params: dict[str, str], named: str
) -> None:
    engine, http = client
    before = len(engine.answers.unanswered())

    response = http.get("/v1/answers", params=params)

    assert response.status_code == 422 and named in str(response.json())
    assert len(engine.answers.unanswered()) == before


def test_a_question_gets_ranked_answers_with_scores_and_reasons(client: tuple[Engine, TestClient]) -> None:
    _, http = client

    found = http.get(
        "/v1/answers",
        params={
            "q": "how long is the toaster guaranteed",
            "product_id": "toaster",
            "context": ["hi", "about toasters"],
        },
    ).json()

    assert found["answered"] and "toaster" in found["answers"][0]["answer"]
    assert "warranty" in found["answers"][0]["answer"]
    scores = [a["score"] for a in found["answers"]]
    assert scores == sorted(scores, reverse=True)
    assert found["answers"][0]["explanation"]["reasons"]


def test_an_unanswered_question_is_listed_and_deleted_with_its_user(
    client: tuple[Engine, TestClient],
) -> None:
    engine, http = client

    found = http.get("/v1/answers", params={"q": "qzxv wubbly frandle", "user_id": "u1"}).json()
    listed = http.get("/v1/answers/unanswered").json()
    deleted = http.delete("/v1/users/u1").json()

    assert not found["answered"] and found["answers"] == []
    assert listed[0]["question"] == "qzxv wubbly frandle" and listed[0]["user_id"] == "u1"
    assert deleted["removed"]["unanswered_questions"] == 1
    assert all(entry["user_id"] != "u1" for entry in engine.answers.unanswered())


def test_text_no_store_can_hold_is_a_422_naming_the_field(client: tuple[Engine, TestClient]) -> None:
    engine, http = client
    before = (engine.answers.book.count(), len(engine.answers.unanswered()))

    imported = http.post(
        "/v1/answers/import",
        content=b'[{"question": "Why?", "answer": "Because \\ud800"}]',
        headers={"content-type": "application/json"},
    )
    asked = http.get("/v1/answers", params={"q": "warranty", "session_id": "a\x00b"})

    assert imported.status_code == 422 and "row 1: answer" in str(imported.json())
    assert asked.status_code == 422 and "session_id" in str(asked.json())
    assert (engine.answers.book.count(), len(engine.answers.unanswered())) == before
