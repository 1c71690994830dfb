"""DELETE /v1/users/{id} answers with the deletion record, and GET /v1/users/{id}/deletion finds it again."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from sample_shop import catalog_rows, event_rows
from shelfwise.app import create_app
from shelfwise.customer_segments.segments import CustomerSegmentsConfig
from shelfwise.domain.deletion import subject_digest
from shelfwise.engine import Engine
from shelfwise.settings import Settings
from shelfwise.training.trainer import TrainingConfig


def test_a_deletion_is_answered_with_its_record_and_found_again(tmp_path: Path) -> None:
    counts_only = TrainingConfig(segments=CustomerSegmentsConfig(enabled=False))  # segments ask a retrain
    settings = Settings(data_dir=tmp_path, training=counts_only)
    with Engine(settings) as engine, TestClient(create_app(engine)) as client:
        engine.ingest_products(catalog_rows())
        engine.ingest_events(event_rows())
        engine.train()
        assert client.get("/v1/users/u1/deletion").status_code == 404

        deleted = client.delete("/v1/users/u1").json()
        found = client.get("/v1/users/u1/deletion").json()

    assert deleted["user_id"] == "u1" and deleted["events_deleted"] == deleted["removed"]["events"] > 0
    assert deleted["subject_digest"] == subject_digest("u1") and "u1" not in str(deleted["removed"])
    assert deleted["status"] == "complete" and [m["outcome"] for m in deleted["models"]] == ["cleaned"]
    assert found == {key: value for key, value in deleted.items() if key not in ("user_id", "events_deleted")}
