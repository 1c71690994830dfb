"""A small FAQ of appliance questions, one product each: enough pairs for the answer ranker to train."""

from __future__ import annotations

from typing import Any

from shelfwise.domain.answers import QAPair

PRODUCTS = ("kettle", "toaster", "blender", "mixer", "fridge", "freezer", "dishwasher", "microwave")
ASPECTS = (
    ("What is the warranty on the {p}?", "The {p} has a two year warranty covering parts and labour."),
    ("How loud is the {p} when it runs?", "The {p} runs at about 40 decibels, quieter than a conversation."),
    ("Does the {p} come with a manual?", "Yes, a printed instruction booklet ships in the box with the {p}."),
    ("What colours does the {p} come in?", "The {p} is sold in white, black and brushed steel finishes."),
    ("How much power does the {p} use?", "The {p} draws 1200 watts at most from a standard socket."),
)


def faq_rows() -> list[dict[str, Any]]:
    return [
        {"pair_id": f"{p}-{n}", "question": q.format(p=p), "answer": a.format(p=p), "product_id": p}
        for p in PRODUCTS
        for n, (q, a) in enumerate(ASPECTS)
    ]


def faq_pairs() -> list[QAPair]:
    return [QAPair.model_validate(row) for row in faq_rows()]
