"""What every command shares: the engine options, opening the engine, consoles and error reporting.

The four engine options (--data-dir, --database-url, --online-url, --config) are accepted both before the
command (`shelfwise --data-dir D search …`) and on the command itself (`shelfwise search … --data-dir D`);
the command's own value wins.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from shelfwise.domain.errors import ShelfwiseError
from shelfwise.engine import Engine
from shelfwise.io.readers import UnreadableFileError
from shelfwise.settings import CONFIG_FILE_ENV, Settings
from shelfwise.threads import apply_thread_limits

P = ParamSpec("P")
R = TypeVar("R")

DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Where the store and trained models live (default ./shelfwise-data)."),
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option("--database-url", help="SQLAlchemy URL of the store, e.g. postgresql+psycopg://…"),
]
OnlineUrlOption = Annotated[
    str | None, typer.Option("--online-url", help="Online state: memory:// or redis://host:port/db.")
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help=f"A TOML settings file (default ${CONFIG_FILE_ENV}, else ./shelfwise.toml)."
    ),
]


class CliError(Exception):
    """A problem the user can fix, reported as one line without a traceback."""


@dataclass(frozen=True)
class EngineOptions:
    data_dir: Path | None = None
    database_url: str | None = None
    online_url: str | None = None
    config: Path | None = None

    def overridden_by(self, other: EngineOptions) -> EngineOptions:
        changes = {
            f.name: getattr(other, f.name) for f in fields(other) if getattr(other, f.name) is not None
        }
        return replace(self, **changes)

    def settings(self) -> Settings:
        if self.config is not None and not self.config.is_file():
            raise CliError(f"config file {self.config} does not exist")
        return Settings.load(
            self.config, data_dir=self.data_dir, database_url=self.database_url, online_url=self.online_url
        )


_CURRENT_OPTIONS: ContextVar[EngineOptions] = ContextVar("shelfwise_cli_options", default=EngineOptions())  # noqa: B039


def current_options() -> EngineOptions:
    """The engine options of the command being run: root options overridden by the command's own."""
    return _CURRENT_OPTIONS.get()


def current_settings() -> Settings:
    return current_options().settings()


def open_engine(settings: Settings | None = None) -> Engine:
    with stderr_console().status("Opening the store…"):
        return Engine(settings or current_settings())


def stdout_console() -> Console:
    return Console()


def stderr_console() -> Console:
    return Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print `message` as an error and return the exit to raise."""
    stderr_console().print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(code=1)


@contextmanager
def reported_errors() -> Iterator[None]:
    """Errors a user can act on become one message and exit code 1, never a traceback."""
    try:
        yield
    except UnreadableFileError as error:
        raise fail(f"cannot read {error.path}: {error.problem}") from None
    except ValidationError as error:
        raise fail(_validation_message(error)) from None
    except (ShelfwiseError, CliError, ValueError) as error:
        raise fail(str(error)) from None
    except OSError as error:
        raise fail(f"{error.strerror or error}: {error.filename}" if error.filename else str(error)) from None
    except KeyboardInterrupt:
        stderr_console().print("interrupted")
        raise typer.Exit(code=130) from None


def _validation_message(error: ValidationError) -> str:
    problems = []
    for problem in error.errors():
        message = problem["msg"].removeprefix("Value error, ")
        location = ".".join(str(part) for part in problem["loc"])
        problems.append(f"{location}: {message}" if location else message)
    return f"invalid {error.title}: " + "; ".join(problems)


_CONTEXT_PARAMETER = inspect.Parameter(
    "typer_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
)
_ENGINE_PARAMETERS = (
    inspect.Parameter("data_dir", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DataDirOption),
    inspect.Parameter(
        "database_url", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=DatabaseUrlOption
    ),
    inspect.Parameter("online_url", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=OnlineUrlOption),
    inspect.Parameter("config", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ConfigOption),
)


def engine_command(func: Callable[P, R]) -> Callable[P, R]:
    """Adds the engine options to a command and reports its errors; apply below `@app.command()`."""
    signature = inspect.signature(func, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name not in {q.name for q in _ENGINE_PARAMETERS}]
    # Typer reads a command's options from its signature, so the wrapper advertises the extra ones.
    extended = signature.replace(parameters=[*own, *_ENGINE_PARAMETERS, _CONTEXT_PARAMETER])

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = EngineOptions(**{p.name: kwargs.pop(p.name, None) for p in _ENGINE_PARAMETERS})
        context: typer.Context = kwargs.pop(_CONTEXT_PARAMETER.name)
        root = context.find_object(EngineOptions) or EngineOptions()
        token = _CURRENT_OPTIONS.set(root.overridden_by(given))
        try:
            with reported_errors():
                # One job per command (train, evaluate, ingest…) may use every core it is given;
                # `serve` and `demo` switch to the serving limits when they start serving.
                apply_thread_limits(current_settings().threads, "training")
                return func(*args, **kwargs)
        finally:
            _CURRENT_OPTIONS.reset(token)

    wrapper.__signature__ = extended  # type: ignore[attr-defined]
    return wrapper
