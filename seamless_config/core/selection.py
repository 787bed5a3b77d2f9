"""The selection: folding commands into the current choice of cluster, project,
stage, execution mode and the rest.

:class:`Selection` is the whole state; every change is a pure function
returning a new one. Settings remember their *source*: ``"command"`` for values
that came from a file (a reload forgets them, so a removed command stops
counting), ``"manual"`` (or any other string) for values chosen through the
API (they survive reloads until a file command overrides them), ``None`` for
"not explicitly chosen". ``cluster``, ``project``, ``subproject`` and
``nparallel`` are not reset by a reload, as in seamless-config 0.3.2.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs
from returns.result import Failure, Result, Success

from . import names
from .clusters import (
    Cluster,
    ClustersCommand,
    Frontend,
    InvalidCluster,
    LazyCluster,
    ServiceSpec,
    built,
)
from .commands import EXECUTION_MODES, REMOTE_TARGETS, Command, Document, walk
from .errors import (
    CONFLICT,
    DEFAULT_ORIGIN,
    INVALID_CHOICE,
    NOTHING_SELECTED,
    PURGED_STORAGE,
    UNKNOWN_CLUSTER,
    UNKNOWN_QUEUE,
    WRONG_TYPE,
    ConfigError,
    ConfigErrors,
    Origin,
    did_you_mean,
    unknown_cluster,
)
from .frozen import EMPTY, FrozenDict, frozen_map
from .names import PROJECT_TOPLEVEL, SEAMLESS_CACHE_CLUSTER  # noqa: E402 - re-exported
from .results import split

#: settings a reload resets when a file command set them
TRACKED = ("execution", "persistent", "record", "queue", "remote", "node")
_INITIAL: dict[str, Any] = {
    "execution": "process",
    "persistent": None,
    "record": False,
    "queue": None,
    "remote": None,
    "node": None,
}


def api_origin(function: str) -> Origin:
    return Origin(f"(set by {function}())")


@attrs.frozen
class Selection:
    cluster: str | None = None
    project: str | None = None
    subproject: str | None = None
    stage: str | None = None
    substage: str | None = None
    execution: str = "process"
    persistent: bool | None = None
    record: bool = False
    queue: str | None = None
    queue_cluster: str | None = None
    remote: str | None = None
    node: str | None = None
    nparallel: int | None = None
    #: source per tracked setting (absent: None)
    sources: FrozenDict = attrs.field(default=EMPTY, converter=frozen_map)
    #: where each setting was last set (absent: default)
    origins: FrozenDict = attrs.field(default=EMPTY, eq=False, converter=frozen_map)

    def source(self, name: str) -> Any:
        return self.sources.get(name)

    def origin(self, name: str) -> Origin:
        return self.origins.get(name, DEFAULT_ORIGIN)  # type: ignore[no-any-return]

    # -- the getters, with their defaults -------------------------------------------------
    def effective_execution(self) -> str:
        if self.source("execution") is None and self.cluster is not None:
            return "remote"
        return self.execution

    def effective_persistent(self, cluster: str | None = None) -> bool:
        if self.persistent is not None:
            return self.persistent
        return (cluster if cluster is not None else self.cluster) is not None

    def effective_queue(self, cluster: str | None = None) -> str | None:
        c = cluster if cluster is not None else self.cluster
        return self.queue if self.queue_cluster == c else None

    def command_seen(self, name: str) -> bool:
        return self.source(name) == "command"


def _set(sel: Selection, name: str, value: Any, origin: Origin, source: Any = ..., **extra: Any) -> Selection:
    changes: dict[str, Any] = {name: value, **extra}
    if source is not ...:
        sources = dict(sel.sources)
        if source is None:
            sources.pop(name, None)
        else:
            sources[name] = source
        changes["sources"] = sources
    origins = dict(sel.origins)
    origins[name] = origin
    changes["origins"] = origins
    return attrs.evolve(sel, **changes)


def select_cluster(sel: Selection, cluster: str | None, origin: Origin, source: Any = "manual") -> Selection:
    """Select a cluster; a queue chosen for another cluster is dropped.

    >>> s = select_queue_unchecked(select_cluster(Selection(), "a", DEFAULT_ORIGIN), "q", DEFAULT_ORIGIN)
    >>> select_cluster(s, "a", DEFAULT_ORIGIN).queue, select_cluster(s, "b", DEFAULT_ORIGIN).queue
    ('q', None)
    """
    sel = _set(sel, "cluster", cluster, origin, source)
    if cluster is None or sel.queue_cluster != cluster:
        if sel.queue is not None or sel.queue_cluster is not None or sel.source("queue") is not None:
            sel = _set(sel, "queue", None, DEFAULT_ORIGIN, None, queue_cluster=None)
    return sel


def select_queue_unchecked(sel: Selection, queue: str, origin: Origin, source: Any = "manual") -> Selection:
    return _set(sel, "queue", queue, origin, source, queue_cluster=sel.cluster)


def check_queue(sel: Selection, queue: str, clusters: ClusterSet | dict[str, Cluster], origin: Origin | None) -> ConfigError | None:
    """Why ``queue`` cannot be selected now, or ``None``."""
    if sel.cluster is None:
        return NOTHING_SELECTED("cannot select a queue without selecting a cluster first", origin,
                           "put '- cluster: NAME' before '- queue: ...'")
    cluster = clusters.get(sel.cluster)
    if cluster is None:
        return unknown_cluster(sel.cluster, clusters, origin)
    if not cluster.queues:
        return UNKNOWN_QUEUE(f"cluster {sel.cluster!r} has no queues", origin, "define them under 'queues:' in the cluster")
    if cluster.queue(queue) is None:
        return UNKNOWN_QUEUE(f"cluster {sel.cluster!r} has no queue {queue!r}", origin,
                           did_you_mean(queue, cluster.queue_names()))
    return None


def select_tracked(sel: Selection, name: str, value: Any, origin: Origin, source: Any = "manual") -> Selection:
    """Set one of the source-tracked settings (execution, persistent, record, remote, node)."""
    assert name in TRACKED and name != "queue"
    return _set(sel, name, value, origin, source)


#: settings that stay until changed, but that a reload forgets when the files set them, so that
#: leaving a stage (``set_stage(None)``) restores what the files select without it
STICKY_FROM_FILES = ("cluster", "project", "subproject", "nparallel")


def reset_before_load(sel: Selection, only: Iterable[str] = TRACKED + STICKY_FROM_FILES) -> Selection:
    """Forget the settings that the previous load's file commands set."""
    for name in only:
        if sel.source(name) == "command":
            extra = {"queue_cluster": None} if name == "queue" else {}
            sel = _set(sel, name, _INITIAL.get(name), DEFAULT_ORIGIN, None, **extra)
    return sel


