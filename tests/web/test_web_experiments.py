"""/admin/experiments: each started experiment with its arms' metrics, intervals and the decision; drafts
listed apart; behind the admin login."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from browser_session import admin_login
from shelfwise.app import create_app
from shelfwise.domain.experiments import Arm, ExperimentSpec
from shelfwise.engine import Engine
from shelfwise.settings import Settings

ADMIN_KEY = "admin-key-for-tests"


def test_the_experiments_page_shows_arms_intervals_and_the_decision(tmp_path: Path) -> None:
    with (
        Engine(Settings(data_dir=tmp_path, admin_api_key=ADMIN_KEY)) as engine,
        TestClient(create_app(engine)) as client,
    ):
        arms = [Arm(name="control", share=0.5), Arm(name="ltr-v2", share=0.5)]
        running = engine.experiments.create(ExperimentSpec(name="New ranker", arms=arms))
        engine.experiments.start(running.experiment_id)
        engine.experiments.assign(running.experiment_id, user_id="u1")
        engine.experiments.create(ExperimentSpec(name="Bigger photos", arms=arms))
        assert client.get("/admin/experiments", follow_redirects=False).status_code in {302, 303, 401}
        admin_login(client, ADMIN_KEY)
        page = client.get("/admin/experiments")
        assert page.status_code == 200
        text = page.text
        assert f'data-experiment="{running.experiment_id}"' in text
        assert 'data-arm="control"' in text and 'data-arm="ltr-v2"' in text
        assert "too early" in text and "fixed horizon" in text
        assert "Bigger photos" in text and 'href="/admin/experiments"' in text
