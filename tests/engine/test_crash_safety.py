"""kill -9 at the worst moment: during a large import, under a live server taking events, during training.
Afterwards nothing acknowledged is lost, the client's retries store nothing twice, the store passes its
integrity check, and no staging folder or half version is left behind. Real subprocesses, on SQLite."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from sample_shop import catalog_rows, event_rows
from served_app import free_port
from shelfwise.domain import Event, EventType
from shelfwise.engine import Engine
from shelfwise.settings import Settings

pytestmark = pytest.mark.slow

START = datetime(2026, 1, 1, tzinfo=UTC)
INGEST = """
import sys
from shelfwise.engine import Engine
with Engine.open(sys.argv[1]) as engine:
    print("started", flush=True)
    report = engine.ingest_events(sys.argv[2])
    print("stored", report.accepted - report.duplicates, flush=True)
"""
SERVE = """
import sys
from shelfwise.app import serve
from shelfwise.engine import Engine
serve(Engine.open(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]))
"""
TRAIN = """
import sys
from shelfwise.engine import Engine
with Engine.open(sys.argv[1]) as engine:
    print("training", flush=True)
    engine.train()
    print("trained", flush=True)
"""


def _python(script: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, **kwargs
    )


def _kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _assert_nothing_left_behind(data: Path) -> None:
    with Engine.open(data) as engine:  # opening removes what a killed process left
        assert engine.store.check_integrity() == []
        artifacts = engine.settings.artifacts_dir
        assert not [p.name for p in artifacts.iterdir() if p.name.startswith((".staging", ".trash"))]
        for version in (artifacts / "versions").iterdir():
            assert (version / "manifest.json").exists(), f"half version {version.name}"


def _write_events(path: Path, n: int, users: int = 2_000) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["user_id", "session_id", "event_type", "product_id", "timestamp"])
        for i in range(n):
            moment = START + timedelta(seconds=7 * i)
            writer.writerow([f"u{i % users}", f"s{i % users}", "view", f"p{i % 10 + 1}", moment.isoformat()])


def test_kill_during_a_large_import_loses_nothing_acknowledged_and_a_rerun_stores_nothing_twice(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with Engine.open(data) as engine:
        engine.ingest_products(catalog_rows())
    total, acknowledged = 60_000, 10_000
    first, whole = tmp_path / "first.csv", tmp_path / "whole.csv"
    _write_events(first, acknowledged)
    _write_events(whole, total)  # starts with the same events as first.csv: overlapping exports

    done = _python(INGEST, str(data), str(first))
    out, _ = done.communicate(timeout=120)
    assert done.returncode == 0 and f"stored {acknowledged}" in out

    importer = _python(INGEST, str(data), str(whole))
    assert importer.stdout is not None and importer.stdout.readline().strip() == "started"
    size = _wal_size(data)
    deadline = time.monotonic() + 60
    # Killed as soon as the import writes to the database.
    while _wal_size(data) == size and time.monotonic() < deadline:
        time.sleep(0.005)
    _kill(importer)
    assert importer.returncode == -signal.SIGKILL, "the import finished before it could be killed"

    _assert_nothing_left_behind(data)
    with Engine.open(data) as engine:
        assert engine.count_events() >= acknowledged
        rerun = engine.ingest_events(whole)
        assert rerun.duplicates >= acknowledged
        assert engine.count_events() == total
        assert engine.store.check_integrity() == []


def _wal_size(data: Path) -> int:
    try:
        return (data / "shelfwise.db-wal").stat().st_size
    except FileNotFoundError:
        return 0


@contextmanager
def _server(data: Path, port: int) -> Iterator[subprocess.Popen[str]]:
    server = _python(SERVE, str(data), str(port), stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield server
    finally:
        if server.poll() is None:
            _kill(server)


def _batch(start: int, size: int) -> list[dict[str, object]]:
    return [
        Event(
            user_id=f"u{i % 50}",
            event_type=EventType.VIEW,
            product_id=f"p{i % 10 + 1}",
            timestamp=START + timedelta(minutes=i),
            event_id=f"client-{i}",
        ).model_dump(mode="json")
        for i in range(start, start + size)
    ]


def test_kill_of_a_server_taking_events_then_client_retries_store_each_event_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Engine.open(data) as engine:
        engine.ingest_products(catalog_rows())
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/events"
    size = 250
    batches = [_batch(start, size) for start in range(0, 16 * size, size)]
    acknowledged: set[str] = set()
    unanswered: list[list[dict[str, object]]] = []

    with _server(data, port) as server:
        for batch in batches[:5]:
            assert httpx.post(url, json=batch, timeout=30).status_code == 200
            acknowledged.update(str(row["event_id"]) for row in batch)

        def send_rest() -> None:
            for batch in batches[5:]:
                try:
                    response = httpx.post(url, json=batch, timeout=30)
                except httpx.TransportError:
                    unanswered.append(batch)  # the server died: the client will retry this batch
                    continue
                assert response.status_code == 200
                acknowledged.update(str(row["event_id"]) for row in batch)

        sender = threading.Thread(target=send_rest)
        sender.start()
        while len(acknowledged) < 8 * size and sender.is_alive():
            time.sleep(0.001)
        _kill(server)  # mid-stream: a batch in flight, its response lost
        sender.join(timeout=60)
    assert unanswered, "the server was killed after every batch was answered"

    with _server(data, port):
        # The client retries what it never had an answer to, and (a lost response looks alike) the
        # last batch it did have an answer to, with the same event ids.
        for batch in [batches[4], *unanswered]:
            response = httpx.post(url, json=batch, timeout=30)
            assert response.status_code == 200
            acknowledged.update(str(row["event_id"]) for row in batch)

    sent = {str(row["event_id"]) for batch in batches for row in batch}
    assert acknowledged == sent
    _assert_nothing_left_behind(data)
    with Engine.open(data) as engine:
        stored = engine.events_frame().get_column("event_id").to_list()
        assert engine.count_events() == len(stored) == len(sent)
    assert set(stored) == sent


def test_kill_during_training_leaves_no_staging_folder_nor_half_version(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Engine.open(data) as engine:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        first = engine.train().version
    artifacts = Settings(data_dir=data).artifacts_dir

    trainer = _python(TRAIN, str(data))
    assert trainer.stdout is not None and trainer.stdout.readline().strip() == "training"
    deadline = time.monotonic() + 60
    while not list(artifacts.glob(".staging-*/*")) and time.monotonic() < deadline:
        time.sleep(0.002)
    _kill(trainer)
    assert trainer.returncode == -signal.SIGKILL, "training finished before it could be killed"
    assert list(artifacts.glob(".staging-*")), "killed while writing its staging folder"

    _assert_nothing_left_behind(data)
    with Engine.open(data) as engine:
        assert engine.current_version() == first
        assert engine.train().version != first  # and training works again
    assert not [p for p in artifacts.iterdir() if p.name.startswith(".staging")]
    assert os.listdir(artifacts / "versions")
