"""What one flood of bad rows costs: a `POST /v1/events` of `[{}, {}, …]`, and the admin quality page over
a large quarantine. Runs in process (FastAPI's TestClient) on a fresh SQLite store.

    .venv/bin/python bench/ingest_bounds.py [--flood-rows 400001] [--quarantine-rows 400001]

The flood is sent with the default limits (`quality.limits`); the quarantine is then filled to
`--quarantine-rows` straight through the store, past the limits, to time the page over that many rows.
Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from shelfwise.app import create_app
from shelfwise.domain import QuarantinedRow
from shelfwise.engine import Engine
from shelfwise.settings import Settings

ADMIN_KEY = "bench-admin-key"
REASONS = ["event_type: missing", "user_id: missing (an event needs a user_id or a session_id)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood-rows", type=int, default=400_001)
    parser.add_argument("--quarantine-rows", type=int, default=400_001)
    args = parser.parse_args()
    figures: dict[str, object] = {}
    with (
        tempfile.TemporaryDirectory() as directory,
        Engine(Settings(data_dir=Path(directory), admin_api_key=ADMIN_KEY)) as engine,
    ):
        client = TestClient(create_app(engine))
        body = b"[" + b",".join([b"{}"] * args.flood_rows) + b"]"
        started = time.perf_counter()
        response = client.post("/v1/events", content=body, headers={"content-type": "application/json"})
        figures["flood"] = {
            "rows": args.flood_rows,
            "bytes": len(body),
            "status": response.status_code,
            "seconds": round(time.perf_counter() - started, 2),
            "quarantined_rows_stored": engine.count_quarantined(),
        }
        missing = args.quarantine_rows - engine.count_quarantined()
        timestamp = {"timestamp": "2026-12-08T03:00:00+00:00"}
        engine.store.add_quarantined(
            [
                QuarantinedRow(source="events", file="<api>", line=i, raw=timestamp, reasons=REASONS)
                for i in range(1, missing + 1)
            ]
        )
        client.post("/admin/login", data={"key": ADMIN_KEY})
        pages = {
            "first": {},
            "filtered": {"source": "events", "check": "event.missing_required", "offset": "5000"},
        }
        for name, params in pages.items():
            started = time.perf_counter()
            response = client.get("/admin/quality", params=params)
            figures[f"page_{name}"] = {
                "quarantined": engine.count_quarantined(),
                "status": response.status_code,
                "seconds": round(time.perf_counter() - started, 2),
            }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
