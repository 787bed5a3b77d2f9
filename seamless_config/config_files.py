"""Reading the configuration files (runtime-compatible API)."""

from __future__ import annotations

from .core.selection import PROJECT_TOPLEVEL, SEAMLESS_CACHE_CLUSTER
from .session import SESSION

CONFIG_FILENAMES = ("seamless.yaml", "seamless.profile.yaml")
INHERIT_COMMAND = "inherit_from_parent"


def load_config_files() -> None:
    """Read the files of the current work directory and stage and apply their commands.

    Launches nothing. Raises :class:`~seamless_config.ConfigurationError` on any
    mistake, leaving the selection as it was.
    """
    SESSION.load()


__all__ = ["load_config_files", "CONFIG_FILENAMES", "INHERIT_COMMAND", "PROJECT_TOPLEVEL", "SEAMLESS_CACHE_CLUSTER"]