# -- clusters ---------------------------------------------------------------------------------


@attrs.frozen
class ClusterSet:
    """All cluster definitions in force, and which one is this machine's.

    Works as a read-only mapping from cluster name to :class:`Cluster`;
    definitions that validated before are built only when looked up.
    """

    clusters: tuple[Cluster | LazyCluster, ...] = ()
    local_cluster: str | None = None
    #: definitions with mistakes that a later definition of the same name replaced (never used)
    replaced: tuple[InvalidCluster, ...] = attrs.field(default=(), eq=False)
    #: the clusters by name, built once with the record
    _index: FrozenDict = attrs.field(init=False, eq=False, repr=False, default=attrs.Factory(
        lambda self: FrozenDict((c.name, c) for c in self.clusters), takes_self=True))

    def names(self) -> tuple[str, ...]:
        return tuple(self._index)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def get(self, name: str) -> Cluster | None:
        c = self._index.get(name)
        return None if c is None else built(c)

    def named(self, name: str, origin: Origin | None = None, extra: str = "") -> Result[Cluster, ConfigError]:
        """The cluster ``name``, or the "unknown cluster" mistake (``extra``: more of the hint)."""
        c = self.get(name)
        return Failure(unknown_cluster(name, self._index, origin, extra)) if c is None else Success(c)

    def as_dict(self) -> dict[str, Cluster]:
        """Every cluster, built (slow for thousands of definitions: prefer :meth:`get`)."""
        return {name: built(c) for name, c in self._index.items()}


