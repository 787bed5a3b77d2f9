"""What ``seamless-config job-script`` shows: the batch job a queue turns into.

Pure: from a resolution (and an optional ``--queue``) to a :class:`JobScriptRequest`.
The request holds the daskserver's ``file_parameters`` exactly as its launch dict
passes them to ``seamless-dask-wrapper``, plus what the wrapper reads besides
them (scheduler host, port range, cluster string). Rendering it — the wrapper's
own mapping to dask-jobqueue settings, then ``job_script()`` — is the effect
module :mod:`effects.jobscript`'s work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from returns.result import Failure, Result, Success

from .clusters import Cluster, QueueDefinition
from .errors import BATCH_OFFER, CONFLICT, MISSING, NOTHING_SELECTED, ConfigError, Origin
from .frozen import FrozenDict, frozen_map, thaw
from .launch import (
    LaunchDict,
    choose_frontend,
    daskserver_launch_dict,
    node_directives,
    resolve_queue,
)
from .selection import Resolution
from .services import Scope, runs_here

#: cluster type -> dask-jobqueue's config section (and job system)
JOB_SYSTEMS = {"slurm": "slurm", "oar": "oar"}


@attrs.frozen
class JobScriptRequest:
    """One daskserver's batch jobs, before rendering."""

    cluster: str
    #: ``slurm`` or ``oar``: dask-jobqueue's config section for this batch system
    system: str
    queue: str
    #: the daskserver's key (its state file and log are named after it)
    key: str
    cluster_string: str
    #: where the scheduler listens, and the ports it and the workers use
    host: str
    port_range: tuple[int, int]
    #: the launch dict's ``file_parameters``: what the wrapper reads from its state file
    file_parameters: FrozenDict = attrs.field(converter=frozen_map)
    #: the daskserver runs on this machine (no SSH)
    runs_here: bool = True
    #: where the queue is defined (what the batch tools refuse is shown there)
    origin: Origin | None = attrs.field(default=None, eq=False)

    def parameters(self) -> dict[str, Any]:
        return thaw(self.file_parameters)  # type: ignore[no-any-return]


def job_script_request(
    res: Resolution, queue: str | None = None, queue_origin: Origin | None = None
) -> Result[JobScriptRequest, ConfigError]:
    """The daskserver that the selection would start, as a job-script request.

    ``queue`` replaces the selected queue (``--queue``). The daskserver is the
    one the plan would start: persistent mode unless ``persistent: false``
    (then the pure-Dask scheduler), whatever ``execution`` says.

    >>> from .clusters import Cluster, Frontend, QueueDefinition, ServiceSpec
    >>> from .selection import ClusterSet, Resolution, Selection
    >>> fe = Frontend("hpc", daskserver=ServiceSpec("daskserver", network_interface="10.0.0.1", port_start=6000, port_end=6099))
    >>> q = QueueDefinition("cpu", (("cores", 4), ("memory", "8GB"), ("walltime", "01:00:00")))
    >>> c = Cluster("hpc", "slurm", frontends=(fe,), queues=(q,), default_queue="cpu")
    >>> r = job_script_request(Resolution(Selection(cluster="hpc", project="p"), ClusterSet((c,)))).unwrap()
    >>> r.system, r.key, r.host, r.port_range, r.runs_here
    ('slurm', 'daskserver-hpc-rw-p', '10.0.0.1', (6000, 6099), False)
    >>> r.parameters()
    {'walltime': '01:00:00', 'cores': 4, 'memory': '8GB', 'record': False}
    """
    sel = res.selection
    if sel.cluster is None:
        return Failure(NOTHING_SELECTED(
            "No cluster selected, so there is no batch queue to show", None,
            "add '- cluster: NAME' (a cluster of type slurm or oar) to seamless.profile.yaml"))
    return res.clusters.named(sel.cluster, sel.origin("cluster")).bind(
        lambda cluster: _request(res, cluster, queue, queue_origin))


