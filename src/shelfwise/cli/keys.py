"""`shelfwise keys`: create, list and revoke the API keys (stored hashed; a new key is shown once).

Rotating a key is creating its successor, switching the client over, then revoking the old one."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from shelfwise.cli.context import engine_command, open_engine, stderr_console, stdout_console
from shelfwise.domain.access import Scope

keys_app = typer.Typer(
    help="API keys with scopes: storefront (safe in a browser), server (a back end's), admin.",
    no_args_is_help=True,
)


@keys_app.command("create")
@engine_command
def create(
    name: Annotated[str, typer.Argument(help="What the key is for, to tell it apart in listings.")],
    scope: Annotated[Scope, typer.Option(help="What the key opens.")] = Scope.SERVER,
) -> None:
    """Create a key and print it once: only its hash is stored, so it cannot be shown again."""
    with closing(open_engine()) as engine:
        created, secret = engine.keys.create(name, scope)
    stderr_console().print(
        f"Created the {created.scope} key {created.name!r} (id {created.key_id}). "
        "Copy it now: it is not shown again.",
        markup=False,
        highlight=False,
    )
    # Alone on stdout, for `KEY=$(shelfwise keys create ...)`.
    stdout_console().print(secret, markup=False, highlight=False, soft_wrap=True)


@keys_app.command("list")
@engine_command
def list_keys() -> None:
    """Every key: the settings' bootstrap keys, then the stored ones, revoked ones included; no secret."""
    with closing(open_engine()) as engine:
        listing = engine.keys.listing()
    table = Table("id", "name", "scope", "prefix", "created", "last used", "state")
    for key in listing:
        state = "set in the settings" if key.configured else ("revoked" if key.revoked_at else "active")
        table.add_row(
            key.key_id,
            key.name,
            key.scope.value,
            key.prefix or "-",
            _when(key.created_at),
            _when(key.last_used_at),
            state,
        )
    stdout_console().print(table)


@keys_app.command("revoke")
@engine_command
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id or its prefix.")]) -> None:
    """Revoke a key: it stops working at once, and admin sessions it opened end."""
    with closing(open_engine()) as engine:
        revoked = engine.keys.revoke(key_id)
    stdout_console().print(f"Revoked {revoked.name!r} ({revoked.key_id}).", markup=False, highlight=False)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"