def merge_cluster_sets(sets: Sequence[ClustersCommand]) -> Result[ClusterSet, ConfigErrors]:
    """Combine cluster definitions; a later definition replaces an earlier one of the same name."""
    merged: dict[str, Cluster | LazyCluster | InvalidCluster] = {}
    replaced: list[InvalidCluster] = []
    local = None
    local_origin = None
    for cc in sets:
        for c in cc.clusters:
            old = merged.pop(c.name, None)
            if isinstance(old, InvalidCluster):
                replaced.append(old)
            merged[c.name] = c
        if cc.local_cluster is not None:
            local, local_origin = cc.local_cluster, cc.local_cluster_origin
    errors = [e for c in merged.values() if isinstance(c, InvalidCluster) for e in c.errors]
    if local is not None and local not in merged:
        errors.append(UNKNOWN_CLUSTER(f"local_cluster names unknown cluster {local!r}", local_origin,
                                  did_you_mean(local, merged)))
    if errors:
        return Failure(ConfigErrors(tuple(errors)))
    valid = tuple(c for c in merged.values() if not isinstance(c, InvalidCluster))
    return Success(ClusterSet(valid, local, tuple(replaced)))


def seamless_cache_cluster(directory: str) -> Cluster:
    """The synthetic local cluster of ``SEAMLESS_CACHE`` mode: buffers and database in one directory."""
    frontend = Frontend(
        hostname="localhost",
        hashserver=ServiceSpec("hashserver", directory),
        database=ServiceSpec("database", directory),
    )
    return Cluster(name=SEAMLESS_CACHE_CLUSTER, type="local", frontends=(frontend,), origin=Origin("$SEAMLESS_CACHE"))


# -- stage filtering --------------------------------------------------------------------------


def active_items(documents: Sequence[Document], stage: str | None) -> list[Command | ClustersCommand]:
    """The commands that apply in ``stage``, in order; stage blocks of other stages drop out.

    >>> from .commands import parse_document
    >>> from .yamltree import parse_yaml
    >>> d = parse_document("s", parse_yaml("s", "- project: a\\n- stage prod:\\n    - project: b\\n").unwrap()).unwrap()
    >>> [c.value for c in active_items([d], "prod")], [c.value for c in active_items([d], None)]
    (['a', 'b'], ['a'])
    """
    return [item for item, _ in walk(documents, stage)]


# -- folding file commands --------------------------------------------------------------------


def apply_command(sel: Selection, cmd: Command, clusters: ClusterSet | dict[str, Cluster]) -> Result[Selection, ConfigError]:
    """One file command applied to the selection (source ``"command"``)."""
    name, value, origin = cmd.name, cmd.value, cmd.origin
    if name == "cluster":
        # an unknown name is fine here: a later command may select another (projects are shared
        # between machines that define different clusters); the plan needs the final one to exist
        # only when it uses it (for services or workers), as the reference
        return Success(select_cluster(sel, value, origin, "command"))
    if name in ("project", "subproject", "nparallel"):
        return Success(_set(sel, name, value, origin, "command"))
    if name == "queue":
        err = check_queue(sel, value, clusters, origin)
        if err is not None:
            return Failure(err)
        return Success(select_queue_unchecked(sel, value, origin, "command"))
    return Success(select_tracked(sel, name, value, origin, "command"))


@attrs.frozen
class Resolution:
    """The outcome of a load: the selection and the clusters in force."""

    selection: Selection
    clusters: ClusterSet


def load(
    sel: Selection,
    documents: Sequence[Document],
    home_clusters: Sequence[ClustersCommand],
    *,
    seamless_cache: str | None = None,
) -> Result[Resolution, ConfigErrors]:
    """Apply the configuration files to ``sel``, as a reload does.

    Tracked settings set by the previous load's commands are forgotten first;
    ``clusters`` commands run before all others; the rest run in order. On any
    mistake the whole load fails and ``sel`` is left as it was.
    """
    # under SEAMLESS_CACHE the files are not read: what they selected before stays (the project)
    sel = reset_before_load(sel, TRACKED if seamless_cache is not None else TRACKED + STICKY_FROM_FILES)
    if seamless_cache is not None:
        cache = seamless_cache_cluster(seamless_cache)
        origin = Origin("$SEAMLESS_CACHE")
        sel = select_cluster(sel, SEAMLESS_CACHE_CLUSTER, origin)
        sel = select_tracked(sel, "execution", "process", origin, "manual")
        sel = select_tracked(sel, "persistent", True, origin, "manual")
        if sel.project is None:
            sel = _set(sel, "project", PROJECT_TOPLEVEL, origin)
        return Success(Resolution(sel, ClusterSet((cache,), SEAMLESS_CACHE_CLUSTER)))
    items = active_items(documents, sel.stage)
    inline = [i for i in items if isinstance(i, ClustersCommand)]
    return merge_cluster_sets(list(home_clusters) + inline).bind(
        lambda clusters: _apply_all(sel, [i for i in items if not isinstance(i, ClustersCommand)], clusters))


