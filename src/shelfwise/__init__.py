"""shelfwise: search and recommendations for online shops, behind a data-quality gate."""

from shelfwise.settings import Settings

__all__ = ["Engine", "Settings", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # The engine pulls in every layer; import it only when asked for so that
    # `import shelfwise.domain` stays light.
    if name == "Engine":
        from shelfwise.engine import Engine

        return Engine
    raise AttributeError(name)