def _request(res: Resolution, cluster: Cluster, queue: str | None, queue_origin: Origin | None,
             batch_only: bool = True) -> Result[JobScriptRequest, ConfigError]:
    sel = res.selection
    if sel.node is not None:
        node_mistake = node_directives(cluster, sel.node).swap().value_or(None)
        if node_mistake is not None:
            return Failure(attrs.evolve(node_mistake, origin=sel.origin("node")))
    if batch_only and cluster.type not in JOB_SYSTEMS:
        return Failure(CONFLICT(
            f"cluster {cluster.name!r} is of type {cluster.type!r}: its Dask workers are not batch jobs, "
            "so there is no job script", cluster.origin,
            "select a cluster of type slurm or oar ('- cluster: NAME'), or give its 'type: slurm' / 'type: oar'"))
    qname = queue if queue is not None else sel.effective_queue(cluster.name)
    pure = not sel.effective_persistent()

    def checked(q: QueueDefinition) -> Result[QueueDefinition, ConfigError]:
        problem = _wrapper_requirements(cluster, q.name, q.as_dict())
        if problem is None and not pure and sel.project is None:
            problem = MISSING("No project defined", sel.origin("project"), "add '- project: NAME' to seamless.yaml")
        return Success(q) if problem is None else Failure(problem)

    def request(q: QueueDefinition, launch: LaunchDict) -> JobScriptRequest:
        spec = choose_frontend(cluster, "daskserver", None).unwrap().daskserver
        assert spec is not None and spec.port_start is not None and spec.port_end is not None
        return JobScriptRequest(
            cluster=cluster.name,
            system=JOB_SYSTEMS.get(str(cluster.type), "local"),
            queue=q.name,
            key=launch.key,
            cluster_string=launch.get("cluster_string"),
            host=spec.network_interface or "0.0.0.0",
            port_range=(spec.port_start, spec.port_end),
            file_parameters=launch.get("file_parameters"),
            runs_here=runs_here(cluster, launch, res.clusters.local_cluster),
            origin=q.origin,
        )

    scope = None if pure else Scope(sel.project, sel.subproject, sel.stage, sel.substage)
    return resolve_queue(cluster, qname, queue_origin if queue is not None else sel.origin("queue")).bind(
        checked).bind(lambda q: daskserver_launch_dict(
            cluster, scope, qname, sel.node, sel.record, pure=pure, local=cluster.name == res.clusters.local_cluster,
        ).map(lambda launch: request(q, launch)))


def planned_daskserver(res: Resolution, roles: Iterable[str]) -> Result[JobScriptRequest, ConfigError] | None:
    """The daskserver a plan with services ``roles`` starts, as seamless-dask-wrapper is given it, on any
    type of cluster (``check`` has the wrapper judge it); ``None`` when the plan starts none."""
    cluster = res.clusters.get(res.selection.cluster) if res.selection.cluster is not None else None
    if cluster is None or not {"daskserver", "pure-daskserver"} & set(roles):
        return None
    return _request(res, cluster, None, None, batch_only=False)


def refused(request: JobScriptRequest, refusal: str) -> ConfigError:
    """seamless-dask-wrapper's ``refusal`` of a request's queue, as a mistake at the queue's definition."""
    return BATCH_OFFER(refusal, request.origin, wrapper_fix(refusal))


#: seamless-dask-wrapper's start-up refusals that a queue's own fields cause: words of the refusal ->
#: how to change the queue (its other refusals are said before anything starts, see below)
WRAPPER_FIXES = (
    (("lifetime",),
     "the wrapper gives each worker the queue's walltime, less 'lifetime_stagger' (4m unless set) and a "
     "minute; it reads HH:MM:SS or a duration such as 90m, a bare number as seconds, and no days: write a "
     "longer walltime in hours (\"01:00:00\", \"48:00:00\"), or give the queue a 'lifetime'"),
    (("job_cores", "exclusive"),
     "an exclusive queue takes whole nodes: remove its 'cores', or its 'exclusive'"),
    (("extra_dask_config", "strings"),
     "write 'extra_dask_config' as dotted keys with quoted values, e.g. 'distributed.comm.timeouts.connect: "
     "\"30s\"', not nested mappings, numbers or booleans"),
)


def wrapper_fix(refusal: str) -> str:
    """How to change a queue that seamless-dask-wrapper refused with ``refusal`` (``""`` when unknown).

    >>> wrapper_fix("Computed 'lifetime' must be positive").startswith("the wrapper gives each worker")
    True
    >>> wrapper_fix("Missing required parameter 'nodes'")
    ''
    """
    return next((fix for words, fix in WRAPPER_FIXES if all(w in refusal for w in words)), "")


def _wrapper_requirements(cluster: Cluster, queue: str, fields: dict[str, Any]) -> ConfigError | None:
    """What seamless-dask-wrapper refuses at start-up, said before anything starts."""
    where = cluster.queue(queue)
    origin = where.origin if where is not None else cluster.origin
    if fields.get("memory") is None:
        return MISSING(f"queue {queue!r} of cluster {cluster.name!r} has no 'memory', which the Dask workers need",
                           origin, f"add e.g. 'memory: 4GB' to queue {queue!r}: the memory of one job")
    if fields.get("walltime") is None and fields.get("lifetime") is None:
        return MISSING(f"queue {queue!r} of cluster {cluster.name!r} has no 'walltime'", origin,
                           f"add 'walltime: \"01:00:00\"' to queue {queue!r}")
    if cluster.type == "oar" and cluster.memory_per_core_property_name is None:
        return MISSING(
            f"cluster {cluster.name!r} is of type oar and has no 'memory_per_core_property_name', "
            "which seamless-dask-wrapper requires for OAR", cluster.origin,
            "add 'memory_per_core_property_name: memcore' to the cluster (the property `oarnodes` lists; "
            "'not_applicable' if the cluster has none)")
    return None