def _apply_all(sel: Selection, commands: Sequence[Command], clusters: ClusterSet) -> Result[Resolution, ConfigErrors]:
    """The commands applied in order; a command with a mistake is skipped, so that every mistake is reported."""
    errors: list[ConfigError] = []
    for command in commands:
        applied, mistakes = split(apply_command(sel, command, clusters).alt(lambda e: (e,)))
        sel = applied if applied is not None else sel
        errors += mistakes
    return Failure(ConfigErrors(tuple(errors))) if errors else Success(Resolution(sel, clusters))


def execution_notes(sel: Selection) -> tuple[str, ...]:
    """What a load leaves to defaults that the user may not expect, as warnings (the reference's).

    >>> execution_notes(Selection())[0]
    "No 'execution' command found; Seamless falls back to 'process'"
    >>> execution_notes(_set(Selection(), "execution", "process", DEFAULT_ORIGIN, "command"))
    ("No cluster defined; running without persistence (define a cluster when using 'execution: remote')",)
    """
    notes = []
    if sel.source("execution") is None:
        notes.append("No 'execution' command found; Seamless defaults to 'remote' because a cluster is defined"
                     if sel.cluster is not None else "No 'execution' command found; Seamless falls back to 'process'")
    if sel.cluster is None and sel.effective_execution() != "remote" and sel.source("persistent") is None:
        notes.append("No cluster defined; running without persistence (define a cluster when using 'execution: remote')")
    return tuple(notes)


#: where OAR deletes every file of a job's user when the job ends (its job_resource_manager.pl)
OAR_PURGED = ("/tmp", "/dev/shm", "/var/tmp")


def load_notes(res: Resolution) -> tuple[ConfigError, ...]:
    """What a load should warn of, though nothing stops it: no remote target on a cluster selected for
    remote work, and storage where OAR deletes files."""
    target = remote_target_note(res)
    return ((target,) if target is not None else ()) + purge_notes(res)


def purge_notes(res: Resolution) -> tuple[ConfigError, ...]:
    """On the selected cluster, if it is of type oar, each storage directory under a path OAR empties of
    the job user's files when a job ends: the buffers or results of a whole project, gone.

    >>> from .clusters import Frontend, ServiceSpec
    >>> fe = Frontend("n", hashserver=ServiceSpec("hashserver", "/tmp/buffers"), database=ServiceSpec("database", "/data/db"))
    >>> c = Cluster("lab", type="oar", frontends=(fe,))
    >>> sel = _set(Selection(), "cluster", "lab", None, "command")
    >>> [e.message for e in purge_notes(Resolution(sel, ClusterSet((c,))))]  # doctest: +ELLIPSIS
    ["cluster 'lab' is of type oar, and the hashserver's bufferdir /tmp/buffers is under /tmp, where OAR deletes ..."]
    """
    sel = res.selection
    cluster = res.clusters.get(sel.cluster) if sel.cluster is not None else None
    if cluster is None or cluster.type != "oar" or not sel.effective_persistent():
        return ()
    out = []
    for fe in cluster.frontends:
        for spec, field in ((fe.hashserver, "bufferdir"), (fe.database, "database_dir")):
            path = spec.directory if spec is not None else None
            if not path:
                continue
            norm = "/" + "/".join(p for p in path.split("/") if p and p != ".")
            under = next((d for d in OAR_PURGED if norm == d or norm.startswith(d + "/")), None)
            if under is None:
                continue
            assert spec is not None
            out.append(PURGED_STORAGE(
                f"cluster {cluster.name!r} is of type oar, and the {spec.service}'s {field} {path} is under "
                f"{under}, where OAR deletes every file of a job's user when the job ends",
                spec.origins.get(field) or spec.origin or fe.origin,
                f"move '{field}' to a directory outside {', '.join(OAR_PURGED)}"))
    return tuple(out)


