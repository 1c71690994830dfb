"""The one component format: a round trip keeps config, JSON state, arrays, native files and parts; what
cannot be read back (another kind, a newer format, a missing or half-written directory) is refused by name."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

from shelfwise.io.components import (
    ARRAYS_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    Component,
    ComponentFormatError,
    load_part,
    load_required_part,
)


class CounterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    scale: float = Field(default=1.0, gt=0)


class Counter(Component[CounterConfig]):
    """Counts items, keeps a label as JSON state and a note as a 'native' text file."""

    kind: ClassVar[str] = "counter"
    config_type: ClassVar[type[CounterConfig]] = CounterConfig

    def __init__(self, config: CounterConfig | None = None) -> None:
        super().__init__(config)
        self.counts: np.ndarray | None = None
        self.label = ""
        self.note = ""

    def fit(self, items: Sequence[int], label: str = "fitted") -> Counter:
        self.counts = np.bincount(np.asarray(items, dtype=np.int64)).astype(np.float32) * self.config.scale
        self.label, self.note = label, f"{len(items)} items"
        return self

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        if self.counts is None:
            raise RuntimeError("not fitted; nothing to save")
        return {"label": self.label}, {"counts": self.counts}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        self.label, self.counts = values["label"], arrays["counts"]

    def save_native(self, directory: Path) -> None:
        (directory / "note.txt").write_text(self.note, encoding="utf-8")

    def load_native(self, directory: Path) -> None:
        self.note = (directory / "note.txt").read_text(encoding="utf-8")


class Other(Counter):
    kind: ClassVar[str] = "other"


class PairConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "pair"


class Pair(Component[PairConfig]):
    """A pipeline of a required part and an optional one."""

    kind: ClassVar[str] = "pair"
    config_type: ClassVar[type[PairConfig]] = PairConfig

    def __init__(self, config: PairConfig | None = None) -> None:
        super().__init__(config)
        self.first = Counter()
        self.second: Counter | None = None

    def parts(self) -> Mapping[str, Component[Any] | None]:
        return {"first": self.first, "second": self.second}

    def restore_parts(self, directory: Path, saved: Sequence[str]) -> None:
        self.first = load_required_part(directory, "first", Counter, saved)
        self.second = load_part(directory, "second", Counter, saved)


def test_a_round_trip_keeps_config_state_arrays_and_native_files(tmp_path: Path) -> None:
    model = Counter(CounterConfig(scale=2.0)).fit([0, 2, 2, 5], label="ünïcode")
    saved = model.save(tmp_path / "counter")
    assert saved == tmp_path / "counter"
    assert sorted(p.name for p in saved.iterdir()) == [ARRAYS_FILE, MANIFEST_FILE, "note.txt"]
    loaded = Counter.load(saved)
    assert loaded.config == CounterConfig(scale=2.0)
    assert (loaded.label, loaded.note) == ("ünïcode", "4 items")
    assert loaded.counts is not None and model.counts is not None
    assert loaded.counts.dtype == np.float32
    np.testing.assert_array_equal(loaded.counts, model.counts)
    manifest = json.loads((saved / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert manifest == {
        "kind": "counter",
        "format": FORMAT_VERSION,
        "config": {"scale": 2.0},
        "state": {"label": "ünïcode"},
    }


def test_arrays_are_stored_without_pickle(tmp_path: Path) -> None:
    saved = Counter().fit([1, 1, 3]).save(tmp_path)
    with np.load(saved / ARRAYS_FILE, allow_pickle=False) as stored:
        assert stored.files == ["counts"]
        np.testing.assert_array_equal(stored["counts"], [0, 2, 0, 1])

    class Pickling(Counter):
        def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
            return {"label": ""}, {"counts": np.array([{"a": 1}], dtype=object)}

    with pytest.raises(ValueError, match="pickle"):
        Pickling().save(tmp_path / "objects")


def test_another_kind_is_refused_by_name(tmp_path: Path) -> None:
    Counter().fit([1]).save(tmp_path)
    with pytest.raises(
        ComponentFormatError, match=f"{re.escape(str(tmp_path))} holds a 'counter' component, not 'other'"
    ):
        Other.load(tmp_path)


def test_a_missing_directory_or_manifest_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(
        ComponentFormatError, match=r"no saved component at .*nowhere: the directory does not exist"
    ):
        Counter.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ComponentFormatError, match=r"empty: component\.json is missing$"):
        Counter.load(tmp_path / "empty")
    # A model saved before this format existed: other files, no manifest.
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "model.json").write_text('{"model": "counter"}')
    with pytest.raises(ComponentFormatError, match=r"old: component\.json is missing .*older shelfwise"):
        Counter.load(tmp_path / "old")
    assert issubclass(ComponentFormatError, ValueError)


def test_a_newer_format_is_refused_and_a_broken_manifest_named(tmp_path: Path) -> None:
    saved = Counter().fit([1]).save(tmp_path)
    manifest = json.loads((saved / MANIFEST_FILE).read_text(encoding="utf-8"))
    (saved / MANIFEST_FILE).write_text(json.dumps({**manifest, "format": FORMAT_VERSION + 1}))
    with pytest.raises(ComponentFormatError, match=f"saved in format {FORMAT_VERSION + 1}, newer than"):
        Counter.load(saved)
    (saved / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(ComponentFormatError, match=r"component\.json is not valid JSON"):
        Counter.load(saved)
    (saved / MANIFEST_FILE).write_text(json.dumps({**manifest, "config": {"scale": 1, "typo": 2}}))
    with pytest.raises(ComponentFormatError, match="saved config is not a valid CounterConfig"):
        Counter.load(saved)
    (saved / MANIFEST_FILE).write_text(json.dumps({**manifest, "state": {}}))
    with pytest.raises(ComponentFormatError, match="saved 'counter' state lacks 'label'"):
        Counter.load(saved)


def test_a_save_that_fails_leaves_nothing_loadable(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        Counter().save(tmp_path / "unfitted")
    assert not (tmp_path / "unfitted").exists()

    class FailingNative(Counter):
        def save_native(self, directory: Path) -> None:
            raise OSError("disk full")

    saved = Counter().fit([1, 2]).save(tmp_path / "model")
    with pytest.raises(OSError, match="disk full"):
        FailingNative().fit([3]).save(saved)  # overwriting a good save half-way
    with pytest.raises(ComponentFormatError, match=r"component\.json is missing"):
        Counter.load(saved)


def test_pipelines_save_each_part_in_its_own_directory(tmp_path: Path) -> None:
    pair = Pair(PairConfig(name="both"))
    pair.first.fit([1, 2])
    pair.second = Counter(CounterConfig(scale=3.0)).fit([4])
    saved = pair.save(tmp_path / "pair")
    assert json.loads((saved / MANIFEST_FILE).read_text())["parts"] == ["first", "second"]
    loaded = Pair.load(saved)
    assert loaded.config.name == "both" and loaded.second is not None
    assert loaded.second.config.scale == 3.0 and loaded.first.note == "2 items"

    alone = Pair()
    alone.first.fit([0])
    saved = alone.save(tmp_path / "alone")
    assert not (saved / "second").exists()
    assert Pair.load(saved).second is None
    manifest = json.loads((saved / MANIFEST_FILE).read_text())
    (saved / MANIFEST_FILE).write_text(json.dumps({**manifest, "parts": []}))
    with pytest.raises(ComponentFormatError, match="has no saved 'first' part"):
        Pair.load(saved)
