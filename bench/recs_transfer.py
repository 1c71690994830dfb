"""Cross-domain transfer of the sequential transformer: trained on one Amazon Beauty category, run on another.

    nice -n 10 .venv/bin/python bench/recs_transfer.py [--source skin-care] [--targets hair-care makeup]
        [--fractions 0.1 1.0] [--repeats 3] [--max-seconds 300] [--output transfer.json]

Domains. Amazon Beauty's S3Rec attribute ids are anonymised, but six of them split the catalog cleanly: every
item carries exactly one (checked at run time), and the titles name them (skin care, hair care, makeup,
tools & accessories, bath & body, fragrance). A domain is one such category: its items, and the users with
more interactions in it than in any other category (a tie for first place puts a user in no domain), each
history restricted to the domain's items. Domains thus share no item and no user: what transfers is only
what the model learned about order and about titles. Skin care (7,257 users, 3,814 items), hair care
(4,999 / 3,262) and makeup (4,097 / 2,627) are sizeable; the other three are small.
Users with fewer than 3 domain interactions train but are not evaluated.

Protocol on each target domain: leave-one-out (last item test, previous validation), full ranking over all
the target domain's items, history excluded (`evaluation.protocols`, `evaluation.recs_eval.evaluate_model`).
A target "shop" with little data is a random fraction of the target's users: models train on those users'
training sequences and early-stop on those users' validation targets, and every row is tested on the same
test targets of all evaluated target users (their histories are the model's input, as a live shop's would
be). Fractions below 1 are repeated over `--repeats` different user samples; the table gives their mean.

Rows: popularity on the target's training data (a floor); the transformer with text trained from scratch on
the target; the source's transformer zero-shot on the target (no target training: a new item's vector is its
own title's projection plus an ID embedding that starts at zero, "new IDs zero", or as the mean ID embedding
of the source items with the most similar titles, "new IDs neighbours"); the source's transformer fine-tuned
on the target's training data from either start.
Item text: all-MiniLM-L6-v2 embeddings of titles via `TextEncoder`, cached under --text-cache.
Prints a markdown table on stdout; --output writes every figure as JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch

from harness import shared_data
from shelfwise.evaluation.protocols import LeaveOneOutSplit, evaluate_split, leave_one_out
from shelfwise.evaluation.recs_eval import RecsModelResult, build_interactions, evaluate_model
from shelfwise.io import datasets
from shelfwise.recommend.base import ItemScorer
from shelfwise.recommend.interactions import Interactions
from shelfwise.recommend.popularity import Popularity
from shelfwise.recommend.sequential import SequentialConfig, SequentialRecommender
from transfer import TransferConfig, TransferredRecommender

# Anonymised S3Rec attribute id -> the category its items' titles show. Listed largest first.
CATEGORIES = {
    "17": "skin-care",
    "4": "hair-care",
    "1": "makeup",
    "64": "tools-accessories",
    "15": "bath-body",
    "8": "fragrance",
}
DEFAULT_TEXT_CACHE = Path("/tmp/transfer_work/text_cache")
# How a target item's ID embedding starts (`TransferConfig.new_item_init`): zero, so its vector is its
# title's projection alone, or the ID embeddings of the source items with the most similar titles.
INITS = ("zero", "neighbours")


@dataclasses.dataclass(frozen=True)
class Domain:
    name: str
    data: Interactions
    text: np.ndarray  # one row per item of data.items


def item_categories(items: pl.DataFrame) -> pl.DataFrame:
    """item_id -> category; refuses a catalog where an item carries none or several of the categories."""
    found = items.select(
        "item_id",
        pl.col("s3rec_attribute_ids")
        .fill_null("")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element().is_in(list(CATEGORIES))))
        .list.unique()  # two items list their category twice
        .alias("ids"),
    )
    counts = found.get_column("ids").list.len()
    if (counts != 1).any():
        bad = int((counts != 1).sum())
        sys.exit(f"{bad} items carry no or several of the category ids {list(CATEGORIES)}; split undefined")
    return found.select("item_id", pl.col("ids").list.first().replace_strict(CATEGORIES).alias("category"))


def dominant_category(interactions: pl.DataFrame) -> pl.DataFrame:
    """user_id -> the category more of the user's interactions fall in than any other; users with a tie
    for first place belong to no domain (breaking ties by a fixed order would favour one domain)."""
    counts = interactions.group_by("user_id", "category").len()
    ordered = counts.sort(["user_id", "len", "category"], descending=[False, True, False])
    top = ordered.group_by("user_id", maintain_order=True).agg(
        pl.col("category").first(),
        pl.col("len").first().alias("first"),
        pl.col("len").get(1, null_on_oob=True).alias("second"),
    )
    strict = top.filter(pl.col("second").is_null() | (pl.col("first") > pl.col("second")))
    return strict.select("user_id", "category")


def build_domains(
    names: list[str], interactions: pl.DataFrame, items: pl.DataFrame, text: dict[str, np.ndarray]
) -> dict[str, Domain]:
    categories = item_categories(items)
    interactions = interactions.join(categories, on="item_id")
    owners = dominant_category(interactions).rename({"category": "owner"})
    interactions = interactions.join(owners, on="user_id")
    domains = {}
    for name in names:
        domain_items = items.join(categories, on="item_id").filter(pl.col("category") == name)
        rows = interactions.filter((pl.col("category") == name) & (pl.col("owner") == name))
        data, dropped = build_interactions(
            rows, domain_items, user="user_id", item="item_id", order="position"
        )
        assert dropped == 0
        ids = domain_items.get_column("item_id").to_list()
        domains[name] = Domain(name, data, np.stack([text[i] for i in ids]))
    return domains


def title_embeddings(items: pl.DataFrame, cache: Path) -> dict[str, np.ndarray]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from shelfwise.text.encoder import TextEncoder

    titles = items.get_column("title").fill_null("").to_list()
    vectors = TextEncoder(cache_dir=cache).encode(titles, progress=False)
    return dict(zip(items.get_column("item_id").to_list(), vectors, strict=True))


def reduced(split: LeaveOneOutSplit, fraction: float, seed: int) -> LeaveOneOutSplit:
    """The split a shop with `fraction` of the users would have: training sequences and validation
    targets of those users only; the test cases stay those of every evaluated user."""
    if fraction >= 1.0:
        return split
    n_users = split.train.n_users
    rng = np.random.default_rng(seed)
    chosen = np.zeros(n_users, dtype=bool)
    chosen[rng.choice(n_users, size=max(1, round(fraction * n_users)), replace=False)] = True
    valid = chosen[split.users]
    return dataclasses.replace(
        split,
        train=split.train.subset(chosen[split.train.user_idx]),
        train_with_valid=split.train_with_valid.subset(chosen[split.train_with_valid.user_idx]),
        valid_histories=[h for h, keep in zip(split.valid_histories, valid, strict=True) if keep],
        valid_targets=split.valid_targets[valid],
    )


def describe(domain: Domain) -> dict[str, Any]:
    split = leave_one_out(domain.data)
    return {
        "users": domain.data.n_users,
        "items": domain.data.n_items,
        "interactions": len(domain.data),
        "evaluated_users": len(split),
        "mean_history": round(len(domain.data) / domain.data.n_users, 2),
    }


def row(result: RecsModelResult, model: ItemScorer) -> dict[str, Any]:
    history = getattr(model, "history", None)
    return {
        "hr_at_10": result.hr_at_10,
        "ndcg_at_10": result.ndcg_at_10,
        "valid_ndcg_at_10": result.valid_ndcg_at_10,
        "fit_seconds": result.fit_seconds,
        "epochs": len(history) if history else 0,
    }


def run_target(
    source: SequentialRecommender,
    target: Domain,
    fractions: list[float],
    repeats: int,
    config: SequentialConfig,
    transfer: TransferConfig,
) -> list[dict[str, Any]]:
    """Every model on one target domain, at every fraction of its users; one record per model and run."""
    split = leave_one_out(target.data)
    records: list[dict[str, Any]] = []
    zero_shots: dict[str, ItemScorer] = {
        f"source zero-shot, new IDs {init}": TransferredRecommender(
            source, target.text, transfer.model_copy(update={"fine_tune": False, "new_item_init": init})
        )
        for init in INITS
    }
    for name, model in zero_shots.items():
        result = evaluate_model(name, model, split)  # no training on the target: one run serves all
        for fraction in fractions:
            records.append({"model": name, "fraction": fraction, "repeat": 0, **row(result, model)})
    for fraction in fractions:
        for repeat in range(repeats if fraction < 1.0 else 1):
            shop = reduced(split, fraction, seed=repeat)
            models: dict[str, ItemScorer] = {
                "popularity": Popularity(),
                "scratch (sasrec+text)": SequentialRecommender(config, item_text_embeddings=target.text),
            }
            for init in INITS:
                models[f"source fine-tuned, new IDs {init}"] = TransferredRecommender(
                    source, target.text, transfer.model_copy(update={"new_item_init": init})
                )
            for name, model in models.items():
                started = time.perf_counter()
                result = evaluate_model(name, model, shop)
                logging.info(
                    "%s %s %.0f%% #%d: HR@10 %.4f NDCG@10 %.4f (%.0f s)",
                    target.name, name, 100 * fraction, repeat, result.hr_at_10, result.ndcg_at_10,
                    time.perf_counter() - started,
                )  # fmt: skip
                records.append({"model": name, "fraction": fraction, "repeat": repeat, **row(result, model)})
    return records


def summarise(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean (and spread over repeats) of each model at each fraction."""
    frame = pl.DataFrame(records)
    return (
        frame.group_by("model", "fraction", maintain_order=True)
        .agg(
            pl.col("hr_at_10").mean(),
            pl.col("ndcg_at_10").mean(),
            pl.col("ndcg_at_10").std().fill_null(0.0).alias("ndcg_std"),
            pl.col("epochs").mean(),
            pl.len().alias("runs"),
        )
        .to_dicts()
    )


