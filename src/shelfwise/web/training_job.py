"""Retraining from the admin page: one background run at a time, with a progress estimate.

The trainer reports no steps, so progress is time elapsed against the last run's duration (never shown
as done before it is), which is honest enough for a bar that tells a person to wait."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Literal

from shelfwise.engine import Engine
from shelfwise.training.trainer import TrainingConfig

State = Literal["idle", "running", "done", "failed"]
DEFAULT_ESTIMATE_SECONDS = 10.0
MAX_ESTIMATE = 0.95


@dataclass
class TrainingStatus:
    """Where the admin's training run stands."""

    state: State = "idle"
    started: float | None = None
    finished: float | None = None
    expected_seconds: float = DEFAULT_ESTIMATE_SECONDS
    version: str | None = None
    message: str = ""
    forced: bool = False

    def as_dict(self, now: float | None = None) -> dict[str, object]:
        """The status as the models page and its script read it, with elapsed time and progress."""
        now = time.monotonic() if now is None else now
        elapsed = 0.0
        if self.started is not None:
            elapsed = (self.finished or now) - self.started
        progress = 1.0 if self.state == "done" else min(MAX_ESTIMATE, elapsed / self.expected_seconds)
        return {
            "state": self.state,
            "elapsed_seconds": round(elapsed, 1),
            "progress": round(progress if self.state != "idle" else 0.0, 3),
            "version": self.version,
            "message": self.message,
            "forced": self.forced,
        }


class TrainingJob:
    """`config` is what each run trains with; None is the engine's default."""

    def __init__(self, engine: Engine, config: TrainingConfig | None = None) -> None:
        self.engine = engine
        self.config = config
        self.status = TrainingStatus()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self, force: bool = False) -> bool:
        """Start a run; False when one is already running."""
        with self._lock:
            if self.status.state == "running":
                return False
            self.status = TrainingStatus(
                state="running",
                started=time.monotonic(),
                expected_seconds=self._expected_seconds(),
                message="Training: quality gate, search index, recommenders…",
                forced=force,
            )
            self._thread = threading.Thread(
                target=self._run, args=(force,), name="shelfwise-retrain", daemon=True
            )
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running training to finish (or `timeout` seconds)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, force: bool) -> None:
        try:
            manifest = self.engine.train(self.config, force=force)
        except Exception as error:  # the page shows why; the server keeps serving the previous version
            with self._lock:
                self.status.state = "failed"
                self.status.finished = time.monotonic()
                self.status.message = str(error) or type(error).__name__
            return
        with self._lock:
            self.status.state = "done"
            self.status.finished = time.monotonic()
            self.status.version = manifest.version
            self.status.message = f"Trained and now serving {manifest.version}."

    def _expected_seconds(self) -> float:
        manifest = self.engine.manifest
        if manifest is None:
            return DEFAULT_ESTIMATE_SECONDS
        spent = sum(value for name, value in manifest.metrics.items() if name.endswith("_seconds"))
        return max(1.0, spent * 1.5) if spent else DEFAULT_ESTIMATE_SECONDS
