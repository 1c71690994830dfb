"""The package graph: every module imports on its own (an import cycle hides behind the usual import order
and shows only when a module is the first one imported). The layer contracts themselves are import-linter's
(`lint-imports` in `make test`, configured in pyproject.toml)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

import shelfwise

pytestmark = [pytest.mark.slow]

SRC = Path(shelfwise.__file__).parent
# Imported before forking, so each child pays only for shelfwise's own modules; none of them is ours.
THIRD_PARTY = [
    "numpy",
    "scipy",
    "polars",
    "pyarrow",
    "pydantic",
    "pydantic_settings",
    "sqlalchemy",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "typer",
    "rich",
    "jinja2",
    "torch",
    "sentence_transformers",
    "transformers",
    "lightgbm",
    "bm25s",
    "faiss",
    "onnxruntime",
    "implicit",
    "jieba",
    "pandera",
    "redis",
]

CHILD = textwrap.dedent(
    """
    import importlib, json, os, sys, traceback
    modules, preload = json.loads(sys.argv[1]), json.loads(sys.argv[2])
    for name in preload:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    assert not [m for m in sys.modules if m == "shelfwise" or m.startswith("shelfwise.")]
    failures = {}
    for module in modules:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                importlib.import_module(module)
                code = 0
            except BaseException:
                os.write(write, traceback.format_exc(limit=6).encode()[-4000:])
                code = 1
            os.close(write)
            os._exit(code)
        os.close(write)
        with os.fdopen(read) as pipe:
            message = pipe.read()
        _, status = os.waitpid(pid, 0)
        if status != 0:
            failures[module] = message or f"exit status {status}"
    print(json.dumps(failures))
    """
)


def every_module() -> list[str]:
    names = []
    for path in sorted(SRC.rglob("*.py")):
        parts = ("shelfwise", *path.relative_to(SRC).with_suffix("").parts)
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork to import each module alone")
def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    modules = every_module()
    assert len(modules) > 50, "the walk over src/shelfwise found too few modules"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(modules), json.dumps(THIRD_PARTY)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    failures = json.loads(done.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n\n".join(f"{name}:\n{trace}" for name, trace in failures.items())


def test_the_vocabulary_stays_light() -> None:
    """`import shelfwise.domain` (what a client of the API types needs) loads no model library and no
    layer above it: the package's __init__ imports the engine and the settings tree lazily."""
    code = (
        "import sys, shelfwise.domain, shelfwise.metrics; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'lightgbm', 'faiss', 'sklearn'})); "
        "print(sorted(m for m in sys.modules if m.startswith('shelfwise.') and m.split('.')[1] "
        "not in ('domain', 'metrics')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    heavy, layers = done.stdout.splitlines()
    assert heavy == "[]" and layers == "[]", done.stdout


FACADE_INTERNALS = {"store", "registry", "online"}
SURFACES = ("api", "web", "cli", "app.py", "experiments")


def test_surfaces_use_the_engine_facade_only() -> None:
    """api, web, cli, app and experiments call Engine methods, never the store, the artifact registry or
    the online state behind it (`engine.store…`), so the facade stays the one way in."""
    reached = []
    for surface in SURFACES:
        root = SRC / surface
        for path in [root] if root.suffix == ".py" else sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Attribute) and node.attr in FACADE_INTERNALS:
                    owner = ast.unparse(node.value)
                    if owner == "engine" or owner.endswith(".engine"):
                        reached.append(f"{path.relative_to(SRC)}:{node.lineno} {owner}.{node.attr}")
    assert len(list(SRC.glob("api/*.py"))) > 2, "the walk must see the surfaces"
    assert reached == []


def test_every_package_is_placed_in_the_layers_and_kept_from_the_terminal() -> None:
    """A new package must take its place in the layers and in the no-terminal contract (pyproject), or
    import-linter says nothing about it."""
    contracts = tomllib.loads((SRC.parent.parent / "pyproject.toml").read_text())["tool"]["importlinter"][
        "contracts"
    ]
    layered = {
        name.strip()
        for contract in contracts
        if contract["type"] == "layers"
        for layer in contract["layers"]
        for name in layer.split("|")
    }
    quiet = next(c for c in contracts if c.get("forbidden_modules") == ["rich", "typer"])["source_modules"]
    names = {path.stem for path in SRC.iterdir() if path.suffix == ".py" or (path / "__init__.py").exists()}
    names -= {"__init__", "__main__"}
    assert sorted(names - layered) == [], "packages missing from the layers contract"
    assert sorted({n for n in names if n != "cli"} - {m.removeprefix("shelfwise.") for m in quiet}) == []
