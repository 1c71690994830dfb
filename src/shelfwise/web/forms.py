"""Reading url-encoded form posts without a multipart dependency (the pages post only small forms)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from starlette.requests import Request

MAX_FORM_BYTES = 64 * 1024


async def read_form(request: Request) -> dict[str, list[str]]:
    """The posted fields, each with its values; an oversized form reads as empty."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    """A field's first value, stripped, or `default` when it was not posted."""
    values = form.get(name)
    return values[0].strip() if values else default


def local_path(target: str, fallback: str = "/") -> str:
    """Only redirect within this site: an absolute URL or a scheme-relative one falls back."""
    parts = urlsplit(target)
    if not target.startswith("/") or target.startswith("//") or parts.scheme or parts.netloc:
        return fallback
    return target
