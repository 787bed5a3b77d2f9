"""The plan: which services a selection needs, where each runs, and what to activate.

:func:`build_plan` is the last pure stage. The effects layer receives a
:class:`Plan` and only carries it out: it launches or reuses each
:class:`ServicePlan` on the host named there, checks it answers, and connects
the runtime's clients as the plan says.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from returns.result import Failure, Result, Success

from .clients import STORAGE
from .clusters import Cluster
from .errors import (
    CONFLICT,
    MISSING,
    NOTHING_SELECTED,
    ConfigError,
    Origin,
    unknown_cluster,
)
from .launch import (
    LaunchDict,
    launch_dict,
)
from .results import sequence
from .selection import Resolution, check_remote_redundancy
from .services import Scope, runs_here

if TYPE_CHECKING:
    from .batch import BatchAsk


@attrs.frozen
class ServicePlan:
    """One service to bring up."""

    role: str  # hashserver, database, jobserver, daskserver, pure-daskserver
    launch: LaunchDict
    #: ``None``: this machine, without SSH; else the SSH destination
    ssh_host: str | None
    tunnel: bool
    #: host and path of the health check, and the state field holding its port
    check_path: str
    check_port_field: str
    readonly: bool = False
    #: where the frontend that runs it was defined (for messages about reaching it)
    origin: Origin | None = attrs.field(default=None, eq=False)
    #: a daskserver on a slurm or oar cluster: what its queue asks of the batch system, checked
    #: before it is launched (core.batch)
    batch: BatchAsk | None = None

    @property
    def key(self) -> str:
        return self.launch.key

    def as_dict(self) -> dict[str, Any]:
        return self.launch.as_dict()


@attrs.frozen
class DaskClient:
    """How this process's Seamless Dask client is made for a daskserver of the plan."""

    #: the worker plugin's workers per Dask worker: the queue's ``cores`` (1 when unset)
    workers: int
    #: the daskserver runs a ``distributed.LocalCluster`` (not batch jobs)
    local_cluster: bool
    #: the queue's ``interactive``
    interactive: bool

    @classmethod
    def of(cls, launch: LaunchDict) -> DaskClient:
        fp = launch.get("file_parameters") or {}
        return cls(int(fp.get("cores") or 1), "LocalCluster" in (launch.get("cluster_string") or ""),
                   bool(fp.get("interactive")))


@attrs.frozen
class Plan:
    """Everything ``init()`` must do for one selection."""

    cluster: str | None
    project: str | None
    subproject: str | None
    stage: str | None
    substage: str | None
    execution: str
    remote: str | None
    persistent: bool
    record: bool
    nparallel: int | None
    services: tuple[ServicePlan, ...] = ()
    #: worker processes to spawn (``execution: spawn``); :data:`SPAWN_PER_CPU` for one per CPU
    spawn_workers: int | None = None

    def service(self, role: str) -> ServicePlan | None:
        for s in self.services:
            if s.role == role:
                return s
        return None

    @property
    def dask_client(self) -> DaskClient | None:
        """The Seamless Dask client to make, when the plan has a (non-pure) daskserver."""
        sp = self.service("daskserver")
        return None if sp is None else DaskClient.of(sp.launch)

    def activation(self) -> dict[str, Any]:
        """What connecting the runtime needs of the plan, as plain values (the warm lane keeps them
        in its memo, so that a warm ``init()`` connects without building a plan): the cluster, the
        services' roles, ``persistent``, ``spawn_workers`` and the Dask client's settings.

        >>> Plan(None, None, None, None, None, "spawn", None, False, False, None, spawn_workers=3).activation()
        {'cluster': None, 'roles': [], 'persistent': False, 'spawn_workers': 3, 'dask_client': None}
        """
        dc = self.dask_client
        return {"cluster": self.cluster, "roles": [s.role for s in self.services], "persistent": self.persistent,
                "spawn_workers": self.spawn_workers, "dask_client": None if dc is None else attrs.asdict(dc)}


def _service_plan(role: str, launch: LaunchDict, cluster: Cluster, local_cluster: str | None, readonly: bool = False) -> ServicePlan:
    here = runs_here(cluster, launch, local_cluster)
    ssh_host = None if here else (launch.get("ssh_hostname") or launch.get("hostname"))
    dask = role in ("daskserver", "pure-daskserver")
    return ServicePlan(
        role=role,
        launch=launch,
        ssh_host=ssh_host,
        tunnel=bool(launch.get("tunnel")) and not here,
        check_path="health" if dask else "healthcheck",
        check_port_field="dashboard_port" if dask else "port",
        readonly=readonly,
        origin=_frontend_origin(cluster, launch, "daskserver" if dask else role),
        batch=_batch_ask(cluster, launch) if dask else None,
    )


def _batch_ask(cluster: Cluster, launch: LaunchDict) -> BatchAsk | None:
    # (imported here: only a daskserver's plan asks, and a warm init() of storage skips the module)
    from .batch import COMMANDS, ask_of

    if cluster.type not in COMMANDS:
        return None
    name = (launch.get("meta") or {}).get("queue") or ""
    q = cluster.queue(name)
    return ask_of(cluster.type, cluster.name, name, launch.get("file_parameters") or {},
                  q.origin if q is not None and q.origin is not None else cluster.origin)


