"""The boundary's one piece of mutable state, the current session, and how its plan comes up.

The session holds the work directory, the :class:`Selection` and the clusters of
the last load, and whether ``init()`` has run. Everything it computes it asks of
the pure pipeline (``seamless_config.core``), and everything it reads or starts
it asks of the effects layer; mistakes come back as values and leave here as
:class:`ConfigurationError`. :func:`bring_up` takes the session's plan to running
services and a connected runtime (``init()``, ``set_stage()``, ``seamless-init``).
"""

from __future__ import annotations

import os
import threading
from typing import Any, NoReturn, TypeVar

import attrs
from returns.result import Failure, Result

from effects.parse_cache import ParseCache, cache_dir
from effects.snapshot import read_snapshot

from .core import selection as sel_mod
from .core.errors import ConfigError, ConfigErrors, Origin, printable, render
from .core.layout import Layout, gather, parse_bytes
from .core.resolve import resolve_layout
from .core.selection import ClusterSet, Resolution, Selection, with_stage
from .core.sources import Snapshot
from .errors import ConfigurationError, ConfigValueError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .core.plan import Plan, ServicePlan

T = TypeVar("T")


class Session:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.workdir: str | None = None
        self.workdir_set = False
        self.selection = Selection()
        self.clusters = ClusterSet()
        self.initialized = False
        #: the last bring-up: its plan's activation, its warm-lane memo, its outcomes
        self.activation: dict[str, Any] | None = None
        self.memo: dict[str, Any] | None = None
        self.outcomes: list[Any] = []
        self.clients_forwarded = False
        self._cache: ParseCache | None = None

    @property
    def parse_cache(self) -> ParseCache:
        if self._cache is None:
            self._cache = ParseCache(cache_dir())
        return self._cache

    def get_workdir(self) -> str:
        return self.workdir if self.workdir is not None else work_directory(None, project_files=False)

    def resolve(self, selection: Selection | None = None, workdir: str | None = None, *,
                project_files: bool = True, seamless_cache: str | None = None) -> Resolution:
        """Read and resolve the configuration, without changing the session (``project_files``:
        whether the project's files are read, or only the home cluster files; ``seamless_cache``:
        a ``SEAMLESS_CACHE`` directory to use instead of the variable's)."""
        where = work_directory(workdir if workdir is not None else self.get_workdir(), project_files)
        snapshot = read_snapshot(where, project_files=project_files)
        if seamless_cache is not None or snapshot.seamless_cache is not None:
            snapshot = with_seamless_cache(snapshot, seamless_cache)
        if snapshot.seamless_cache is not None:  # no file counts: none is parsed
            snapshot = Snapshot(snapshot.workdir, (), (), snapshot.seamless_cache)
        return settled(resolve_layout(self.gather(snapshot), selection if selection is not None else self.selection),
                       value_error=True)

    def gather(self, snapshot: Snapshot) -> Layout:
        """The layout of ``snapshot``, parsed through the parse cache; the home cluster files that
        validated are marked so, and later runs need not check them again."""
        cache = self.parse_cache
        cluster_files = {f.path for f in snapshot.cluster_files}
        layout = gather(snapshot, lambda path, data: cache.parse(path, data, parse_bytes,
                                                                  prevalidated=path in cluster_files))
        flawless = set(layout.flawless_home)
        for f in snapshot.cluster_files:
            if f.data is not None and f.path in flawless:
                cache.mark_valid(f.data)
        return layout

    def load(self) -> None:
        """``load_config_files()``: apply the files to the session's selection."""
        with self.lock:
            res = self.resolve()
            record_changed = res.selection.record != self.selection.record
            self.selection = res.selection
            self.clusters = res.clusters
        if record_changed:
            _invalidate_record_cache()

    def update(self, new: Selection) -> None:
        with self.lock:
            self.selection = new


def work_directory(workdir: str | None, project_files: bool = True) -> str:
    """The absolute directory whose files are read (``None``: the current one), checked to exist."""
    if workdir is None:
        try:
            workdir = os.getcwd()
        except FileNotFoundError:
            raise ConfigurationError("the current directory no longer exists (cd to an existing directory, "
                                     "or pass the project's directory as workdir)") from None
    where = os.path.abspath(workdir)
    if project_files and not os.path.isdir(where):
        what = "is not a directory" if os.path.exists(where) else "does not exist"
        raise ConfigValueError(f"the work directory {printable(where)} {what} (give the directory that holds "
                               "seamless.yaml)")
    return where


def _invalidate_record_cache() -> None:
    """Tell seamless-transformer the record mode changed; only when the runtime already imported it
    (importing it costs about a second)."""
    from effects.runtime import imported

    mod = imported("seamless_transformer.record_runtime")
    if mod is not None and hasattr(mod, "invalidate_record_mode_cache"):
        mod.invalidate_record_mode_cache()


