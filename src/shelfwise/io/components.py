"""The one on-disk format of a fitted component, and the base class every model and index builds on.

A component has a typed config (a frozen pydantic model that forbids unknown keys), learns in `fit`, and
saves to a directory as:

    component.json   its kind, its format version, its config and its small learned state (JSON)
    arrays.npz       what it learned as arrays (numpy, never pickle)
    …                native files of a library that has its own format (LightGBM, faiss, bm25s, torch),
                     written and read by the component's hooks
    NAME/            each part of a pipeline, itself a saved component

`load` refuses a directory that holds another kind of component, so a wrong path fails with a clear error
instead of a model that silently scores nonsense. `component.json` is written last: a save that stopped
half-way leaves a directory that `load` refuses rather than one it half reads.

Pipelines are components whose `parts` are components: `save` stores each present part in its own
subdirectory (`save_parts`) and lists them in the manifest; the pipeline's `restore_parts` reads them back
(`load_part`, `load_required_part`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import numpy as np
from pydantic import BaseModel, ValidationError

from shelfwise.io.forgetting import Forgotten, Subject

MANIFEST_FILE = "component.json"
ARRAYS_FILE = "arrays.npz"
FORMAT_VERSION = 1

ConfigT = TypeVar("ConfigT", bound=BaseModel)


class ComponentFormatError(ValueError):
    """A saved component that cannot be read back: missing files, another kind, or a newer format."""


class Component(Generic[ConfigT]):
    """Base of fitted parts. Subclasses set `kind` and `config_type`, implement `fit`, and describe their
    learned state through `state` / `restore` (JSON values and arrays), for library formats through
    `save_native` / `load_native`, and for pipelines through `parts` / `restore_parts`."""

    kind: ClassVar[str]
    config_type: ClassVar[type[BaseModel]]
    # Whether this component's own state (its parts answer for themselves) is learned from shoppers' events.
    # True unless a subclass says otherwise: a component that forgets to say asks for a retrain on a
    # deletion instead of keeping someone's data.
    holds_user_data: ClassVar[bool] = True

    def __init__(self, config: ConfigT | None = None) -> None:
        self.config: ConfigT = config if config is not None else self.config_type()  # type: ignore[assignment]

    @classmethod
    def from_config(cls, config: ConfigT) -> Self:
        """An unfitted instance built from a saved config, which `load` then restores. Override where the
        constructor's first argument is not the config."""
        return cls(config)

    # what a subclass describes -------------------------------------------------------------------

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The learned state: JSON-safe values and named arrays. Default: nothing beyond the config.
        Raise here when there is nothing to save (not fitted): it runs before anything is written."""
        return {}, {}

    def restore(self, values: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
        """Set the learned state from what `state` returned (called on an instance built from the config)."""

    def save_native(self, directory: Path) -> None:
        """Write files in a library's own format (a LightGBM model, a faiss graph) into `directory`."""

    def load_native(self, directory: Path) -> None:
        """Read what `save_native` wrote (called after `restore`)."""

    def parts(self) -> Mapping[str, Component[Any] | None]:
        """A pipeline's parts by name (None: absent), each saved in its own subdirectory. Default: none."""
        return {}

    def restore_parts(self, directory: Path, saved: Sequence[str]) -> None:
        """Read the parts back (called last); `saved` names those `save` wrote (see `load_part`)."""

    def forget(self, subject: Subject) -> Forgotten:
        """Remove what `subject` contributed, from this component's own state and from each part's; the
        caller saves the component again. Subclasses override `forget_state`, not this."""
        forgotten = self.forget_state(subject)
        return forgotten.add(part.forget(subject) for part in self.parts().values() if part is not None)

    def forget_state(self, subject: Subject) -> Forgotten:
        """Remove `subject` from this component's own state (parts aside). Default: nothing to do when it
        holds no shopper data, else a retrain is asked for: override where the state allows removal."""
        return Forgotten(retrain=[self.kind] if self.holds_user_data else [])

    # one format for all ---------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        """Write this fitted component to `directory` (created if needed); returns the directory."""
        path = Path(directory)
        values, arrays = self.state()
        path.mkdir(parents=True, exist_ok=True)
        # The manifest goes last, and a stale one first: until the new one is written, nothing loads.
        (path / MANIFEST_FILE).unlink(missing_ok=True)
        if arrays:
            np.savez(path / ARRAYS_FILE, allow_pickle=False, **dict(arrays))
        else:
            (path / ARRAYS_FILE).unlink(missing_ok=True)
        self.save_native(path)
        manifest: dict[str, Any] = {
            "kind": self.kind,
            "format": FORMAT_VERSION,
            "config": self.config.model_dump(mode="json"),
            "state": values,
        }
        parts = self.parts()
        if parts:
            manifest["parts"] = save_parts(path, parts)
        (path / MANIFEST_FILE).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Read a component that `save` wrote, checking that it is one of this kind; ComponentFormatError
        naming the directory when it cannot."""
        path = Path(directory)
        manifest = read_manifest(path, cls.kind)
        try:
            config = cls.config_type.model_validate(manifest.get("config", {}))
        except ValidationError as error:
            raise ComponentFormatError(
                f"{path}: the saved config is not a valid {cls.config_type.__name__}: {error}"
            ) from error
        component = cls.from_config(config)  # type: ignore[arg-type]
        try:
            component.restore(manifest.get("state", {}), read_arrays(path))
        except KeyError as error:
            raise ComponentFormatError(f"{path}: the saved {cls.kind!r} state lacks {error}") from error
        component.load_native(path)
        component.restore_parts(path, list(manifest.get("parts", [])))
        return component


def read_manifest(directory: Path, kind: str) -> dict[str, Any]:
    """The manifest of the component saved in `directory`, refused unless it is of `kind`."""
    file = directory / MANIFEST_FILE
    if not file.is_file():
        if not directory.is_dir():
            raise ComponentFormatError(f"no saved component at {directory}: the directory does not exist")
        older = (
            " (it holds other files: saved by an older shelfwise? retrain)"
            if any(directory.iterdir())
            else ""
        )
        raise ComponentFormatError(f"no saved component at {directory}: {MANIFEST_FILE} is missing{older}")
    try:
        manifest = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ComponentFormatError(f"{file} is not valid JSON: {error}") from error
    if not isinstance(manifest, dict):
        raise ComponentFormatError(f"{file} holds a JSON {type(manifest).__name__}, not a component manifest")
    if manifest.get("kind") != kind:
        raise ComponentFormatError(f"{directory} holds a {manifest.get('kind')!r} component, not {kind!r}")
    version = manifest.get("format")
    if not isinstance(version, int):
        raise ComponentFormatError(f"{file} has no integer format version (found {version!r})")
    if version > FORMAT_VERSION:
        raise ComponentFormatError(
            f"{directory} was saved in format {version}, newer than this shelfwise reads "
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


PartsT = TypeVar("PartsT", bound="Component[Any]")


def save_parts(directory: Path, parts: Mapping[str, Component[Any] | None]) -> list[str]:
    """Save each present part of a pipeline in its own subdirectory; returns the names saved, which
    `Component.save` keeps in the pipeline's manifest so that `load_part` knows which parts exist."""
    saved = []
    for name, part in parts.items():
        if part is not None:
            part.save(directory / name)
            saved.append(name)
    return saved


def load_part(directory: Path, name: str, kind: type[PartsT], saved: Sequence[str]) -> PartsT | None:
    """The part `name` of a pipeline saved in `directory`, or None when the pipeline had none."""
    return kind.load(directory / name) if name in saved else None


def load_required_part(directory: Path, name: str, kind: type[PartsT], saved: Sequence[str]) -> PartsT:
    """The part `name` of a pipeline saved in `directory`; ComponentFormatError when it was not saved."""
    part = load_part(directory, name, kind, saved)
    if part is None:
        raise ComponentFormatError(f"{directory} has no saved {name!r} part (saved: {list(saved)})")
    return part