def _frontend_origin(cluster: Cluster, launch: LaunchDict, section: str) -> Origin | None:
    for f in cluster.frontends:
        if (f.hostname == launch.get("hostname") and f.ssh_hostname == launch.get("ssh_hostname")
                and f.service(section) is not None):
            return f.origin
    return cluster.origin


def build_plan(res: Resolution, disabled: frozenset[str] = frozenset()) -> Result[Plan, ConfigError]:
    """The services and activations the resolved selection needs.

    ``disabled``: services the runtime has switched off (seamless-remote's ``DISABLED`` flags, as
    tests and ``seamless-run --dry-run`` set them): left out of the plan, with their checks.

    >>> from .selection import Selection, Resolution, ClusterSet
    >>> build_plan(Resolution(Selection(), ClusterSet())).unwrap().services
    ()
    """
    sel = res.selection
    execution = sel.effective_execution()
    persistent = sel.effective_persistent()
    base = dict(
        cluster=sel.cluster,
        project=sel.project,
        subproject=sel.subproject,
        stage=sel.stage,
        substage=sel.substage,
        execution=execution,
        persistent=persistent,
        record=sel.record,
        nparallel=sel.nparallel,
    )
    if sel.cluster is None:
        if execution == "remote":
            return Failure(NOTHING_SELECTED(
                "Execution is 'remote' but no cluster was defined", sel.origin("execution"),
                "add '- cluster: NAME' to seamless.profile.yaml, or use '- execution: process'"))
        if persistent and sel.source("persistent") is not None:
            return Failure(NOTHING_SELECTED(
                "Persistence was explicitly enabled but no cluster was defined", sel.origin("persistent"),
                "select a cluster whose hashserver and database keep the results, or remove 'persistent: true'"))
        spawn = spawn_workers_of(res, None) if execution == "spawn" else None
        return Success(Plan(remote=None, spawn_workers=spawn, **base))  # type: ignore[arg-type]
    cluster = res.clusters.get(sel.cluster)
    if cluster is None:
        if not persistent and execution != "remote":
            # selected but not used: nothing runs on it (as the reference, which looks it up only when used)
            spawn = spawn_workers_of(res, None) if execution == "spawn" else None
            return Success(Plan(remote=None, spawn_workers=spawn, **base))  # type: ignore[arg-type]
        return Failure(unknown_cluster(sel.cluster, res.clusters.names(), sel.origin("cluster")))
    local = res.clusters.local_cluster
    is_local = cluster.name == local
    storage = [s for s in STORAGE if s not in disabled] if persistent else []
    # (the pure-daskserver of persistent: false serves no project: its key names the queue)
    if storage or (execution == "remote" and persistent and not {"jobserver", "daskserver"} <= disabled):
        if sel.project is None:
            return Failure(MISSING("No project defined", None, "add '- project: NAME' to seamless.yaml"))
    scope = Scope(sel.project, sel.subproject, sel.stage, sel.substage)

    def plan_of(role: str, **params: Any) -> Result[ServicePlan, ConfigError]:
        return launch_dict(role, cluster, scope, local=is_local, **params).map(
            lambda launch: _service_plan(role, launch, cluster, local))

    def remote_of(remote: str | None) -> Result[tuple[str | None, tuple[ServicePlan, ...]], ConfigError]:
        # no remote target: as in 0.3.2 only storage is brought up (tools such as seamless-upload need
        # no more); remote_target_note() warns that transformations cannot run
        if remote != "daskserver" and not persistent:
            target = "the jobserver, which needs both" if remote == "jobserver" else "neither"
            return Failure(CONFLICT(
                f"persistent is false, so nothing stores buffers or results; only a daskserver can work without "
                f"storage, but the remote target of cluster {cluster.name!r} is {target}",
                sel.origin("persistent") if sel.source("persistent") is not None else sel.origin("cluster"),
                "remove 'persistent: false', or add '- remote: daskserver' and a 'daskserver:' section to a frontend"))
        role = "jobserver" if remote == "jobserver" else "pure-daskserver" if not persistent else "daskserver"
        if remote is None or role in disabled:
            return Success((remote, ()))
        return plan_of(role, queue=sel.effective_queue(cluster.name), node=sel.node, record=sel.record).map(
            lambda sp: (remote, (sp,)))

    spawn_workers = spawn_workers_of(res, cluster) if execution == "spawn" else None
    remote_part = check_remote_redundancy(sel, cluster).bind(remote_of) if execution == "remote" else Success((None, ()))
    return sequence(plan_of(service) for service in storage).bind(lambda stored: remote_part.map(
        lambda rp: Plan(remote=rp[0], services=stored + rp[1], spawn_workers=spawn_workers, **base)))  # type: ignore[arg-type]


#: ``Plan.spawn_workers`` for "one worker per CPU" (seamless-transformer's ``spawn(None)``)
SPAWN_PER_CPU = 0


def spawn_workers_of(res: Resolution, selected: Cluster | None) -> int:
    """How many worker processes ``execution: spawn`` starts: the ``workers`` of the machine's own
    cluster (``local_cluster``), as the reference does, whichever cluster is selected; without a
    ``local_cluster``, those of the selected cluster (0.3.2 fails there, see docs/differences.md).
    Without a ``workers`` field: one per CPU (:data:`SPAWN_PER_CPU`), as 0.3.2's ``spawn(None)``."""
    local = res.clusters.get(res.clusters.local_cluster) if res.clusters.local_cluster else None
    source = local if local is not None else selected
    if source is None or source.workers is None:
        return SPAWN_PER_CPU
    return source.workers