def with_seamless_cache(snapshot: Any, override: str | None = None) -> Any:
    """The snapshot with its ``SEAMLESS_CACHE`` directory (``override``, else the variable's) made
    absolute; an empty value means none."""
    import attrs

    value = (override if override is not None else snapshot.seamless_cache).strip()
    if not value:
        return attrs.evolve(snapshot, seamless_cache=None)
    return attrs.evolve(snapshot, seamless_cache=os.path.abspath(os.path.expanduser(value)))


def cwd_home() -> tuple[str | None, str]:
    """The current directory (``None`` when it is gone) and home: what paths are shown relative to."""
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    return cwd, os.path.expanduser("~")


def rendered(error: ConfigError | ConfigErrors) -> str:
    """A mistake as the user reads it: paths relative to the current directory or ``~``."""
    return render(error, *cwd_home())


def raise_error(error: ConfigError | ConfigErrors, *, value_error: bool = False) -> NoReturn:
    """Raise a mistake as :class:`ConfigurationError`; with ``value_error``, as one that is also a
    ``ValueError`` (where the reference raised ``ValueError``: file contents, ``select_*`` checks)."""
    kind = ConfigValueError if value_error else ConfigurationError
    raise kind(rendered(error)) from None


def settled(result: Result[T, ConfigError | ConfigErrors], *, value_error: bool = False) -> T:
    """A pure stage's value, or its mistake raised (see :func:`raise_error`): the one place where the
    shell unwraps a result."""
    if isinstance(result, Failure):
        raise_error(result.failure(), value_error=value_error)
    return result.unwrap()


def check(error: ConfigError | None) -> None:
    """Raise an API argument's mistake (a ``ValueError`` too, as in the reference)."""
    if error is not None:
        raise_error(error, value_error=True)


SESSION = Session()


def get_cluster_set() -> ClusterSet:
    """The clusters in force: none before the first load, as in 0.3.2 (nothing is read implicitly)."""
    return SESSION.clusters


class ServiceFailure(RuntimeError):
    """A service could not be brought up (not a configuration mistake)."""


#: the seamless-remote module whose ``DISABLED`` flag switches each service off
DISABLE_FLAGS = {
    "hashserver": "seamless_remote.buffer_remote",
    "database": "seamless_remote.database_remote",
    "jobserver": "seamless_remote.jobserver_remote",
    "daskserver": "seamless_remote.daskserver_remote",
    "pure-daskserver": "seamless_remote.daskserver_remote",
}


def disabled_services() -> frozenset[str]:
    """The services the runtime switched off (only modules already imported are asked)."""
    from effects.runtime import imported

    return frozenset(role for role, module in DISABLE_FLAGS.items()
                     if getattr(imported(module), "DISABLED", False) is True)


def current_plan() -> Plan:
    from .core.plan import build_plan  # (here: the resolve commands need no plan)

    res = Resolution(SESSION.selection, SESSION.clusters)
    return settled(build_plan(res, disabled_services()))


def _host_for(sp: ServicePlan):
    from effects.services import host_for

    return host_for(sp.ssh_host, None if sp.ssh_host is None else _where(sp))


def _where(sp: ServicePlan) -> str:
    """How messages name the frontend of a service: ``frontend 'h' of cluster 'c' (file:line)``."""
    ld = sp.launch
    frontend = ld.get("hostname") or sp.ssh_host
    via = f" (ssh {sp.ssh_host})" if sp.ssh_host != frontend else ""
    where = f"frontend {frontend!r}{via} of cluster {ld.cluster!r}"
    return where + (f" ({sp.origin})" if sp.origin is not None else "")


def _idle(activation: dict[str, Any] | None) -> bool:
    """Whether a plan's activation (``None``: none yet) connects nothing."""
    return activation is None or (not activation["roles"] and activation["spawn_workers"] is None)


def _memo_key() -> str | None:
    """The warm lane's key (:mod:`effects.warm`) of the session's plan: the files, the resolved
    selection (what the API chose included) and the services the runtime switched off."""
    from effects import warm

    if warm.memo_dir() is None:
        return None
    sel = SESSION.selection
    fields = [(a.name, sorted(sel.sources.items()) if a.name == "sources" else getattr(sel, a.name))
              for a in attrs.fields(Selection) if a.eq]
    return warm.memo_key(SESSION.get_workdir(), sel.stage, sel.substage,
                         request=["session", fields, sorted(disabled_services())])


