"""Fault injection: how much of each kind of bad data the quality gate finds, and what it flags wrongly.

    .venv/bin/python bench/quality_faults.py [--rate 0.02] [--event-rate 0.01] [--skip-scale]
        [--scale-products 100000 --scale-events 1000000]

Copies of real data (the Flipkart catalog, the Home Depot products, the Amazon Beauty items and
interactions) and the demo shop's catalog get faults injected at a known rate, each row at most one fault.
The gate runs over the original and over the copy. Per fault type:

- recall: the share of faulty rows that the fault's check flags;
- false positives: the share of untouched rows that check flags in the copy but not in the original
  (what the injected rows did to the rest: duplicates, outliers and centroids depend on other rows);
- natural rate: the share of the original's rows the check flags (on real data mostly real defects; on the
  demo shop, whose labels are right by construction, the fuzzy checks' false-alarm rate).

Then the gate is timed on a demo-generator shop of 100,000 products and 1,000,000 events (target < 2 min).
Prints a markdown table, then one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from real_data_quality import (
    AMAZON_BEAUTY,
    FLIPKART,
    HOMEDEPOT,
    available,
    beauty_events,
    beauty_products,
    flipkart_products,
    homedepot_products,
    write_csv,
)
from shelfwise.io.demo import generate_demo_shop, write_demo_shop
from shelfwise.quality.repairs import parse_list_text
from shelfwise.quality.report import QualityReport
from shelfwise.quality.reporting import check_files

Row = dict[str, Any]
NOW = datetime(2026, 6, 2, tzinfo=UTC)
SCALE_TARGET_SECONDS = 120.0


@dataclass
class Fault:
    name: str
    checks: tuple[str, ...]
    applies: Callable[[Row], bool]
    inject: Callable[[Row, random.Random], Row]
    copies: bool = False  # the faulty row is a new row (a copy), not the original changed
    fuzzy: bool = False


@dataclass
class Outcome:
    dataset: str
    fault: str
    injected: int
    found: int
    untouched: int
    new_flags: int
    natural: int
    total: int
    fuzzy: bool
    notes: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.found / self.injected if self.injected else float("nan")

    @property
    def fp_rate(self) -> float:
        return self.new_flags / self.untouched if self.untouched else float("nan")

    @property
    def natural_rate(self) -> float:
        return self.natural / self.total if self.total else float("nan")


# --- catalog faults -----------------------------------------------------------------------------------


def _typo(title: str, rng: random.Random) -> str:
    words = title.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long_words:
        return title.lower() if title != title.lower() else title.upper()
    i = rng.choice(long_words)
    word = words[i]
    j = rng.randrange(1, len(word) - 2)
    edit = rng.choice(("swap", "drop", "double"))
    if edit == "swap":
        word = word[:j] + word[j + 1] + word[j] + word[j + 2 :]
    elif edit == "drop":
        word = word[:j] + word[j + 1 :]
    else:
        word = word[:j] + word[j] + word[j:]
    words[i] = word
    return " ".join(words)


def _near_copy(row: Row, rng: random.Random) -> Row:
    copy = dict(row)
    copy["product_id"] = f"dup-{row['product_id']}"
    edit = rng.choice(("typo", "typo", "case", "punct"))
    title = str(row["title"])
    if edit == "case":
        copy["title"] = title.lower() if title != title.lower() else title.title()
    elif edit == "punct":
        copy["title"] = title.replace(",", "") + "." if "," in title else title + " -"
    else:
        copy["title"] = _typo(title, rng)
    return copy


def _id_copy(row: Row, rng: random.Random) -> Row:
    return {**row, "title": f"{row['title']} (updated)"}


def _mojibake(row: Row, rng: random.Random) -> Row:
    title = f"{row['title']} – {rng.choice(['Crème', 'Café', 'Naïve', 'Señor'])}"
    return {**row, "title": title.encode("utf-8").decode("cp1252", errors="replace")}


def _html(row: Row, rng: random.Random) -> Row:
    words = str(row["title"]).split(" ")
    i = rng.randrange(len(words))
    words[i] = rng.choice((f"<b>{words[i]}</b>", f"{words[i]} &amp;", f"{words[i]}&nbsp;"))
    return {**row, "title": " ".join(words)}


def _with_price(row: Row) -> bool:
    try:
        return float(row.get("price") or 0) > 0
    except ValueError:
        return False


def _categorised(row: Row) -> bool:
    return bool(row.get("category")) and not str(row["category"]).startswith("[")


def catalog_faults(categories: list[str]) -> list[Fault]:
    def swap(row: Row, rng: random.Random) -> Row:
        own = str(row["category"]).split(">")[0].strip()
        others = [c for c in categories if c.split(">")[0].strip() != own]
        return {**row, "category": rng.choice(others)}

    def text(row: Row) -> bool:
        return len(str(row.get("title") or "").split()) >= 2

    return [
        Fault(
            "near-duplicate (small edit)",
            ("product.near_duplicate", "product.duplicate_title"),
            text,
            _near_copy,
            copies=True,
            fuzzy=True,
        ),
        Fault("duplicate id, new content", ("product.duplicate_id",), text, _id_copy, copies=True),
        Fault("swapped category", ("product.category_mismatch",), _categorised, swap, fuzzy=True),
        Fault(
            "price × 100",
            ("product.price_outlier",),
            _with_price,
            lambda r, _: {**r, "price": round(float(r["price"]) * 100, 2)},
        ),
        Fault("zero price", ("product.zero_price",), _with_price, lambda r, _: {**r, "price": "0"}),
        Fault(
            "negative price",
            ("product.negative_price",),
            _with_price,
            lambda r, _: {**r, "price": f"-{r['price']}"},
        ),
        Fault("HTML residue", ("product.html_residue",), text, _html),
        Fault("mojibake", ("product.mojibake",), text, _mojibake),
        Fault(
            "doubled whitespace",
            ("product.doubled_whitespace",),
            text,
            lambda r, _: {**r, "title": str(r["title"]).replace(" ", "  ", 1)},
        ),
        Fault(
            "title in capitals",
            ("product.title_all_caps",),
            lambda r: text(r) and len(str(r["title"])) > 8,
            lambda r, _: {**r, "title": str(r["title"]).upper()},
        ),
        Fault(
            "one-word title",
            ("product.title_too_short",),
            text,
            lambda r, _: {**r, "title": str(r["title"]).split()[0]},
        ),
        Fault(
            "category list as text",
            ("product.list_as_text",),
            _categorised,
            lambda r, _: {**r, "category": str([c.strip() for c in str(r["category"]).split(">")])},
        ),
        Fault("missing title", ("product.missing_required",), text, lambda r, _: {**r, "title": ""}),
    ]


def run_catalog(name: str, rows: list[Row], rate: float, seed: int, tmp: Path) -> list[Outcome]:
    rng = random.Random(seed)
    categories = sorted({str(r["category"]) for r in rows if _categorised(r)})
    faults = [f for f in catalog_faults(categories) if sum(map(f.applies, rows)) >= 20]
    original = check_files(write_csv(tmp / f"{name}-original.csv", rows), now=NOW).report
    order = list(range(len(rows)))
    rng.shuffle(order)
    injected_rows = [dict(r) for r in rows]
    truth: dict[str, set[str]] = {}  # fault -> product ids of faulty rows
    touched: set[str] = set()
    appended: list[Row] = []
    cursor = 0
    per_fault = max(10, int(rate * len(rows)))
    for fault in faults:
        chosen: list[int] = []
        while len(chosen) < per_fault and cursor < len(order):
            index = order[cursor]
            cursor += 1
            if fault.applies(rows[index]):
                chosen.append(index)
        truth[fault.name] = set()
        for index in chosen:
            pid = str(rows[index]["product_id"])
            touched.add(pid)
            new = fault.inject(rows[index], rng)
            if fault.copies:
                appended.append(new)
                truth[fault.name].add(str(new["product_id"]) if new["product_id"] != pid else f"orig:{pid}")
                if new["product_id"] != pid:
                    touched.add(str(new["product_id"]))
            else:
                injected_rows[index] = new
                truth[fault.name].add(pid)
    report = check_files(write_csv(tmp / f"{name}-injected.csv", injected_rows + appended), now=NOW).report
    return [_score(name, fault, truth[fault.name], touched, original, report, len(rows)) for fault in faults]


def _flags(
    report: QualityReport, check_names: tuple[str, ...], file: str = "products"
) -> dict[str, set[str]]:
    """Per check, the product ids (products) or lines (events) it flagged; a superseded duplicate id is
    keyed `orig:ID` since both rows share the id."""
    found: dict[str, set[str]] = {name: set() for name in check_names}
    for row in report.rows:
        if row.file != file:
            continue
        key = str(row.line) if file == "events" else str(row.product_id)
        for name in check_names:
            if name in row.checks:
                found[name].add(f"orig:{key}" if name == "product.duplicate_id" else key)
    return found


def _score(
    name: str,
    fault: Fault,
    faulty: set[str],
    touched: set[str],
    original: QualityReport,
    report: QualityReport,
    total: int,
) -> Outcome:
    after = set().union(*_flags(report, fault.checks).values())
    before = set().union(*_flags(original, fault.checks).values())
    untouched = total - len({key for key in touched if not key.startswith("dup-")})
    new_flags = {key for key in after - before if key.removeprefix("orig:") not in touched}
    return Outcome(
        name,
        fault.name,
        len(faulty),
        len(faulty & after),
        untouched,
        len(new_flags),
        len(before),
        total,
        fault.fuzzy,
    )


def _flipkart_paths() -> list[Row]:
    """Flipkart with its category lists already turned into paths (the gate's own repair), so category
    faults can be injected into it; every other mess is left as it is."""
    rows = flipkart_products()
    for row in rows:
        levels = parse_list_text(str(row["category"] or "")) or []
        row["category"] = " > ".join(levels[:3]) or None
    return rows


# --- event faults ------------------------------------------------------------------------------------


def run_events(products: list[Row], events: list[Row], rate: float, seed: int, tmp: Path) -> list[Outcome]:
    rng = random.Random(seed)
    products_path = write_csv(tmp / "beauty-items.csv", products)
    original = check_files(products_path, write_csv(tmp / "beauty-original.csv", events), now=NOW).report
    rows = [dict(e) for e in events]
    per_fault = max(20, int(rate * len(rows)))
    order = list(range(len(rows)))
    rng.shuffle(order)
    positions = iter(order)
    truth: dict[str, set[int]] = {}
    touched: set[int] = set()

    def take(n: int, accept: Callable[[Row], bool] = lambda _: True) -> list[int]:
        chosen = []
        for index in positions:
            if index not in touched and accept(rows[index]):
                chosen.append(index)
                touched.add(index)
                if len(chosen) == n:
                    break
        return chosen

    def mutate(
        fault: str, change: Callable[[Row], None], accept: Callable[[Row], bool] = lambda _: True
    ) -> None:
        truth[fault] = set()
        for index in take(per_fault, accept):
            change(rows[index])
            truth[fault].add(index)

    mutate("unknown product id", lambda r: r.update(product_id=f"zz-{rng.randrange(10**9)}"))
    mutate("unknown event type", lambda r: r.update(event_type=rng.choice(["like", "wishlist", "share"])))
    mutate(
        "future timestamp",
        lambda r: r.update(timestamp=(NOW + timedelta(days=rng.uniform(1, 400))).isoformat()),
    )
    mutate("timestamp before the shop", lambda r: r.update(timestamp="1990-03-01T10:00:00Z"))
    # purchases whose view is dropped: the purchase is the faulty row
    sessions: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        sessions.setdefault(str(row["session_id"]), []).append(index)
    dropped: set[int] = set()
    truth["purchase without a view"] = set()
    for index in take(per_fault, lambda r: r["event_type"] == "purchase"):
        view = [i for i in sessions[str(rows[index]["session_id"])] if rows[i]["event_type"] == "view"]
        if view and view[0] not in touched:
            dropped.add(view[0])
            touched.add(view[0])
            truth["purchase without a view"].add(index)
    kept = [i for i in range(len(rows)) if i not in dropped]
    # duplicates and bots are new rows, appended after the originals
    extra: list[Row] = []
    duplicates: list[int] = []
    for index in take(per_fault, lambda r: r["event_type"] == "view"):
        copy = dict(rows[index])
        moment = datetime.fromisoformat(str(copy["timestamp"]).replace("Z", "+00:00"))
        copy["timestamp"] = (moment + timedelta(seconds=rng.choice([0, 1, 2, 3]))).isoformat()
        duplicates.append(len(extra))
        extra.append(copy)
    bots: list[int] = []
    item_ids = [str(p["product_id"]) for p in products]
    for b in range(max(6, per_fault // 150)):
        start = NOW - timedelta(days=rng.uniform(2, 60))
        kind = b % 3
        count = (200, 60, 300)[kind]
        for k in range(count):
            if kind == 0:
                offset = k * rng.uniform(0.2, 0.6)  # hundreds of events in a couple of minutes
            elif kind == 1:
                offset = k * 45.0  # a metronome
            else:
                offset = k * rng.uniform(3, 12)  # a crawler touching hundreds of products
            bots.append(len(extra))
            extra.append(
                {
                    "user_id": f"bot{b}",
                    "session_id": f"bot{b}-s",
                    "event_type": "view",
                    "product_id": rng.choice(item_ids) if kind != 2 else item_ids[k % len(item_ids)],
                    "timestamp": (start + timedelta(seconds=offset)).isoformat(),
                }
            )
    final = [rows[i] for i in kept] + extra
    line_of = {index: position + 2 for position, index in enumerate(kept)}
    base = len(kept) + 2
    report = check_files(products_path, write_csv(tmp / "beauty-injected.csv", final), now=NOW).report
    truth_lines = {fault: {line_of[i] for i in indexes} for fault, indexes in truth.items()}
    truth_lines["duplicate event"] = {base + i for i in duplicates}
    truth_lines["bot traffic"] = {base + i for i in bots}
    touched_lines = {line_of[i] for i in touched if i in line_of} | {base + i for i in range(len(extra))}
    # A fault on one event changes its session for the funnel check: count the session as touched.
    touched_sessions = {str(rows[i]["session_id"]) for i in touched}
    touched_lines |= {line_of[i] for i in kept if str(rows[i]["session_id"]) in touched_sessions}
    original_line = {line_of[i]: i + 2 for i in kept}
    checks = {
        "unknown product id": ("event.unknown_product",),
        "unknown event type": ("event.unknown_event_type",),
        "future timestamp": ("event.future_timestamp",),
        "timestamp before the shop": ("event.timestamp_before_shop",),
        "purchase without a view": ("event.cart_without_view",),
        "duplicate event": ("event.duplicate",),
        "bot traffic": ("event.bot",),
    }
    outcomes = []
    for fault, names in checks.items():
        after = {int(k) for k in set().union(*_flags(report, names, "events").values())}
        before = {int(k) for k in set().union(*_flags(original, names, "events").values())}
        untouched_after = {line for line in after if line not in touched_lines}
        new_flags = {line for line in untouched_after if original_line.get(line) not in before}
        faulty = truth_lines[fault]
        outcomes.append(
            Outcome(
                "amazon-beauty events",
                fault,
                len(faulty),
                len(faulty & after),
                len(kept) - len(touched_lines & set(line_of.values())),
                len(new_flags),
                len(before),
                len(events),
                False,
            )
        )
    truncated = _truncation(products_path, events, tmp)
    outcomes.append(truncated)
    return outcomes


def _truncation(products_path: Path, events: list[Row], tmp: Path) -> Outcome:
    """A dataset-level fault: the last day cut to a tenth, as a truncated import would."""
    last_day = max(str(e["timestamp"])[:10] for e in events)
    kept = [e for i, e in enumerate(events) if str(e["timestamp"])[:10] != last_day or i % 10 == 0]
    fired = [
        any(
            w.check == "events.truncated_last_day"
            for w in check_files(products_path, write_csv(path, data), now=NOW).report.warnings
        )
        for path, data in ((tmp / "trunc-original.csv", events), (tmp / "trunc-injected.csv", kept))
    ]
    return Outcome(
        "amazon-beauty events",
        "truncated last day (dataset)",
        1,
        int(fired[1]),
        1,
        int(fired[0]),
        int(fired[0]),
        1,
        False,
        ["fires on the data set, not on rows"],
    )


# --- scale ---------------------------------------------------------------------------------------------


def run_scale(n_products: int, n_events: int, tmp: Path) -> dict[str, float]:
    started = time.perf_counter()
    users = max(100, int(n_events / 87))  # the demo generator makes about 87 events per shopper
    products, events = write_demo_shop(tmp / "scale", n_products=n_products, n_users=users)
    generated = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    report = check_files(products, events, now=NOW).report
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    assert report.products is not None and report.events is not None
    return {
        "products": report.products.rows,
        "events": report.events.rows,
        "gate_seconds": round(seconds, 1),
        "gate_cpu_seconds": round(cpu_seconds, 1),
        "load_average": round(os.getloadavg()[0], 1),
        "generate_seconds": round(generated, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=0.02, help="share of catalog rows per fault type")
    parser.add_argument("--event-rate", type=float, default=0.01, help="share of events per fault type")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--scale-products", type=int, default=100_000)
    parser.add_argument("--scale-events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    outcomes: list[Outcome] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        catalogs: list[tuple[str, Callable[[], list[Row]], bool]] = [
            ("flipkart", _flipkart_paths, available(FLIPKART, "product.csv")),
            ("homedepot", lambda: homedepot_products(), available(HOMEDEPOT, "products.csv")),
            ("demo shop", lambda: generate_demo_shop(n_products=5000, n_users=10).products, True),
        ]
        for name, load, present in catalogs:
            if not present:
                skipped.append(f"{name}: data absent")
                continue
            rows = [{k: (json.dumps(v) if isinstance(v, dict) else v) for k, v in r.items()} for r in load()]
            outcomes += run_catalog(name, rows, args.rate, args.seed, tmp)
        if available(AMAZON_BEAUTY, "interactions.csv"):
            outcomes += run_events(beauty_products(), beauty_events(), args.event_rate, args.seed, tmp)
        else:
            skipped.append("amazon-beauty: data absent")
        scale = None if args.skip_scale else run_scale(args.scale_products, args.scale_events, tmp)
    print(_table(outcomes))
    if scale:
        verdict = "meets" if scale["gate_seconds"] < SCALE_TARGET_SECONDS else "misses"
        print(
            f"\nGate over {scale['products']:,} products and {scale['events']:,} events: "
            f"{scale['gate_seconds']} s wall, {scale['gate_cpu_seconds']} s CPU ({verdict} the "
            f"{SCALE_TARGET_SECONDS:.0f} s target; load average {scale['load_average']} on shared cores)"
        )
    for line in skipped:
        print(f"skipped: {line}", file=sys.stderr)
    figures = {
        "faults": [
            {
                "dataset": o.dataset,
                "fault": o.fault,
                "injected": o.injected,
                "recall": _r(o.recall),
                "false_positive_rate": _r(o.fp_rate),
                "natural_rate": _r(o.natural_rate),
                "fuzzy": o.fuzzy,
            }
            for o in outcomes
        ],
        "scale": scale,
        "skipped": skipped,
    }
    print(json.dumps(figures))
    return 0


def _r(value: float) -> float | None:
    return None if value != value else round(value, 4)


def _table(outcomes: list[Outcome]) -> str:
    lines = [
        "| data | fault | injected | recall | false positives (untouched rows) | natural rate (original) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for o in outcomes:
        fault = f"{o.fault} (fuzzy)" if o.fuzzy else o.fault
        rates = f"{o.recall:.1%} | {o.fp_rate:.2%} | {o.natural_rate:.2%}"
        lines.append(f"| {o.dataset} | {fault} | {o.injected:,} | {rates} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
