"""Reading product images: local files under the import's folder, and downloads that are bounded in size
and time. A local HTTP server stands in for the network."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shelfwise.images.config import ImageConfig
from shelfwise.images.sources import ImageProblem, read_images

BODY = b"\xff\xd8 pretend jpeg bytes"
LARGE = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/ok.jpg":
            self._send(200, BODY)
        elif self.path == "/large-declared.jpg":
            self._send(200, b"x" * LARGE)
        elif self.path == "/large-chunked.jpg":
            # No Content-Length: only counting the bytes as they come stops it.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(LARGE // 1024):
                self.wfile.write(b"400\r\n" + b"y" * 1024 + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/slow.jpg":
            time.sleep(3)
            self._send(200, BODY)
        else:
            self._send(404, b"no such image")

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up first (the slow case)
            pass

    def log_message(self, *_: object) -> None:  # keep the test output clean
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_local_paths_are_read_under_the_root_and_absolute_files_as_they_are(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.jpg").write_bytes(b"A")
    elsewhere = tmp_path / "b.jpg"
    elsewhere.write_bytes(b"B")
    config = ImageConfig(root=tmp_path)

    found = read_images(["/img/a.jpg", "img/a.jpg", str(elsewhere), "/img/missing.jpg"], config)

    assert found[:3] == [b"A", b"A", b"B"]
    assert isinstance(found[3], ImageProblem) and found[3].kind == "unreadable"
    assert "missing.jpg" in found[3].detail


def test_a_local_file_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    (tmp_path / "big.jpg").write_bytes(b"z" * 2048)
    [found] = read_images(["/big.jpg"], ImageConfig(root=tmp_path, max_bytes=1024))
    assert isinstance(found, ImageProblem) and "over the 1,024 limit" in found.detail


def test_downloads_are_capped_in_size_and_time_and_errors_become_problems(server: str) -> None:
    config = ImageConfig(max_bytes=LARGE // 2, download_timeout_seconds=0.5)
    urls = [f"{server}/{name}" for name in ("ok.jpg", "large-declared.jpg", "large-chunked.jpg", "slow.jpg")]
    urls.append(f"{server}/gone.jpg")
    urls.append("http://127.0.0.1:9/refused.jpg")

    ok, declared, chunked, slow, gone, refused = read_images(urls, config)

    assert ok == BODY
    problems = [declared, chunked, slow, gone, refused]
    assert all(isinstance(p, ImageProblem) and p.kind == "unreadable" for p in problems), problems
    assert "over the 32,768" in declared.detail  # type: ignore[union-attr]
    assert "over the 32,768" in chunked.detail  # type: ignore[union-attr]
    assert "timed out" in slow.detail  # type: ignore[union-attr]
    assert "HTTP 404" in gone.detail  # type: ignore[union-attr]
