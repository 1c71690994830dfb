"""HTTP API latency under a bounded load: a real `shelfwise serve` process on a loopback port.

    .venv/bin/python bench/api_latency.py [--requests 2000] [--concurrency 8] [--products 2000] [--users 400]

Builds a small demo shop (`shelfwise demo --no-serve`) in a temporary data directory, starts `shelfwise serve`
on a free 127.0.0.1 port, warms it up, then sends a fixed number of requests mixing search,
recommendations and event posts: first one at a time (latency without queueing), then from a pool of
client threads (latency under load, and throughput). Prints tables, then one JSON line of figures.
The load generator shares the machine with the server, so figures are a floor on what the server does alone.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import polars as pl

from shelfwise.cli.demo import DEMO_EVENTS_FILE, DEMO_SHOP_DIR

HOST = "127.0.0.1"
STARTUP_SECONDS = 120
WARMUP_REQUESTS_PER_ENDPOINT = 5
# Share of each kind of request in the mix.
MIX: dict[str, float] = {
    "GET /v1/search": 0.45,
    "GET /v1/recommendations/for-you": 0.15,
    "GET /v1/recommendations/similar": 0.10,
    "GET /v1/recommendations/bought-together": 0.05,
    "GET /v1/recommendations/trending": 0.05,
    "POST /v1/events": 0.20,
}


def shelfwise_command() -> list[str]:
    script = Path(sys.executable).with_name("shelfwise")
    return [str(script)] if script.exists() else [sys.executable, "-m", "shelfwise.cli.main"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


@dataclass
class Sample:
    endpoint: str
    status: int
    seconds: float


@dataclass
class Workload:
    queries: list[str]
    product_ids: list[str]
    user_ids: list[str]


def build_demo(data_dir: Path, products: int, users: int) -> None:
    command = [*shelfwise_command(), "demo", "--no-serve", "--data-dir", str(data_dir)]
    command += ["--products", str(products), "--users", str(users)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=1800)


def wait_until_up(client: httpx.Client, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode} before answering")
        try:
            if client.get("/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /healthz within {STARTUP_SECONDS} s")


def demo_users(data_dir: Path, limit: int = 200) -> list[str]:
    """The most active users of the generated shop, so for-you requests read real histories."""
    path = data_dir / DEMO_SHOP_DIR / DEMO_EVENTS_FILE
    events = pl.read_csv(path, columns=["user_id"], schema_overrides={"user_id": pl.Utf8})
    counts = events.get_column("user_id").drop_nulls().value_counts(sort=True)
    return [str(user) for user in counts.get_column("user_id").head(limit)]


def workload_of(client: httpx.Client, data_dir: Path) -> Workload:
    products = client.get("/v1/products", params={"limit": 500}).raise_for_status().json()["items"]
    product_ids = [p["product_id"] for p in products]
    queries = sorted({" ".join(p["title"].split()[:2]).lower() for p in products})
    trending = client.get("/v1/recommendations/trending", params={"n": 50}).raise_for_status().json()
    product_ids += [item["product"]["product_id"] for item in trending["items"]]
    user_ids = demo_users(data_dir) or ["bench-user"]
    return Workload(queries=queries or ["lamp"], product_ids=product_ids, user_ids=user_ids)


def request_maker(workload: Workload, rng: random.Random) -> Callable[[httpx.Client], tuple[str, int]]:
    """One request of the mix, drawn with `rng`; the drawing happens before the timer starts."""
    endpoint = rng.choices(list(MIX), weights=list(MIX.values()))[0]
    user = rng.choice(workload.user_ids)
    product = rng.choice(workload.product_ids)
    query = rng.choice(workload.queries)

    def send(client: httpx.Client) -> tuple[str, int]:
        if endpoint == "GET /v1/search":
            response = client.get("/v1/search", params={"q": query, "user_id": user})
        elif endpoint == "POST /v1/events":
            event = {"user_id": user, "event_type": "view", "product_id": product}
            response = client.post("/v1/events", json=event)
        else:
            kind = endpoint.rsplit("/", 1)[1]
            params = {"user_id": user} if kind == "for-you" else {"product_id": product}
            response = client.get(f"/v1/recommendations/{kind}", params=params)
        return endpoint, response.status_code

    return send


def load(
    client: httpx.Client, workload: Workload, requests: int, concurrency: int, time_limit: float, seed: int
) -> tuple[list[Sample], float]:
    rng = random.Random(seed)
    makers = [request_maker(workload, rng) for _ in range(requests)]
    samples: list[Sample] = []
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def one(send: Callable[[httpx.Client], tuple[str, int]]) -> None:
        if time.monotonic() > deadline:
            return
        started = time.perf_counter()
        try:
            endpoint, status = send(client)
        except httpx.HTTPError:
            endpoint, status = "transport error", 0
        sample = Sample(endpoint, status, time.perf_counter() - started)
        with lock:
            samples.append(sample)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, makers))
    return samples, time.perf_counter() - started


def summarise(samples: list[Sample], wall: float) -> dict[str, Any]:
    by_endpoint: dict[str, list[Sample]] = {}
    for sample in samples:
        by_endpoint.setdefault(sample.endpoint, []).append(sample)
    endpoints = {}
    for endpoint in [*MIX, *sorted(set(by_endpoint) - set(MIX))]:
        group = by_endpoint.get(endpoint, [])
        if not group:
            continue
        latencies = np.array([s.seconds for s in group]) * 1000
        endpoints[endpoint] = {
            "requests": len(group),
            "errors": sum(1 for s in group if not 200 <= s.status < 300),
            "p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        }
    everything = np.array([s.seconds for s in samples]) * 1000
    return {
        "requests": len(samples),
        "errors": sum(e["errors"] for e in endpoints.values()),
        "seconds": round(wall, 2),
        "requests_per_second": round(len(samples) / wall, 1) if wall else 0.0,
        "p50_ms": round(float(np.percentile(everything, 50)), 2) if len(samples) else None,
        "p99_ms": round(float(np.percentile(everything, 99)), 2) if len(samples) else None,
        "endpoints": endpoints,
    }


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="shelfwise-bench-api-") as scratch:
        data_dir = Path(scratch) / "data"
        started = time.perf_counter()
        build_demo(data_dir, args.products, args.users)
        build_seconds = time.perf_counter() - started
        port = free_port()
        log = (Path(scratch) / "server.log").open("wb")
        server = subprocess.Popen(
            [*shelfwise_command(), "serve", "--data-dir", str(data_dir), "--host", HOST, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            limits = httpx.Limits(
                max_connections=args.concurrency, max_keepalive_connections=args.concurrency
            )
            with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30, limits=limits) as client:
                wait_until_up(client, server)
                workload = workload_of(client, data_dir)
                warmup = random.Random(args.seed + 1)
                for _ in range(WARMUP_REQUESTS_PER_ENDPOINT * len(MIX)):
                    request_maker(workload, warmup)(client)
                # One client at a time first: the latency of a request alone, without queueing.
                alone, alone_wall = load(
                    client, workload, args.sequential_requests, 1, args.time_limit, args.seed + 2
                )
                samples, wall = load(
                    client, workload, args.requests, args.concurrency, args.time_limit, args.seed
                )
        finally:
            stop(server)
            log.close()
    figures = summarise(samples, wall)
    figures |= {
        "sequential": summarise(alone, alone_wall),
        "concurrency": args.concurrency,
        "planned_requests": args.requests,
        "demo_products": args.products,
        "demo_users": args.users,
        "demo_build_seconds": round(build_seconds, 1),
    }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--sequential-requests", type=int, default=300, help="Requests sent one at a time before the load."
    )
    parser.add_argument("--products", type=int, default=2_000, help="Demo shop products.")
    parser.add_argument("--users", type=int, default=400, help="Demo shop users.")
    parser.add_argument(
        "--time-limit", type=float, default=300.0, help="Stop sending after this many seconds."
    )
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    figures = run(args)
    for title, part in (
        ("one client at a time", figures["sequential"]),
        (f"{args.concurrency} clients", figures),
    ):
        print(f"{title}:\n{'endpoint':<42} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p99 ms':>8}")
        for endpoint, row in part["endpoints"].items():
            counts = f"{row['requests']:>8} {row['errors']:>6}"
            print(f"{endpoint:<42} {counts} {row['p50_ms']:>8} {row['p99_ms']:>8}")
    rate = figures["requests_per_second"]
    print(f"{figures['requests']} requests in {figures['seconds']} s: {rate} requests/s")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