def remote_target_note(res: Resolution) -> ConfigError | None:
    """The warning for ``execution: remote`` (set, or the default) on a cluster without a jobserver or daskserver."""
    sel = res.selection
    cluster = res.clusters.get(sel.cluster) if sel.cluster is not None else None
    if cluster is None or sel.effective_execution() != "remote":
        return None
    if check_remote_redundancy(sel, cluster) != Success(None):  # a remote target, or a mistake said elsewhere
        return None
    if sel.source("execution") is None:  # the default: point at what made it
        return CONFLICT(
            f"execution defaults to 'remote' because cluster {cluster.name!r} is selected here, but it offers "
            "neither a jobserver nor a daskserver: only storage is brought up, and transformations cannot run",
            sel.origin("cluster"),
            "for storage only add '- execution: process' (or spawn) to seamless.profile.yaml; for remote "
            "work add a 'jobserver:' or 'daskserver:' section to a frontend")
    return CONFLICT(
        f"execution is 'remote' but cluster {cluster.name!r} offers neither a jobserver nor a daskserver: only "
        "storage is brought up, and transformations cannot run", sel.origin("execution"),
        "add a 'jobserver:' or 'daskserver:' section to a frontend, or use '- execution: process'")


def validate_api_name(kind: str, value: Any) -> ConfigError | None:
    """Names given through the API are held to the same rules as names in files."""
    if value is None and kind != "project":
        return None
    if not isinstance(value, str):
        return WRONG_TYPE(f"{kind} must be a string, not {type(value).__name__}")
    return names.check_name(kind, value, None)


def validate_api_value(name: str, value: Any) -> ConfigError | None:
    if name == "execution":
        if not isinstance(value, str) or value not in EXECUTION_MODES:
            return INVALID_CHOICE(f"execution must be one of: {', '.join(EXECUTION_MODES)} (got {value!r})")
    elif name == "remote":
        if value not in REMOTE_TARGETS:
            return INVALID_CHOICE(f"remote must be one of: None, daskserver, jobserver (got {value!r})")
    elif name in ("persistent", "record"):
        if not isinstance(value, bool):
            return WRONG_TYPE(f"{name} must be a boolean (got {value!r})")
    elif name == "node":
        if value is not None and not isinstance(value, str):
            return WRONG_TYPE(f"node must be a string or null (got {value!r})")
        if value is not None and (err := names.check_name("node", value, None)) is not None:
            return err
    elif name == "nparallel":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return WRONG_TYPE(f"nparallel must be a positive integer (got {value!r})")
    return None


def with_stage(sel: Selection, stage: str | None, substage: str | None, origin: Origin) -> Selection:
    sel = _set(sel, "stage", stage, origin)
    return _set(sel, "substage", substage, origin)


def set_sticky(sel: Selection, name: str, value: Any, origin: Origin) -> Selection:
    assert name in ("project", "subproject", "nparallel", "stage", "substage")
    return _set(sel, name, value, origin, "manual" if name in STICKY_FROM_FILES else ...)


def check_remote_redundancy(sel: Selection, cluster: Cluster) -> Result[str | None, ConfigError]:
    """Which remote a cluster offers: the pinned one, else the only one; both unpinned is a mistake."""
    if sel.remote is not None:
        return Success(sel.remote)
    has_job = has_dask = False
    for fe in cluster.frontends:
        if fe.jobserver is not None and fe.daskserver is not None:
            return Failure(CONFLICT(
                f"cluster {cluster.name!r}, frontend {fe.hostname!r} offers both a jobserver and a daskserver",
                cluster.origin, "choose one with '- remote: jobserver' or '- remote: daskserver' in seamless.profile.yaml"))
        has_job |= fe.jobserver is not None
        has_dask |= fe.daskserver is not None
    if has_job and has_dask:
        return Failure(CONFLICT(
            f"cluster {cluster.name!r} offers both a jobserver and a daskserver",
            cluster.origin, "choose one with '- remote: jobserver' or '- remote: daskserver' in seamless.profile.yaml"))
    return Success("jobserver" if has_job else "daskserver" if has_dask else None)
