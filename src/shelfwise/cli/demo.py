"""`shelfwise demo`: a generated shop, ingested, trained and served, in one command.

Everything is reused when already there (the generated files, the ingested rows, a current model), so a
second run starts serving in seconds.
"""

from __future__ import annotations

import json
import secrets
import shlex
import shutil
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
import typer

from shelfwise.cli.context import (
    current_settings,
    engine_command,
    open_engine,
    stderr_console,
    stdout_console,
)
from shelfwise.cli.steps import ingest_with_status, print_ingest_report, run_server, train_with_status
from shelfwise.domain.errors import NotFoundError
from shelfwise.engine import Engine
from shelfwise.io.datasets import shared_data_dir
from shelfwise.settings import Settings

DEMO_SHOP_DIR = "demo-shop"
FASHION_DATA = "fashion-product-images"  # the shared data folder's Fashion Product Images
SHOPS = ("generated", "fashion")
DEMO_PRODUCTS_FILE = "products.csv"
DEMO_EVENTS_FILE = "events.csv"
EXAMPLE_QUERY_WORDS = 2


@engine_command
def demo_command(
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to serve on.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Stop after training.")] = False,
    products: Annotated[int | None, typer.Option(hidden=True, min=1, help="Products to generate.")] = None,
    users: Annotated[int | None, typer.Option(hidden=True, min=1, help="Users to generate.")] = None,
    shop: Annotated[
        str,
        typer.Option(
            help="generated: a made-up shop with drawn pictures; fashion: the real products and pictures of "
            f"Fashion Product Images ({FASHION_DATA}/ in the shared data folder), in DATA_DIR/fashion-shop."
        ),
    ] = "generated",
) -> None:
    """Generate a demo shop into the data directory, ingest it, train, and serve it."""
    if shop not in SHOPS:
        raise typer.BadParameter(f"expected one of {', '.join(SHOPS)}, got {shop!r}", param_hint="--shop")
    settings = current_settings()
    fashion = fashion_folder(settings) if shop == "fashion" else None
    if fashion is not None:
        # Its own store, so that it never mixes with the generated shop; pictures are read from the folder.
        images = settings.training.images.model_copy(update={"root": fashion})
        training = settings.training.model_copy(update={"images": images})
        settings = settings.with_overrides(data_dir=settings.data_dir / "fashion-shop", training=training)
    # The admin pages need a key; the demo makes one up for this run unless one is configured. Demo mode
    # lets the storefront's user switcher shop as the demo's shoppers.
    settings = settings.with_overrides(
        admin_api_key=settings.admin_api_key or secrets.token_urlsafe(12),
        security=settings.security.model_copy(update={"demo_mode": True}),
    )
    products_path, events_path = demo_files(
        settings.data_dir / DEMO_SHOP_DIR, products=products, users=users, fashion=fashion
    )
    engine = open_engine(settings)
    try:
        console = stdout_console()
        for source, path, present in (
            ("products", products_path, engine.count_products()),
            ("events", events_path, engine.count_events()),
        ):
            if present:
                console.print(f"The store already holds {present:,} {source}: not ingesting {path} again.")
            else:
                print_ingest_report(*ingest_with_status(engine, source, path))
        if engine.manifest is None:
            manifest, seconds = train_with_status(engine)
            console.print(f"Trained model {manifest.version} in {seconds:.1f} s.")
        else:
            console.print(f"Using the trained model {engine.manifest.version}.")
        print_examples(engine, host, port)
    except BaseException:
        engine.close()
        raise
    if no_serve:
        engine.close()
        return
    run_server(engine, host, port)


def fashion_folder(settings: Settings) -> Path:
    """The Fashion Product Images folder; exits with where it looked when it is not there."""
    folder = shared_data_dir(settings.shared_data) / FASHION_DATA
    if not (folder / "styles.csv").is_file() or not (folder / "images").is_dir():
        stderr_console().print(
            f"No fashion shop: {folder} is not there (it needs styles.csv and images/ID.jpg). Set "
            "SHELFWISE_DATA to the folder that holds fashion-product-images/, or run the generated shop.",
            markup=False,
        )
        raise typer.Exit(code=1)
    return folder


