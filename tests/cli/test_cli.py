"""The command line end to end on tiny generated data: real commands in a temporary data dir."""

from __future__ import annotations

import json
import re
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sample_shop import catalog_rows, event_rows
from shelfwise.cli.main import app
from shelfwise.engine import Engine
from shelfwise.settings import CONFIG_FILE_ENV

# Wide enough that rich never folds a file name or a reason across lines.
runner = CliRunner(env={"COLUMNS": "250", "NO_COLOR": "1"})

PRODUCTS = """product_id,title,category,brand,price
p1,Oak desk lamp,Home > Lighting,Acme,39.90
p2,Linen pillow cover,Home > Bedding,Northwind,abc
p3,Steel kettle,Home > Kitchen,Globex,25
p4,Garden rake,Garden > Tools,Acme,15
p5,Ceramic table lamp,Home > Lighting,Globex,59
"""


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def table_cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split(r"[│|]", line)[1:-1]]


def last_json_line(output: str) -> dict[str, object]:
    lines = [line for line in output.splitlines() if line.strip()]
    return json.loads(lines[-1])


def test_ingest_reports_quarantined_rows_and_succeeds(tmp_path: Path) -> None:
    products = write(tmp_path / "products.csv", PRODUCTS)
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "data"), "ingest", "products", str(products)])
    assert result.exit_code == 0, result.output
    assert "quarantined" in result.output
    assert "price: 'abc' is not a number" in result.output
    # The table row: 5 read, 4 accepted, 1 quarantined.
    assert ["5", "4", "1"] in [table_cells(line)[:3] for line in result.output.splitlines()]
    listed = runner.invoke(app, ["quality", "quarantine", "list", "--data-dir", str(tmp_path / "data")])
    assert listed.exit_code == 0, listed.output
    assert "products.csv" in listed.output and "'abc'" in listed.output


def test_unreadable_file_exits_1_naming_the_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    missing = runner.invoke(
        app, ["ingest", "events", str(tmp_path / "no-such-events.csv"), "--data-dir", str(data)]
    )
    assert missing.exit_code == 1
    assert "no-such-events.csv" in missing.output
    assert "Traceback" not in missing.output
    empty = write(tmp_path / "empty-products.csv", "")
    result = runner.invoke(app, ["ingest", "products", str(empty), "--data-dir", str(data)])
    assert result.exit_code == 1
    assert "empty-products.csv" in result.output and "empty" in result.output


def test_search_json_returns_the_matching_products(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    products = write(tmp_path / "products.csv", PRODUCTS)
    assert runner.invoke(app, ["ingest", "products", str(products), "--data-dir", data]).exit_code == 0

    result = runner.invoke(app, ["search", "lamp", "--json", "--data-dir", data])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"] == "lamp"
    assert payload["total"] == 2
    assert {hit["product"]["product_id"] for hit in payload["hits"]} == {"p1", "p5"}
    assert all("title" in hit["matched_fields"] for hit in payload["hits"])

    filtered = runner.invoke(app, ["search", "lamp", "--json", "--brand", "Globex", "--data-dir", data])
    assert [hit["product"]["product_id"] for hit in json.loads(filtered.stdout)["hits"]] == ["p5"]


def test_search_with_an_impossible_price_range_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["search", "lamp", "--price-min", "50", "--price-max", "10", "--data-dir", str(tmp_path / "data")],
    )
    assert result.exit_code == 1
    assert "price_min" in result.output and "Traceback" not in result.output


