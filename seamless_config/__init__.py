"""seamless-config: where a Seamless pipeline runs, and against which storage.

``init()`` reads ``seamless.yaml`` / ``seamless.profile.yaml`` (and the cluster
definitions in ``~/.seamless/``), brings up the services the selection needs
and connects the Seamless runtime to them. ``set_stage()`` switches to another
stage, with its own storage. Importing this package is cheap; the work happens
on the first call.
"""

from __future__ import annotations

import os
import sys

from .errors import ConfigurationError

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module
if TYPE_CHECKING:
    from typing import Any

__version__ = "0.4.0"

_UNSET: Any = object()


def _session():  # deferred: keeps ``import seamless_config`` fast
    from .session import SESSION

    return SESSION


def _caller_dir(depth: int) -> str | None:
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:
        return None
    filename = frame.f_globals.get("__file__")
    if not filename:
        return None
    return os.path.dirname(os.path.abspath(filename))


def get_seamless_cache() -> str | None:
    """The ``SEAMLESS_CACHE`` directory (absolute), or ``None`` when unset."""
    value = os.environ.get("SEAMLESS_CACHE", "").strip()
    if not value:
        return None
    return os.path.abspath(os.path.expanduser(value))


def get_workdir() -> str:
    """The directory whose configuration files are read (default: the current directory)."""
    return _session().get_workdir()


def _apply_workdir(workdir: Any, depth: int) -> None:
    s = _session()
    if workdir is _UNSET:
        if not s.workdir_set:
            d = _caller_dir(depth + 1)
            s.workdir = d
            s.workdir_set = True
        return
    s.workdir = None if workdir is None else os.path.abspath(os.fspath(workdir))
    s.workdir_set = True


def _not_forwarded(what: str) -> None:
    """A process handed its clients (``set_remote_clients``) keeps them: as the reference, refuse."""
    if _session().clients_forwarded:
        raise ConfigurationError(f"remote clients already set; {what} cannot be changed")


def set_workdir(workdir: Any = _UNSET) -> None:
    """Read configuration from ``workdir``; without an argument, from the caller's file's directory."""
    _not_forwarded("workdir")
    s = _session()
    if workdir is _UNSET:
        s.workdir = _caller_dir(1)
    else:
        s.workdir = None if workdir is None else os.path.abspath(os.fspath(workdir))
    s.workdir_set = True


def _is_seamless_worker() -> bool:
    mod = sys.modules.get("seamless")
    probe = getattr(mod, "is_worker", None) if mod is not None else None
    try:
        return bool(probe()) if callable(probe) else False
    except Exception:
        return False


def _activate() -> None:
    from .session import activate

    activate()


def _warn_defaults() -> None:
    """After a load: say which defaults decide where work runs (the reference's warnings)."""
    from .core.selection import Resolution, execution_notes, load_notes

    s = _session()
    notes = list(execution_notes(s.selection))
    more = load_notes(Resolution(s.selection, s.clusters))
    if more:
        from .session import rendered

        notes += [rendered(n) for n in more]
    if notes:
        import warnings

        for note in notes:
            warnings.warn(note, UserWarning, stacklevel=3)


def init(*, workdir: Any = _UNSET) -> None:
    """Read the configuration and bring the selected services up; a no-op when already done."""
    s = _session()
    if _is_seamless_worker() or s.initialized:
        return
    with s.lock:
        from .core.errors import Origin
        from .core.selection import with_stage

        _apply_workdir(workdir, 1)
        s.update(with_stage(s.selection, None, None, Origin("(init)")))
        s.load()
        _warn_defaults()
        _activate()
        s.initialized = True


def set_stage(stage: str | None = None, substage: str | None = None, *, workdir: Any = _UNSET) -> None:
    """Switch to ``stage`` (and ``substage``): re-read the files and re-activate."""
    from .core import selection as S
    from .core.errors import Origin
    from .session import check

    _not_forwarded("stage")
    s = _session()
    check(S.validate_api_name("stage", stage))
    check(S.validate_api_name("substage", substage))
    with s.lock:
        _apply_workdir(workdir, 1)
        s.update(S.with_stage(s.selection, stage, substage, Origin("(set by set_stage())")))
        s.load()
        _warn_defaults()
        if _is_seamless_worker():
            return
        _activate()
        s.initialized = True


def set_substage(substage: str | None = None) -> None:
    """Switch substage within the current stage."""
    s = _session()
    workdir = s.workdir if s.workdir_set else _caller_dir(1)
    set_stage(s.selection.stage, substage, workdir=workdir)


def change_stage() -> None:
    """Re-activate for the current selection without reading the files again."""
    s = _session()
    with s.lock:
        _activate()
        s.initialized = True


def set_nparallel(nparallel: int) -> None:
    """How many transformations may run at once in this process."""
    from . import select

    select.select_nparallel(nparallel)


def get_nparallel() -> int:
    from . import select

    return select.get_nparallel()


def select_record(record: bool) -> None:
    """Full execution records (``True``) or minimal ones; the Python form of ``record: true``."""
    from . import select

    select.select_record(record)


def collect_remote_clients(cluster: str | None) -> dict[str, list[dict[str, Any]]]:
    """The active buffer and database clients, for forwarding to worker processes."""
    from .extern_clients import collect_remote_clients as collect

    return collect(cluster)


def set_remote_clients(clients: dict[str, list[dict[str, Any]]], in_remote: bool = False) -> None:
    """Connect to the clients ``collect_remote_clients`` gave (before ``init()``)."""
    from .extern_clients import set_remote_clients as setter

    setter(clients, in_remote=in_remote)


__all__ = [
    "init",
    "set_stage",
    "set_substage",
    "set_workdir",
    "set_nparallel",
    "get_nparallel",
    "select_record",
    "collect_remote_clients",
    "set_remote_clients",
    "ConfigurationError",
]