def demo_files(
    directory: Path, products: int | None, users: int | None, fashion: Path | None = None
) -> tuple[Path, Path]:
    """The demo shop's products and events files, generated (over the `fashion` folder's products when
    given) unless a previous run left them there."""
    from shelfwise.io.demo import write_demo_shop
    from shelfwise.io.demo.fashion import write_fashion_shop

    products_path, events_path = directory / DEMO_PRODUCTS_FILE, directory / DEMO_EVENTS_FILE
    if products_path.is_file() and events_path.is_file():
        stdout_console().print(f"Reusing the demo shop in {directory}.")
        return products_path, events_path
    sizes: dict[str, Any] = {}
    if products is not None:
        sizes["n_products"] = products
    if users is not None:
        sizes["n_users"] = users
    # Written aside and renamed into place, so an interrupted run never leaves half a shop to be reused.
    staging = directory.with_name(f".{directory.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    started = time.perf_counter()
    with stderr_console().status(f"Generating a demo shop in {directory}…"):
        written = (
            write_fashion_shop(staging, fashion, **sizes) if fashion else write_demo_shop(staging, **sizes)
        )
    shutil.rmtree(directory, ignore_errors=True)
    staging.rename(directory)
    stdout_console().print(f"Generated a demo shop in {directory} ({time.perf_counter() - started:.1f} s).")
    return directory / written[0].name, directory / written[1].name


def print_examples(engine: Engine, host: str, port: int) -> None:
    """Where the shop is, the admin key, and curl calls that answer something for this shop."""
    base = f"http://{host}:{port}"
    user_id, product_id = _example_ids(engine)
    product = None
    if product_id:
        try:
            product = engine.get_product(product_id)
        except NotFoundError:
            product = None  # events can name a product deleted since
    query = example_query(product.title, product.brand) if product else "shoes"
    lines = [
        f"The shop is at {base} (API docs: {base}/docs).",
        f"Admin pages: {base}/admin (admin API key: {engine.settings.admin_api_key}).",
        "Try:",
        f"  curl {shlex.quote(f'{base}/v1/search?' + urlencode({'q': query, 'page_size': 5}))}",
    ]
    # A shopper's own lists and events in their name take a back end's key (here the admin key).
    key = engine.settings.admin_api_key
    keyed = f" -H {shlex.quote(f'X-API-Key: {key}')}" if key else ""
    if user_id:
        for_you = f"{base}/v1/recommendations/for-you?" + urlencode({"user_id": user_id})
        lines.append(f"  curl{keyed} {shlex.quote(for_you)}")
    if product_id:
        similar = f"{base}/v1/recommendations/similar?" + urlencode({"product_id": product_id})
        lines.append(f"  curl {shlex.quote(similar)}")
        event = {"user_id": user_id or "demo-visitor", "event_type": "view", "product_id": product_id}
        body = shlex.quote(json.dumps(event))
        lines.append(f"  curl -X POST {base}/v1/events{keyed} -H 'content-type: application/json' -d {body}")
    console = stdout_console()
    for line in lines:
        console.print(line, markup=False, highlight=False, soft_wrap=True)


def example_query(title: str, brand: str | None) -> str:
    """What a shopper might type for this product: the last words of its name, without brand or variant."""
    name = title.split(",")[0].split(" - ")[0]
    if brand and name.lower().startswith(brand.lower()):
        name = name[len(brand) :]
    words = name.split()[-EXAMPLE_QUERY_WORDS:]
    return " ".join(words).lower() or title.lower()


def _example_ids(engine: Engine) -> tuple[str | None, str | None]:
    """The most active user and the most viewed product, so the example calls return something."""
    events = engine.events_frame()
    user_id = _most_common(events, "user_id")
    product_id = _most_common(events, "product_id")
    if product_id is None:
        first = engine.products(limit=1)
        product_id = first[0].product_id if first else None
    return user_id, product_id


def _most_common(events: pl.DataFrame, column: str) -> str | None:
    values = events.get_column(column).drop_nulls()
    if values.is_empty():
        return None
    counts = values.value_counts(sort=True)
    return str(counts.row(0)[0])
