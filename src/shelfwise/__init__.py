"""shelfwise: search and recommendations for online shops, behind a data-quality gate."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shelfwise.engine import Engine
    from shelfwise.settings import Settings

__all__ = ["Engine", "Settings", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The engine and the settings tree pull in every layer (the settings hold every component's config);
    # import them only when asked for so that `import shelfwise.domain` stays light.
    if name == "Engine":
        from shelfwise.engine import Engine

        return Engine
    if name == "Settings":
        from shelfwise.settings import Settings

        return Settings
    raise AttributeError(name)
