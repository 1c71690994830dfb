"""What every BENCHMARKS.md section shares: where the repository and the data are, how a benchmark
subprocess is run and its JSON line read, and the markdown a section renders to.

Imports go one way: run_all.py -> search_sections.py / sequential_sections.py -> harness.py."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
TIMEOUT_SECONDS = 3 * 3600


@dataclass
class MarkdownTable:
    """A markdown table of already formatted cells."""

    headers: list[str]
    rows: list[list[str]]

    def render(self) -> str:
        lines = ["| " + " | ".join(self.headers) + " |", "|" + "|".join("---" for _ in self.headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Section:
    """One benchmark's part of BENCHMARKS.md: its command, data, tables and notes, or why it was skipped."""

    title: str
    command: str = ""
    data: list[str] = field(default_factory=list)
    tables: list[MarkdownTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    seconds: float | None = None

    def render(self) -> str:
        parts = [f"## {self.title}"]
        if self.command:
            parts.append(f"```\n{self.command}\n```")
        if self.skipped:
            parts.append(f"**Skipped:** {self.skipped}")
            return "\n\n".join(parts)
        if self.data:
            parts.append("\n".join(f"- {line}" for line in self.data))
        parts += [table.render() for table in self.tables]
        if self.notes:
            parts.append("\n".join(self.notes))
        if self.seconds is not None:
            parts.append(f"Wall time of the benchmark: {self.seconds:.0f} s.")
        return "\n\n".join(parts)


class BenchmarkFailed(RuntimeError):
    """A benchmark subprocess failed or printed no JSON figures; its section reports the failure."""


def shelfwise_command() -> list[str]:
    """The `shelfwise` CLI of this interpreter's environment."""
    script = Path(sys.executable).with_name("shelfwise")
    return [str(script)] if script.exists() else [sys.executable, "-m", "shelfwise.cli.main"]


def shown_path(path: Path) -> str:
    """A path as a reader of BENCHMARKS.md would type it from the repository root."""
    try:
        return os.path.relpath(path, ROOT)
    except ValueError:
        return str(path)


def run_json(command: Sequence[str]) -> tuple[dict[str, Any], float]:
    """Run `command`, stream its stderr through, and parse the last line of its stdout as JSON."""
    print(f"$ {shlex.join(command)}", flush=True)
    started = time.perf_counter()
    completed = subprocess.run(
        list(command), cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=TIMEOUT_SECONDS, check=False
    )
    seconds = time.perf_counter() - started
    lines = [line for line in completed.stdout.splitlines() if line.strip()]
    if completed.returncode != 0 or not lines:
        raise BenchmarkFailed(f"exit code {completed.returncode}; output ended with: {lines[-3:]}")
    try:
        return json.loads(lines[-1]), seconds
    except json.JSONDecodeError as error:
        raise BenchmarkFailed(f"the last line is not JSON: {lines[-1][:200]!r}") from error


def count_rows(path: Path) -> int:
    """Data rows of a CSV file, header excluded."""
    import polars as pl

    return int(pl.scan_csv(path, infer_schema_length=0).select(pl.len()).collect().item())


def fmt(value: Any, digits: int = 4) -> str:
    """A figure for a table cell: floats to `digits` places, ints with thousands separators, None as –."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def shared_data() -> Path:
    """The shared data folder: the settings' `shared_data` ($SHELFWISE_DATA), else ../shared/data."""
    from shelfwise.io.datasets import shared_data_dir
    from shelfwise.settings import Settings

    return shared_data_dir(Settings().shared_data)
