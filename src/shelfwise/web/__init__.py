"""The web pages: a storefront over search and recommendations, and admin pages for data, models and
rules. Server-rendered (Jinja2) with a little plain JavaScript; no build step, nothing from a CDN."""

from shelfwise.web.auth import ADMIN_COOKIE
from shelfwise.web.mount import mount_web

__all__ = ["ADMIN_COOKIE", "mount_web"]
