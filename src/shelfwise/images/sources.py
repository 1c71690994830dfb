"""Reading a product's image: a local file, or an http(s) download that is bounded in size and time.

A product's `image_url` is an http(s) URL, an absolute file, or a path read under `ImageConfig.root`
(the folder of the import). Whatever goes wrong comes back as an `ImageProblem`, never as an exception:
a missing or oversized file is a quality-gate outcome for that product, not a failed training run.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from shelfwise.images.config import ImageConfig

ProblemKind = Literal["unreadable", "not_an_image", "too_small"]
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class ImageProblem:
    """Why a product's image gave no vector: it could not be read, is not an image, or is too small."""

    kind: ProblemKind
    detail: str


def is_remote(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def local_path(location: str, root: Path | None) -> Path:
    """The file an image path names: itself when it is an existing absolute file, else under `root`."""
    path = Path(location)
    if path.is_absolute() and (path.is_file() or root is None):
        return path
    return (root or Path.cwd()) / location.lstrip("/")


def read_local(location: str, config: ImageConfig) -> bytes | ImageProblem:
    path = local_path(location, config.root)
    try:
        size = path.stat().st_size
        if size > config.max_bytes:
            return ImageProblem("unreadable", f"{path}: {size:,} bytes, over the {config.max_bytes:,} limit")
        return path.read_bytes()
    except OSError as error:
        return ImageProblem("unreadable", f"{path}: {error.strerror or error}")


def download(url: str, client: httpx.Client, config: ImageConfig) -> bytes | ImageProblem:
    """The body of `url`, read in chunks and given up once it passes `max_bytes` or the deadline."""
    deadline = time.monotonic() + config.download_timeout_seconds
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                return ImageProblem("unreadable", f"{url}: HTTP {response.status_code}")
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > config.max_bytes:
                return ImageProblem(
                    "unreadable", f"{url}: {int(declared):,} bytes, over the {config.max_bytes:,} limit"
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > config.max_bytes:
                    return ImageProblem("unreadable", f"{url}: over the {config.max_bytes:,} byte limit")
                if time.monotonic() > deadline:
                    return ImageProblem(
                        "unreadable", f"{url}: not downloaded in {config.download_timeout_seconds:g} s"
                    )
            return bytes(body)
    except httpx.TimeoutException:
        return ImageProblem("unreadable", f"{url}: timed out after {config.download_timeout_seconds:g} s")
    except httpx.HTTPError as error:
        return ImageProblem("unreadable", f"{url}: {type(error).__name__}: {error}")


def read_images(locations: Sequence[str], config: ImageConfig) -> list[bytes | ImageProblem]:
    """The bytes of each image (or why not), in the order given; downloads run `download_concurrency`
    at a time, local files are read in turn."""
    results: list[bytes | ImageProblem] = [
        ImageProblem("unreadable", "not read") for _ in range(len(locations))
    ]
    remote = [i for i, location in enumerate(locations) if is_remote(location)]
    for i, location in enumerate(locations):
        if not is_remote(location):
            results[i] = read_local(location, config)
    if remote:
        timeout = httpx.Timeout(config.download_timeout_seconds)
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS) as client,
            ThreadPoolExecutor(config.download_concurrency) as pool,
        ):
            fetched = pool.map(lambda i: download(locations[i], client, config), remote)
            for i, body in zip(remote, fetched, strict=True):
                results[i] = body
    return results