MODEL_ORDER = (
    "popularity",
    "scratch (sasrec+text)",
    *(f"source zero-shot, new IDs {init}" for init in ("zero", "neighbours")),
    *(f"source fine-tuned, new IDs {init}" for init in ("zero", "neighbours")),
)


def markdown(source_name: str, results: dict[str, Any], fractions: list[float]) -> str:
    header = "| target | model | " + " | ".join(f"{100 * f:g}% users HR@10 / NDCG@10" for f in fractions)
    lines = [header + " |", "|---|---|" + "---:|" * len(fractions)]
    for target, found in results["targets"].items():
        cells = {(s["model"], s["fraction"]): s for s in found["summary"]}
        for model in MODEL_ORDER:
            row_cells = []
            for fraction in fractions:
                s = cells[(model, fraction)]
                spread = f" ±{s['ndcg_std']:.4f}" if s["runs"] > 1 else ""
                row_cells.append(f"{s['hr_at_10']:.4f} / {s['ndcg_at_10']:.4f}{spread}")
            lines.append(f"| {target} | {model} | " + " | ".join(row_cells) + " |")
    source = results["source"]
    lines.append("")
    lines.append(
        f"Source {source_name}: {source['domain']['users']:,} users, {source['domain']['items']:,} items; "
        f"its own test HR@10 {source['hr_at_10']:.4f} / NDCG@10 {source['ndcg_at_10']:.4f}."
    )
    for target, found in results["targets"].items():
        d = found["domain"]
        lines.append(
            f"Target {target}: {d['users']:,} users ({d['evaluated_users']:,} tested), {d['items']:,} items "
            f"ranked, {d['interactions']:,} interactions."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = list(CATEGORIES.values())
    parser.add_argument("--source", choices=names, default="skin-care")
    parser.add_argument("--targets", choices=names, nargs="+", default=["hair-care", "makeup"])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--repeats", type=int, default=3, help="user samples per fraction below 1")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="CPU seconds per training")
    parser.add_argument("--config", default="{}", help="JSON overrides of SequentialConfig")
    parser.add_argument("--transfer", default="{}", help="JSON overrides of TransferConfig")
    parser.add_argument("--text-cache", type=Path, default=DEFAULT_TEXT_CACHE)
    parser.add_argument("--output", type=Path, help="write every figure here as JSON")
    args = parser.parse_args()
    if args.source in args.targets:
        parser.error("the source domain cannot also be a target")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    torch.set_num_threads(1)
    started = time.perf_counter()

    try:
        interactions, items = datasets.load_amazon_beauty(shared_data())
    except datasets.DatasetMissing as missing:
        sys.exit(str(missing))
    text = title_embeddings(items, args.text_cache)
    domains = build_domains([args.source, *args.targets], interactions, items, text)
    overrides = {"max_seconds": args.max_seconds, **json.loads(args.config)}
    config = SequentialConfig(**overrides)
    transfer = TransferConfig(max_seconds=args.max_seconds, **json.loads(args.transfer))

    source_domain = domains[args.source]
    source_split = leave_one_out(source_domain.data)
    source = SequentialRecommender(config, item_text_embeddings=source_domain.text)
    source.fit(source_split.train, validation=(source_split.valid_histories, source_split.valid_targets))
    source_test = evaluate_split(source, source_split, on="test")
    logging.info("source %s: test %s (%d epochs)", args.source, source_test, len(source.history))

    results: dict[str, Any] = {
        "dataset": "amazon-beauty",
        "protocol": "leave-one-out, full ranking over the target domain's items, history excluded; "
        "fractions of target users train and validate, all evaluated target users test",
        "domains": "category = the one of six exclusive S3Rec attribute ids an item carries; a domain's "
        "users are those most of whose interactions are in it; histories restricted to its items",
        "sequential_config": config.model_dump(mode="json"),
        "transfer_config": transfer.model_dump(mode="json"),
        "source": {
            "name": args.source,
            "domain": describe(source_domain),
            "hr_at_10": source_test.hr_at_10,
            "ndcg_at_10": source_test.ndcg_at_10,
            "epochs": len(source.history),
        },
        "targets": {},
    }
    for name in args.targets:
        records = run_target(source, domains[name], args.fractions, args.repeats, config, transfer)
        results["targets"][name] = {
            "domain": describe(domains[name]),
            "summary": summarise(records),
            "runs": records,
        }
    results["total_seconds"] = round(time.perf_counter() - started, 1)
    print(markdown(args.source, results, args.fractions))
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
