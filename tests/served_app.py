"""A free local port, and an ASGI app served by a real uvicorn server in a thread of the test process, for
the tests that need HTTP over a socket (browsers, clients that reconnect). Tests import it
(`from served_app import served`)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import uvicorn

START_SECONDS = 10.0


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` served on 127.0.0.1 until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    waited = threading.Event()
    for _ in range(int(START_SECONDS / 0.05)):
        if server.started:
            break
        waited.wait(0.05)
    if not server.started:
        pytest.fail("the uvicorn server did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