def bring_up(reporter: Any = None, activate: bool = True) -> list[Any]:
    """Launch or reuse the current plan's services; then connect the runtime to them.

    The warm lane first: when the session's plan was brought up before (its memo, see
    :func:`_memo_key`) and every service of it answers as it is, they are reused without building
    the plan or loading the launch protocol (the runtime is connected, or its modules imported, while
    the services answer: :class:`_Early`). Otherwise the plan is built and the launcher brings it up,
    and the memo is kept."""
    from effects import warm
    from effects.outcomes import LaunchError, remote_clients
    from effects.statefiles import StateError

    key = _memo_key()
    memo = None if key is None else warm.recall(key)
    outcomes: list[Any] | None = None
    try:
        if memo is not None and isinstance(memo.get("activation"), dict):
            act: dict[str, Any] = memo["activation"]
            if _idle(act) and _idle(SESSION.activation):
                return _settle(act, memo, [])
            early = _Early(act, SESSION.activation is None) if activate else None
            rows = warm.reuse_memo(memo, early)
            if rows is None and early is not None and early.connected:
                early.runtime.deactivate()
            if rows is not None:
                outcomes, clients = _reused(rows)
                for o in outcomes if reporter is not None else ():
                    reporter.done(o)
                if early is not None and early.connected:
                    return _settle(act, memo, outcomes)
        if outcomes is None:
            plan = current_plan()
            act = plan.activation()
            # nothing to launch, nothing connected before: leave the runtime as it is
            idle = _idle(act) and _idle(SESSION.activation)
            if idle:
                outcomes = []
            else:
                from effects import launcher

                outcomes = launcher.bring_up(plan.services, _host_for, reporter)
            clients = remote_clients(plan.services, outcomes)
            memo = {"services": warm.memo_services(plan.services, outcomes), "activation": act}
            if key is not None:
                warm.store(key, memo["services"], act)
            if idle:
                return _settle(act, memo, [])
    except StateError as exc:
        import errno

        if exc.errno == errno.EINVAL:  # the state directory's variable is a configuration mistake
            raise ConfigurationError(str(exc)) from None
        raise ServiceFailure(str(exc).replace("\n", " ")) from None
    except LaunchError as exc:  # a state directory that cannot be written: full, read-only
        if exc.mistake is not None:  # a queue its batch system cannot serve
            raise ConfigurationError(rendered(exc.mistake)) from None
        raise ServiceFailure(str(exc)) from None
    _settle(act, memo, outcomes)
    if activate:
        from effects import runtime

        runtime.activate(act, outcomes, clients)
    return outcomes


def _settle(activation: dict[str, Any], memo: dict[str, Any] | None, outcomes: list[Any]) -> list[Any]:
    """Keep what a bring-up gave in the session (``memo``: for ``seamless-init`` to keep under its own key)."""
    SESSION.activation, SESSION.memo, SESSION.outcomes = activation, memo, outcomes
    return outcomes


def _reused(rows: list[dict[str, Any]]) -> tuple[list[Any], dict[str, list[dict[str, Any]]]]:
    """The outcomes of the warm lane's rows (:func:`effects.warm.reuse_memo`), and their storage clients."""
    from effects.outcomes import Outcome

    from .core.clients import storage_clients
    from .core.frozen import EMPTY, frozen_map

    return ([Outcome(r["role"], r["key"], r["host"], "reused", r["hostname"], r["port"], r["client"],
                     r.get("seconds", 0.0), frozen_map(r["timeline"]) if "timeline" in r else EMPTY) for r in rows],
            storage_clients(r["facts"] for r in rows))


class _Early:
    """What a warm bring-up does while the services' health answers are on their way: import the
    runtime's modules the plan's activation needs and, when nothing was connected before (the
    first ``init()`` of a process) and the plan starts no workers and has no Dask scheduler,
    connect the runtime at once. If a service then does not answer, the connection is undone and
    the launcher takes over; a connection that failed is made again, and its error reported, once
    every service answered."""

    def __init__(self, activation: dict[str, Any], connect: bool) -> None:
        from effects import runtime

        from .core.clients import STORAGE

        self.runtime, self.activation, self.connected = runtime, activation, False
        # (not a Dask client: it would wait up to its own timeout for a scheduler that is down)
        self.connect = (connect and activation["spawn_workers"] is None
                        and set(activation["roles"]) <= {*STORAGE, "jobserver"})

    def __call__(self, rows: list[dict[str, Any]]) -> None:
        if not self.connect:
            self.runtime.prepare(self.activation)
            return
        try:
            self.runtime.activate(self.activation, *_reused(rows))
        except Exception:  # noqa: BLE001 - made again, and reported, once the services answered
            self.runtime.deactivate()
            return
        self.connected = True


def activate() -> None:
    """Bring up what the current selection's plan needs (maybe nothing) and connect the runtime; a
    service that cannot come up is a :class:`ConfigurationError` for the API's callers."""
    try:
        bring_up()
    except ServiceFailure as exc:
        raise ConfigurationError(str(exc)) from None


def bring_up_current(stage: str | None, substage: str | None, *, workdir: str, reporter: Any = None,
                     activate: bool = True) -> list[Any]:
    """What ``seamless-init`` does: load the configuration of ``workdir`` for a stage, bring it up."""
    SESSION.workdir = os.path.abspath(workdir)
    SESSION.workdir_set = True
    SESSION.update(with_stage(SESSION.selection, stage, substage, Origin("(command line)")))
    SESSION.load()
    if reporter is not None:  # what init() warns of (storage only; storage that OAR deletes)
        from .core.selection import load_notes

        for note in load_notes(Resolution(SESSION.selection, SESSION.clusters)):
            reporter.warning(rendered(note))
    return bring_up(reporter, activate=activate)


__all__ = ["SESSION", "Session", "ConfigurationError", "raise_error", "check", "sel_mod", "activate", "bring_up",
           "bring_up_current", "current_plan", "ServiceFailure"]
