"""Search throughput as clients are added: a real `shelfwise serve` on the demo shop, with the `threads`
settings' defaults and with the thread pools left as the libraries size them (the old behaviour).

    .venv/bin/python bench/search_throughput.py [--clients 1 8 32] [--seconds 15] [--products 2000]

Builds the demo shop once (`shelfwise demo --no-serve`, generated deterministically), then for each mode
starts `shelfwise serve` on a free 127.0.0.1 port, warms it up and, for each number of clients, has that
many client threads send `GET /v1/search` (a query from the catalog's titles and a demo user) back to back
for a fixed time. Reports requests/s, p50 and p99 per mode and number of clients; one JSON line last.
The clients share the machine with the server, so figures are a floor on what the server does alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from api_latency import (
    HOST,
    Workload,
    build_demo,
    free_port,
    shelfwise_command,
    stop,
    wait_until_up,
    workload_of,
)
from shelfwise.threads import usable_cores

WARMUP_REQUESTS = 30


def modes() -> dict[str, dict[str, str]]:
    """The environment of each server: the defaults, and every pool as big as the libraries make it
    (math libraries on every core, anyio's default of 40 request threads): the behaviour before the
    `threads` settings."""
    cores = str(usable_cores())
    return {
        "default settings": {},
        "threads unlimited (old)": {
            "SHELFWISE_THREADS__SERVING": cores,
            "SHELFWISE_THREADS__TORCH_INTEROP": cores,
            "SHELFWISE_THREADS__HTTP_WORKERS": "40",
        },
    }


def search(client: httpx.Client, workload: Workload, rng: random.Random) -> float:
    """One search; its latency in seconds (a failed request raises)."""
    params = {"q": rng.choice(workload.queries), "user_id": rng.choice(workload.user_ids)}
    started = time.perf_counter()
    client.get("/v1/search", params=params).raise_for_status()
    return time.perf_counter() - started


def load(base_url: str, workload: Workload, clients: int, seconds: float, seed: int) -> dict[str, Any]:
    """`clients` threads searching back to back for `seconds`: requests/s, p50 and p99."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(base_url=base_url, timeout=120, limits=limits) as client:
        deadline = time.monotonic() + seconds

        def one_client(index: int) -> None:
            nonlocal errors
            rng = random.Random(seed * 1000 + index)
            while time.monotonic() < deadline:
                try:
                    latency = search(client, workload, rng)
                except httpx.HTTPError:
                    with lock:
                        errors += 1
                    continue
                with lock:
                    latencies.append(latency)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(one_client, range(clients)))
        wall = time.perf_counter() - started
    milliseconds = np.array(latencies) * 1000
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(wall, 2),
        "requests_per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(float(np.percentile(milliseconds, 50)), 1) if len(latencies) else None,
        "p99_ms": round(float(np.percentile(milliseconds, 99)), 1) if len(latencies) else None,
    }


def measure_mode(
    data_dir: Path, scratch: Path, name: str, environment: dict[str, str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    log_path = scratch / f"server-{len(os.listdir(scratch))}.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*shelfwise_command(), "serve", "--data-dir", str(data_dir), "--host", HOST, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **environment},
        )
        try:
            with httpx.Client(base_url=base_url, timeout=60) as client:
                wait_until_up(client, server)
                workload = workload_of(client, data_dir)
                rng = random.Random(args.seed)
                for _ in range(WARMUP_REQUESTS):
                    search(client, workload, rng)
            rows = []
            for clients in args.clients:
                row = load(base_url, workload, clients, args.seconds, args.seed + clients)
                print(
                    f"{name:<26} {clients:>3} clients: {row['requests_per_second']:>7} req/s, "
                    f"p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, {row['errors']} errors",
                    file=sys.stderr,
                    flush=True,
                )
                rows.append(row)
            return rows
        finally:
            stop(server)


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shelfwise-bench-throughput-") as scratch_dir:
        scratch = Path(scratch_dir)
        data_dir = scratch / "data"
        started = time.perf_counter()
        build_demo(data_dir, args.products, args.users)
        build_seconds = time.perf_counter() - started
        results = {
            name: measure_mode(data_dir, scratch, name, environment, args)
            for name, environment in modes().items()
        }
    return {
        "demo_products": args.products,
        "demo_users": args.users,
        "demo_build_seconds": round(build_seconds, 1),
        "seconds_per_level": args.seconds,
        "cores": usable_cores(),
        "modes": results,
        "environments": modes(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=10.0, help="Searching time per number of clients.")
    parser.add_argument("--products", type=int, default=2_000, help="Demo shop products.")
    parser.add_argument("--users", type=int, default=400, help="Demo shop users.")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
