"""The `threads` settings own every thread pool: they parse and validate like any setting, applying them
really narrows the math libraries (in a fresh process, since the limits are process-wide), the HTTP
server's request pool takes its size, and every entry point applies them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from typer.testing import CliRunner

from shelfwise import app as app_module
from shelfwise.api import create_api
from shelfwise.cli import context
from shelfwise.cli.main import app as cli_app
from shelfwise.engine import Engine
from shelfwise.settings import CONFIG_FILE_ENV, Settings
from shelfwise.threads import AppliedThreads, ThreadsConfig, usable_cores

SRC = Path(__file__).resolve().parent.parent / "src"


@pytest.fixture(autouse=True)
def no_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_FILE_ENV, str(tmp_path / "absent.toml"))


def test_threads_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings().threads
    assert (defaults.serving, defaults.training, defaults.torch_interop) == (1, None, 1)
    assert defaults.math_threads("training") == usable_cores()
    assert defaults.request_threads() >= 4
    monkeypatch.setenv("SHELFWISE_THREADS__SERVING", "2")
    monkeypatch.setenv("SHELFWISE_THREADS__HTTP_WORKERS", "6")
    threads = Settings().threads
    assert threads.math_threads("serving") == 2 and threads.request_threads() == 6


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_thread_count_below_one_is_refused_by_name(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SHELFWISE_THREADS__SERVING", value)
    with pytest.raises(ValidationError, match=r"threads\.serving"):
        Settings()


def test_an_unknown_threads_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="polars_threads"):
        ThreadsConfig.model_validate({"polars_threads": 2})


APPLY = """
import json, threading
from threadpoolctl import threadpool_info
import torch
from shelfwise.text import onnx_backend
from shelfwise.threads import ThreadsConfig, apply_thread_limits

applied = apply_thread_limits(ThreadsConfig(serving=1, training={training}), "{role}")
seen = {{}}

def in_a_request_thread():
    seen["blas"] = sorted({{i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}})
    seen["torch"] = torch.get_num_threads()

worker = threading.Thread(target=in_a_request_thread)
worker.start()
worker.join()
print(json.dumps({{
    "math": applied.math,
    "pools": sorted({{i["num_threads"] for i in threadpool_info()}}),
    "libraries": sorted({{i["internal_api"] for i in threadpool_info()}}),
    "torch": torch.get_num_threads(),
    "interop": torch.get_num_interop_threads(),
    "onnx_batch": onnx_backend.batch_threads(),
    "worker": seen,
}}))
"""


def applied_in_a_fresh_process(role: str, training: int | None = None) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(APPLY.format(role=role, training=training))],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        timeout=300,
    )
    return dict(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_serving_limits_every_math_library_to_one_thread() -> None:
    seen = applied_in_a_fresh_process("serving")
    assert seen["math"] == 1
    assert {"openblas", "openmp"} <= set(seen["libraries"]), "numpy's BLAS and torch's OpenMP are loaded"
    assert seen["pools"] == [1], "every BLAS and OpenMP pool threadpoolctl sees"
    assert (seen["torch"], seen["interop"], seen["onnx_batch"]) == (1, 1, 1)
    # Requests run on other threads than the one that applied the limits.
    assert seen["worker"] == {"blas": [1], "torch": 1}


@pytest.mark.slow
def test_training_takes_its_own_count() -> None:
    seen = applied_in_a_fresh_process("training", training=3)
    assert seen["math"] == 3 and seen["pools"] == [3]
    assert (seen["torch"], seen["onnx_batch"]) == (3, 3)


def test_the_server_computes_as_many_requests_at_once_as_http_workers(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, threads=ThreadsConfig(http_workers=3))
    with Engine(settings) as engine:
        api = create_api(engine)

        @api.get("/test-limiter")
        async def limiter() -> float:
            import anyio.to_thread

            return float(anyio.to_thread.current_default_thread_limiter().total_tokens)

        with TestClient(api) as client:
            assert client.get("/test-limiter").json() == 3.0


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[ThreadsConfig, str]]:
    """Calls of apply_thread_limits by the entry points, which are then not applied to this process."""
    calls: list[tuple[ThreadsConfig, str]] = []

    def record(config: ThreadsConfig, role: str) -> AppliedThreads:
        calls.append((config, role))
        return AppliedThreads("serving", 1, 1, None)

    monkeypatch.setattr(context, "apply_thread_limits", record)
    monkeypatch.setattr(app_module, "apply_thread_limits", record)
    return calls


def test_the_app_factory_applies_the_serving_limits(
    tmp_path: Path, recorded: list[tuple[ThreadsConfig, str]]
) -> None:
    settings = Settings(data_dir=tmp_path, threads=ThreadsConfig(serving=2))
    app_module.create_app(settings=settings).state.engine.close()
    assert recorded == [(settings.threads, "serving")]


def test_serve_applies_the_serving_limits(
    tmp_path: Path, recorded: list[tuple[ThreadsConfig, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module.uvicorn, "run", lambda *args, **kwargs: None)
    with Engine(Settings(data_dir=tmp_path)) as engine:
        app_module.serve(engine)
        assert recorded == [(engine.settings.threads, "serving")]


def test_cli_commands_apply_the_training_limits(
    tmp_path: Path, recorded: list[tuple[ThreadsConfig, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHELFWISE_THREADS__TRAINING", "3")
    result = CliRunner().invoke(cli_app, ["--data-dir", str(tmp_path), "search", "lamp"])
    assert recorded and recorded[0][1] == "training", result.output
    assert recorded[0][0].math_threads("training") == 3
