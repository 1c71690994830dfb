"""The web pages: a storefront over search and recommendations, and admin pages for data, models and
rules. Server-rendered (Jinja2) with a little plain JavaScript; no build step, nothing from a CDN."""

from shelfwise.web.context import WebContext
from shelfwise.web.mount import mount_web
from shelfwise.web.security import ADMIN_COOKIE, SHOP_COOKIE

__all__ = ["ADMIN_COOKIE", "SHOP_COOKIE", "WebContext", "mount_web"]
