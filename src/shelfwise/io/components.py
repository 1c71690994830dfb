"""The one on-disk format of a fitted component, and the base class every model and index builds on.

A component has a typed config (a frozen pydantic model that forbids unknown keys), learns in `fit`, and
saves to a directory as:

    component.json   its kind, its config and its small learned state (JSON)
    arrays.npz       what it learned as arrays (numpy, never pickle)
    …                native files of a library that has its own format (LightGBM, faiss, bm25s, torch),
                     written and read by the component's hooks

`load` refuses a directory that holds another kind of component, so a wrong path fails with a clear error
instead of a model that silently scores nonsense. Pipelines are components whose `parts` are components:
their save and load iterate the parts, each in its own subdirectory.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
from pydantic import BaseModel

MANIFEST_FILE = "component.json"
ARRAYS_FILE = "arrays.npz"
FORMAT_VERSION = 1

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class ComponentFormatError(ValueError):
    """A saved component that cannot be read back: missing files, another kind, or a newer format."""


class Component(Generic[ConfigT]):
    """Base of fitted parts. Subclasses set `kind` and `config_type`, implement `fit`, and describe their
    learned state through `state` / `restore` (JSON values and arrays) and, for library formats,
    `save_native` / `load_native`."""

    kind: ClassVar[str]
    config_type: ClassVar[type[BaseModel]]

    def __init__(self, config: ConfigT | None = None) -> None:
        self.config: ConfigT = config if config is not None else self.config_type()  # type: ignore[assignment]

    # what a subclass describes -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The learned state: JSON-safe values and named arrays. Default: nothing beyond the config."""
        return {}, {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        """Set the learned state from what `state` returned (called on an instance built from the config)."""

    def save_native(self, directory: Path) -> None:
        """Write files in a library's own format (a LightGBM model, a faiss graph) into `directory`."""

    def load_native(self, directory: Path) -> None:
        """Read what `save_native` wrote."""

    # one format for all ---------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write this fitted component to `directory` (created if needed); returns the directory."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        values, arrays = self.state()
        manifest = {
            "kind": self.kind,
            "format": FORMAT_VERSION,
            "config": self.config.model_dump(mode="json"),
            "state": values,
        }
        (path / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        if arrays:
            np.savez(path / ARRAYS_FILE, allow_pickle=False, **dict(arrays))
        self.save_native(path)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Read a component that `save` wrote, checking that it is one of this kind."""
        path = Path(directory)
        manifest = read_manifest(path, cls.kind)
        component = cls(cls.config_type.model_validate(manifest.get("config", {})))  # type: ignore[arg-type]
        component.restore(manifest.get("state", {}), read_arrays(path))
        component.load_native(path)
        return component


def read_manifest(directory: Path, kind: str) -> dict[str, Any]:
    """The manifest of the component saved in `directory`, refused unless it is of `kind`."""
    file = directory / MANIFEST_FILE
    if not file.is_file():
        raise ComponentFormatError(f"no saved component at {directory}: {MANIFEST_FILE} is missing")
    manifest: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
    if manifest.get("kind") != kind:
        raise ComponentFormatError(f"{directory} holds a {manifest.get('kind')!r} component, not {kind!r}")
    if int(manifest.get("format", 0)) > FORMAT_VERSION:
        raise ComponentFormatError(
            f"{directory} was saved in format {manifest['format']}, newer than this shelfwise reads "
            f"({FORMAT_VERSION}): upgrade shelfwise or retrain"
        )
    return manifest


def read_arrays(directory: Path) -> dict[str, np.ndarray]:
    """The arrays a component saved (none when it saved none)."""
    file = directory / ARRAYS_FILE
    if not file.is_file():
        return {}
    with np.load(file, allow_pickle=False) as stored:
        return {key: stored[key] for key in stored.files}
