"""Who may use how many threads: the math libraries' pools, set once per process from `threads` settings.

Left alone, every math library (the BLAS under numpy and scipy, OpenMP under torch, faiss and LightGBM,
ONNX Runtime's pool) sizes its pool to every core. A server runs many requests at once, each on its own
thread, so each request's library call then wakes a pool of its own and the pools fight over the same
cores: throughput falls as clients are added. Serving therefore gives each request one math thread (the
concurrency comes from the requests themselves); training and evaluation, which run one big job, may use
every core. The entry points (`shelfwise serve`, `demo`, `train`, `evaluate`, the app factory) call
`apply_thread_limits` once at start; the HTTP server's own pool of request threads is sized by the app
from `ThreadsConfig.http_workers`. LightGBM takes its threads per call instead: one when it scores (the
request path), its component config's `threads` when it trains.

polars sizes its pool once, when it is first imported, from its own `POLARS_MAX_THREADS` variable; every
entry point has imported polars before settings can be read, so that one is set in the environment of the
process (`POLARS_MAX_THREADS=2 shelfwise serve`); `AppliedThreads.polars` reports the pool in use.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shelfwise.text import onnx_backend

logger = logging.getLogger(__name__)

Role = Literal["serving", "training"]
# Read by OpenMP and BLAS libraries when they are loaded: a library loaded after the limits were applied
# takes the same limit from these.
_LIBRARY_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
HTTP_WORKERS_PER_CORE = 2
MIN_HTTP_WORKERS = 4


class ThreadsConfig(BaseModel):
    """Thread counts for the math libraries (by role) and for the HTTP server's request threads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serving: int = Field(
        default=1,
        ge=1,
        description="Math-library threads (BLAS, OpenMP, torch, ONNX Runtime, faiss) while serving: each "
        "request computes on one, and requests run side by side.",
    )
    training: int | None = Field(
        default=None,
        ge=1,
        description="Math-library threads for the commands that run one big job (train, evaluate, ingest, "
        "quality); None: every core this process may use.",
    )
    torch_interop: int = Field(
        default=1, ge=1, description="torch inter-op threads (set once per process, before torch works)."
    )
    http_workers: int | None = Field(
        default=None,
        ge=1,
        description="Requests the HTTP server computes at once (its pool of worker threads); more wait "
        f"their turn. None: {HTTP_WORKERS_PER_CORE} per core, at least {MIN_HTTP_WORKERS}.",
    )

    def math_threads(self, role: Role) -> int:
        """The math-library threads of `role`."""
        if role == "serving":
            return self.serving
        return self.training or usable_cores()

    def request_threads(self) -> int:
        """The HTTP server's worker threads."""
        return self.http_workers or max(MIN_HTTP_WORKERS, HTTP_WORKERS_PER_CORE * usable_cores())


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers and `taskset` narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass(frozen=True)
class AppliedThreads:
    """What `apply_thread_limits` set, and the polars pool it found."""

    role: Role
    math: int
    torch_interop: int
    polars: int | None


def apply_thread_limits(config: ThreadsConfig, role: Role) -> AppliedThreads:
    """Limit every math library of this process to `config`'s threads for `role`. Process-wide: call it
    at start (and again when a process turns from training to serving, as `shelfwise demo` does)."""
    threads = config.math_threads(role)
    for name in _LIBRARY_VARIABLES:
        os.environ[name] = str(threads)
    _load_math_libraries()
    from threadpoolctl import threadpool_limits

    # Every BLAS library process-wide; OpenMP's count for this thread only (an OpenMP library reads
    # OMP_NUM_THREADS for other threads when it loads). torch carries its count to every thread itself, and
    # the rest of the request path passes its own: one thread for LightGBM's scoring, ONNX sessions below.
    threadpool_limits(limits=threads)
    interop = _limit_torch(threads, config.torch_interop)
    _limit_faiss(threads)
    onnx_backend.use_threads(threads)
    applied = AppliedThreads(role, threads, interop, _polars_threads())
    logger.info(
        "threads for %s: %d math, %d torch inter-op, polars %s",
        role,
        threads,
        interop,
        applied.polars,
    )
    return applied


def _load_math_libraries() -> None:
    """Load the libraries whose pools are limited, so that threadpoolctl finds them all (the entry
    points have loaded most of them already)."""
    import numpy  # noqa: F401
    import scipy.linalg  # noqa: F401
    import torch  # noqa: F401

    with contextlib.suppress(ImportError):
        import faiss  # noqa: F401


def _limit_torch(threads: int, interop: int) -> int:
    import torch

    torch.set_num_threads(threads)
    # Settable once, before any inter-op work; a second call (demo: training, then serving) keeps it.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(interop)
    return int(torch.get_num_interop_threads())


def _limit_faiss(threads: int) -> None:
    try:
        import faiss
    except ImportError:
        return
    faiss.omp_set_num_threads(threads)


def _polars_threads() -> int | None:
    try:
        import polars
    except ImportError:
        return None
    return int(polars.thread_pool_size())