def test_evaluate_search_json_scores_an_exact_title_query_first(tmp_path: Path) -> None:
    products = write(tmp_path / "products.csv", PRODUCTS)
    qrels = write(
        tmp_path / "qrels.csv",
        "query,product_id,gain\n"
        "steel kettle,p3,2\n"
        "garden rake,p4,2\n"
        "oak desk lamp,p1,2\n"
        "oak desk lamp,p5,1\n"
        "pillow,p2,0\n",  # no positive gain: skipped, not scored as a miss
    )
    result = runner.invoke(
        app, ["evaluate", "search", "--products", str(products), "--qrels", str(qrels), "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = last_json_line(result.stdout)
    assert figures["queries"] == 3 and figures["skipped_queries"] == 1
    assert figures["ndcg_at_10"] == pytest.approx(1.0)
    assert figures["mrr_at_10"] == pytest.approx(1.0)
    assert figures["recall_at_100"] == pytest.approx(1.0)
    assert figures["products"] == 4  # p2 is quarantined for its price
    assert 0 <= figures["latency_p50_ms"] <= figures["latency_p99_ms"]

    limited = runner.invoke(
        app,
        [
            "evaluate",
            "search",
            "--products",
            str(products),
            "--qrels",
            str(qrels),
            "--json",
            "--limit-queries",
            "1",
        ],
    )
    assert last_json_line(limited.stdout)["queries"] == 1


def test_evaluate_search_with_wrong_qrels_columns_fails_cleanly(tmp_path: Path) -> None:
    products = write(tmp_path / "products.csv", PRODUCTS)
    qrels = write(tmp_path / "qrels.csv", "q,pid,grade\nlamp,p1,2\n")
    result = runner.invoke(app, ["evaluate", "search", "--products", str(products), "--qrels", str(qrels)])
    assert result.exit_code == 1
    assert "query" in result.output and "Traceback" not in result.output


def synthetic_interactions(n_users: int = 60, n_items: int = 30) -> str:
    """Each user walks through consecutive items, so the next item follows from the previous one."""
    lines = ["user_id,item_id,timestamp"]
    for user in range(n_users):
        start = user % n_items
        for step in range(6):
            lines.append(f"u{user},i{(start + step) % n_items},{1_000 + 10 * step}")
    return "\n".join(lines) + "\n"


def test_evaluate_recs_json_reports_every_model(tmp_path: Path) -> None:
    interactions = write(tmp_path / "interactions.csv", synthetic_interactions())
    result = runner.invoke(app, ["evaluate", "recs", "--interactions", str(interactions), "--json"])
    assert result.exit_code == 0, result.output
    figures = last_json_line(result.stdout)
    models = {model["name"]: model for model in figures["models"]}
    assert {"default", "popularity", "item-knn", "als"} <= set(models)
    for model in models.values():
        assert 0.0 <= model["ndcg_at_10"] <= model["hr_at_10"] <= 1.0
    assert figures["evaluated_users"] == 60
    # Each next item follows from the previous one, which co-occurrence learns and popularity cannot.
    assert models["default"]["hr_at_10"] > models["popularity"]["hr_at_10"]
    # 360 events are below the engine's minimum for the transformer: its default is co-occurrence.
    assert models["default"]["model"] == "co-occurrence"
    segments = {s["segment"]: s["metrics"] for s in models["default"]["segments"]}
    assert any(name.startswith("long-tail") for name in segments)
    assert sum(m["users"] for name, m in segments.items() if not name.startswith("short")) == 60

    plain = runner.invoke(app, ["evaluate", "recs", "--interactions", str(interactions), "--no-sequential"])
    assert plain.exit_code == 0, plain.output
    assert "co-occurrence" in plain.stdout and "default" not in plain.stdout
    assert "long-tail targets" in plain.stdout


@pytest.mark.slow  # builds and trains a demo shop through the CLI, then opens it again
def test_demo_without_serving_builds_once_and_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "demo-data"
    args = ["demo", "--no-serve", "--data-dir", str(data), "--products", "80", "--users", "25"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "curl" in first.output and "/v1/search" in first.output
    for_you = next(line for line in first.output.splitlines() if "for-you" in line)
    assert "X-API-Key" in for_you, "a shopper's own list takes a back end's key"
    engine = Engine.open(data)
    try:
        counts = (engine.count_products(), engine.count_events())
        version = engine.manifest.version if engine.manifest else None
    finally:
        engine.close()
    assert counts[0] == 80 and counts[1] > 0
    assert version is not None

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "already holds" in second.output
    engine = Engine.open(data)
    try:
        assert (engine.count_products(), engine.count_events()) == counts
        assert engine.manifest is not None and engine.manifest.version == version
    finally:
        engine.close()

    trending = runner.invoke(app, ["recommend", "trending", "-n", "3", "--json", "--data-dir", str(data)])
    assert trending.exit_code == 0, trending.output
    items = json.loads(trending.stdout)["items"]
    assert 1 <= len(items) <= 3

    # Served, the demo is in demo mode (the user switcher) with an admin key; `serve` is not.
    served: list[Engine] = []
    monkeypatch.setattr("shelfwise.cli.demo.run_server", lambda engine, host, port: served.append(engine))
    assert runner.invoke(app, args[:1] + args[2:]).exit_code == 0
    assert served[0].settings.security.demo_mode and served[0].settings.admin_api_key
    served[0].close()


def test_config_file_sets_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_FILE_ENV, raising=False)  # restored after the test: --config sets it
    data = tmp_path / "configured-data"
    config = write(tmp_path / "shelfwise.toml", f'data_dir = "{data.as_posix()}"\n')
    products = write(tmp_path / "products.csv", PRODUCTS)
    result = runner.invoke(app, ["--config", str(config), "ingest", "products", str(products)])
    assert result.exit_code == 0, result.output
    engine = Engine.open(data)
    try:
        assert engine.count_products() == 4
    finally:
        engine.close()

    missing = runner.invoke(app, ["search", "lamp", "--config", str(tmp_path / "absent.toml")])
    assert missing.exit_code == 1 and "absent.toml" in missing.output


def test_train_refuses_over_a_blocking_check_and_force_overrides_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    engine = Engine.open(data)
    try:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        start = datetime(2026, 10, 30, tzinfo=UTC)
        engine.ingest_events(
            [
                {
                    "user_id": "bot",
                    "event_type": "view",
                    "product_id": f"p{1 + i % 10}",
                    "timestamp": (start + timedelta(seconds=i)).isoformat(),
                }
                for i in range(300)
            ]
        )
    finally:
        engine.close()
    refused = runner.invoke(app, ["train", "--data-dir", str(data)])
    assert refused.exit_code == 1
    assert "events.bot_share" in refused.output and "--force" in refused.output
    forced = runner.invoke(app, ["train", "--force", "--data-dir", str(data)])
    assert forced.exit_code == 0, forced.output
    with closing(Engine.open(data)) as reopened:
        assert reopened.manifest is not None and reopened.manifest.forced


def test_keys_are_created_listed_and_revoked(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    created = runner.invoke(
        app, ["keys", "create", "checkout service", "--scope", "server", "--data-dir", data]
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("sw_serve_") and "not shown again" in created.stderr
    listed = runner.invoke(app, ["keys", "list", "--data-dir", data])
    assert listed.exit_code == 0 and "checkout service" in listed.stdout and secret not in listed.stdout
    assert secret[:14] in listed.stdout and "active" in listed.stdout
    revoked = runner.invoke(app, ["keys", "revoke", secret[:14], "--data-dir", data])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(app, ["keys", "list", "--data-dir", data]).stdout
    missing = runner.invoke(app, ["keys", "revoke", "nope", "--data-dir", data])
    assert missing.exit_code == 1 and "no key with the id or prefix 'nope'" in missing.stderr
    wrong_scope = runner.invoke(app, ["keys", "create", "x", "--scope", "root", "--data-dir", data])
    assert wrong_scope.exit_code == 2
