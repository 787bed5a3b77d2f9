"""Launch dicts: what remote-http-launcher needs to start one service.

The dicts hold literal values only. remote-http-launcher evaluates ``key`` and
``command`` as f-strings, so every configuration value placed in them is
brace-escaped (and shell-quoted in ``command``); the one placeholder left is
``{status_file}``, which the launcher fills. After that evaluation the dicts
equal those of seamless-config 0.3.2, field by field, plus a ``meta`` block.
"""

from __future__ import annotations

import shlex
from typing import Any

import attrs
from returns.result import Failure, Result, Success

from .clusters import Cluster, Frontend, QueueDefinition, ServiceSpec
from .errors import (
    CONFLICT,
    MISSING,
    NO_FRONTEND,
    NOTHING_SELECTED,
    UNKNOWN_QUEUE,
    ConfigError,
    Origin,
    did_you_mean,
)
from .frozen import FrozenDict, frozen_map, thaw

TIMEOUT = 600
LOG_LEVEL = "minimal"
LOG_ROOT = "~/.remote-http-launcher/logs"
SERVICE_WORKDIR = "/tmp"  # jobserver / daskserver run from here, as in 0.3.2
CLUSTER_STRINGS = {
    "slurm": "dask_jobqueue::SLURMCluster",
    "oar": "dask_jobqueue::OARCluster",
    "local": "distributed::LocalCluster",
}
from .clients import MODES, STORAGE  # noqa: E402
from .names import SERVICE_NAMES  # noqa: E402,F401 - re-exported
from .services import Scope  # noqa: E402


@attrs.frozen
class LaunchDict:
    """One service's launch parameters, in remote-http-launcher's field order."""

    service: str
    cluster: str
    #: the fields in remote-http-launcher's order (frozen: a launch dict can be shared and hashed)
    fields: FrozenDict = attrs.field(converter=frozen_map)

    def as_dict(self) -> dict[str, Any]:
        """The launch dict as the runtime takes it: plain dicts and lists, a new copy each time, with
        ``meta`` hashable (seamless-remote keys caches on ``frozendict(launch_dict)``)."""
        d = thaw(self.fields)
        if "meta" in d:
            d["meta"] = Meta(d["meta"])
        return d  # type: ignore[no-any-return]

    def get(self, name: str, default: Any = None) -> Any:
        """One field as plain data (a new copy of a mapping or list), or ``default``."""
        return thaw(self.fields[name]) if name in self.fields else default

    @property
    def key(self) -> str:
        return _unescape(self.get("key"))


class Meta(dict):  # type: ignore[type-arg]
    """The ``meta`` block: a plain JSON object that can also be hashed.

    seamless-remote keys its launcher caches on ``frozendict(launch_dict)``,
    which needs every value to be hashable.
    """

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))


def _esc(value: object) -> str:
    """Brace-escape a value for remote-http-launcher's f-string evaluation."""
    return str(value).replace("{", "{{").replace("}", "}}")


def _unescape(value: str) -> str:
    return value.replace("{{", "{").replace("}}", "}")


def _arg(value: object) -> str:
    """One shell word, quoted only when it needs to be, then brace-escaped.

    A leading ``~/`` stays bare, so that the shell on the host expands it (as 0.3.2's commands do).

    >>> _arg("~/buffers/p"), _arg("/a b")
    ('~/buffers/p', "'/a b'")
    """
    text = str(value)
    if text.startswith("~/"):
        return "~/" + _esc(shlex.quote(text[2:])) if text[2:] else "~/"
    return _esc(shlex.quote(text))


def _key_suffix(path: str) -> str:
    return path.strip("/").replace("/", "--")


def choose_frontend(cluster: Cluster, service: str, frontend_name: str | None) -> Result[Frontend, ConfigError]:
    """The frontend that runs ``service``: the named one, else the first that offers it."""
    section = "daskserver" if service == "pure-daskserver" else service
    candidates = [f for f in cluster.frontends if f.service(section) is not None]
    if frontend_name is not None:
        candidates = [f for f in candidates if f.hostname == frontend_name]
        if not candidates:
            known = ", ".join(repr(f.hostname) for f in cluster.frontends if f.service(section) is not None)
            return Failure(NO_FRONTEND(
                f"No frontend of cluster {cluster.name!r} with name {frontend_name!r} can support a {section}",
                cluster.origin, f"frontends with a {section}: {known}" if known else f"add a '{section}:' section to a frontend"))
    if not candidates:
        return Failure(NO_FRONTEND(f"No frontend of cluster {cluster.name!r} can support a {section}", cluster.origin,
                                   f"add a '{section}:' section to one of its frontends"))
    return Success(candidates[0])


def _host_fields(cluster: Cluster, frontend: Frontend, spec: ServiceSpec, *, local: bool, conda: Any = ...) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    # The machine's own cluster (``local_cluster``, SEAMLESS_CACHE) runs here: no host, no tunnel.
    if cluster.tunnel and not local:
        out.append(("tunnel", True))
    if not local:
        if frontend.hostname is not None:
            out.append(("hostname", frontend.hostname))
        if frontend.ssh_hostname is not None:
            out.append(("ssh_hostname", frontend.ssh_hostname))
    if spec.network_interface is not None:
        out.append(("network_interface", spec.network_interface))
    if conda is ...:
        if spec.conda is not None:
            out.append(("conda", spec.conda))
    else:
        out.append(("conda", conda))
    out += [(k, v) for k, v in (("port_start", spec.port_start), ("port_end", spec.port_end)) if v is not None]
    return out


def _log_fields(cluster: str, path: str, service: str) -> list[tuple[str, Any]]:
    return [
        ("log_level", LOG_LEVEL),
        ("log_file", f"{LOG_ROOT}/{cluster}{path}/{service}.log"),
        ("debug_log_file", f"{LOG_ROOT}/{cluster}{path}/{service}.debug.log"),
        ("timeout", TIMEOUT),
    ]


def _meta(service: str, cluster: str, mode: str, scope: Scope, queue: str | None, substage: bool) -> tuple[str, Any]:
    return (
        "meta",
        FrozenDict({
            "service": service,
            "cluster": cluster,
            "mode": mode,
            "project": scope.project,
            "subproject": scope.subproject,
            "stage": scope.stage,
            "substage": scope.substage if substage else None,
            "queue": queue,
        }),
    )


def storage_launch_dict(
    cluster: Cluster, service: str, mode: str, scope: Scope, frontend_name: str | None = None, *, local: bool = False
) -> Result[LaunchDict, ConfigError]:
    """The hashserver or database launch dict (``mode`` is ``rw`` or ``ro``).

    >>> from .clusters import Cluster, Frontend, ServiceSpec
    >>> c = Cluster("here", "local", frontends=(Frontend("localhost", hashserver=ServiceSpec("hashserver", "/b", port_start=5000, port_end=5099)),))
    >>> d = storage_launch_dict(c, "hashserver", "rw", Scope("p", stage="prod")).unwrap().as_dict()
    >>> d["key"], d["workdir"]
    ('hashserver-here-rw-p--STAGE-prod', '/b/p/STAGE-prod')
    >>> d["command"]
    'hashserver --port-range 5000 5099 --status-file {status_file} --timeout 600 /b/p/STAGE-prod --writable'
    """
    assert service in STORAGE and mode in MODES
    return choose_frontend(cluster, service, frontend_name).map(
        lambda frontend: _storage(cluster, frontend, service, mode, scope, local))


def _storage(cluster: Cluster, frontend: Frontend, service: str, mode: str, scope: Scope, local: bool) -> LaunchDict:
    spec = frontend.service(service)
    assert spec is not None and spec.directory is not None
    path = scope.storage_path()
    workdir = spec.directory + path
    fields = _host_fields(cluster, frontend, spec, local=local)
    fields += _log_fields(cluster.name, path, service)
    fields.append(("workdir", workdir))
    fields.append(("key", _esc(f"{service}-{cluster.name}-{mode}-{_key_suffix(path)}")))
    host = f" --host {_arg(spec.network_interface)}" if spec.network_interface is not None else ""
    writable = " --writable" if mode == "rw" else ""
    ports = f" --port-range {spec.port_start} {spec.port_end}" if None not in (spec.port_start, spec.port_end) else ""
    if service == "hashserver":
        command = f"hashserver{ports} --status-file {{status_file}}{host} --timeout {TIMEOUT} {_arg(workdir)}{writable}"
    else:
        command = f"seamless-database{ports} --status-file {{status_file}}{host} --timeout {TIMEOUT}{writable} {_arg(workdir + '/seamless.db')}"
    fields.append(("command", command))
    fields.append(("handshake", "healthcheck"))
    fields.append(_meta(service, cluster.name, mode, scope, None, False))
    return LaunchDict(service, cluster.name, fields)


def jobserver_launch_dict(
    cluster: Cluster, scope: Scope, record: bool, frontend_name: str | None = None, *, local: bool = False
) -> Result[LaunchDict, ConfigError]:
    """The jobserver launch dict (needs the cluster's ``workers``)."""
    # as in 0.3.2: a cluster without a jobserver frontend says so before asking for 'workers'
    return choose_frontend(cluster, "jobserver", frontend_name).bind(
        lambda frontend: _jobserver(cluster, frontend, scope, record, local))


def _jobserver(cluster: Cluster, frontend: Frontend, scope: Scope, record: bool, local: bool
               ) -> Result[LaunchDict, ConfigError]:
    if cluster.workers is None:
        return Failure(MISSING(f"cluster {cluster.name!r} has no 'workers', which a jobserver needs", cluster.origin,
                               "add 'workers: N' to the cluster definition"))
    spec = frontend.jobserver
    assert spec is not None
    path = scope.dispatch_path()
    fields: list[tuple[str, Any]] = [("workers", cluster.workers)]
    fields += _host_fields(cluster, frontend, spec, local=local, conda=spec.conda)
    fields.append(("file_parameters", {"database": [], "buffer": [], "record": record}))
    fields += _log_fields(cluster.name, path, "jobserver")
    fields.append(("workdir", SERVICE_WORKDIR))
    fields.append(("key", _esc(f"jobserver-{cluster.name}-rw-{_key_suffix(path)}")))
    fields.append((
        "command",
        f"seamless-jobserver --workers {cluster.workers} --port-range {spec.port_start} {spec.port_end}"
        f" --status-file {{status_file}} --host {_arg(spec.network_interface)} --timeout {TIMEOUT}",
    ))
    fields.append(("handshake", "healthcheck"))
    fields.append(_meta("jobserver", cluster.name, "rw", scope, None, True))
    return Success(LaunchDict("jobserver", cluster.name, fields))


def resolve_queue(cluster: Cluster, queue: str | None, origin: Origin | None = None) -> Result[QueueDefinition, ConfigError]:
    """The queue named, else the cluster's ``default_queue``."""
    name = queue if queue is not None else cluster.default_queue
    if not cluster.queues:
        return Failure(MISSING(f"cluster {cluster.name!r} has no queues, which a daskserver needs", cluster.origin,
                                   "add a 'queues:' mapping to the cluster definition"))
    if name is None:
        return Failure(NOTHING_SELECTED(f"No queue selected and cluster {cluster.name!r} has no default queue",
                                   cluster.origin, f"add '- queue: {cluster.queues[0].name}' or set 'default_queue'"))
    q = cluster.queue(name)
    if q is None:
        return Failure(UNKNOWN_QUEUE(f"Cluster {cluster.name!r} has no queue {name!r}", origin or cluster.origin,
                                   did_you_mean(name, cluster.queue_names())))
    return Success(q)


def node_directives(cluster: Cluster, node: str | None) -> Result[list[str], ConfigError]:
    if node is None:
        return Success([])
    if cluster.type == "slurm":
        return Success([f"--nodelist={node}"])
    if cluster.type == "oar":
        return Success(["-p", f"host='{node}'"])
    return Failure(CONFLICT(f"Node selection is not supported for cluster type {cluster.type!r}", cluster.origin,
                               "remove the 'node' command, or select a slurm or oar cluster"))


def dask_file_parameters(cluster: Cluster, queue: QueueDefinition, node: str | None, record: bool, *, pure: bool) -> Result[dict[str, Any], ConfigError]:
    """The daskserver's ``file_parameters``: the queue as seamless-dask-wrapper reads it."""
    return node_directives(cluster, node).map(lambda directives: _file_parameters(cluster, queue, directives,
                                                                                  record, pure=pure))


def _file_parameters(cluster: Cluster, queue: QueueDefinition, directives: list[str], record: bool, *, pure: bool
                     ) -> dict[str, Any]:
    q = queue.as_dict()
    exclusive = bool(q.get("exclusive"))
    cores = q.get("cores")
    if cores is None and cluster.type == "local" and cluster.workers is not None:
        cores = cluster.workers
    job_cores = q.get("job_cores")
    if not pure and job_cores is None and exclusive and cores is not None:
        job_cores = cores
    resource_spec = "/nodes=1" if cluster.type == "oar" and exclusive and q.get("cores") is None else None
    jed = list(q.get("job_extra_directives") or []) + directives
    if not pure and exclusive and q.get("cores") is None and cluster.type == "slurm" and "--exclusive" not in jed:
        jed.append("--exclusive")
    out: dict[str, Any] = {}

    def put(k: str, v: Any) -> None:
        if v is not None:
            out[k] = v

    put("walltime", q.get("walltime"))
    if not pure:
        put("exclusive", q.get("exclusive"))
    put("cores", cores)
    put("job_cores", job_cores)
    put("memory", q.get("memory"))
    put("tmpdir", q.get("tmpdir"))
    put("partition", q.get("partition"))
    if not pure:
        put("resource_spec", resource_spec)
    if jed:
        out["job_extra_directives"] = jed
    if q.get("job_script_prologue"):
        out["job_script_prologue"] = list(q["job_script_prologue"])
    if pure:
        put("resource_spec", resource_spec)
    put("project", q.get("project"))
    put("memory_per_core_property_name", cluster.memory_per_core_property_name)
    worker_threads = q.get("worker_threads")
    put("worker_threads", 2 if worker_threads is None and pure else worker_threads)
    put("processes", q.get("processes"))
    put("unknown-task-duration", q.get("unknown_task_duration"))
    put("target-duration", q.get("target_duration"))
    put("lifetime-stagger", q.get("lifetime_stagger"))
    put("lifetime", q.get("lifetime"))
    put("dask-resources", q.get("dask_resources"))
    put("interactive", q.get("interactive"))
    maximum_jobs = q.get("maximum_jobs")
    if pure and maximum_jobs is None and cluster.type == "local" and cluster.workers is not None:
        maximum_jobs = cluster.workers  # a local pure-Dask cluster scales up to its workers
    put("maximum_jobs", maximum_jobs)
    if pure:
        out["pure_dask"] = True
        put("extra_dask_config", q.get("extra_dask_config"))
    else:
        put("extra_dask_config", q.get("extra_dask_config"))
        out["record"] = record
    return out


def daskserver_launch_dict(
    cluster: Cluster,
    scope: Scope | None,
    queue: str | None,
    node: str | None,
    record: bool,
    frontend_name: str | None = None,
    *,
    pure: bool = False,
    local: bool = False,
) -> Result[LaunchDict, ConfigError]:
    """The daskserver launch dict; with ``pure`` the pure-Dask scheduler (no project scope)."""
    if cluster.type not in CLUSTER_STRINGS:
        return Failure(MISSING(f"cluster {cluster.name!r} has no 'type', which a daskserver needs", cluster.origin,
                                   "add 'type: local', 'type: slurm' or 'type: oar'"))
    return Result.do(
        _daskserver(cluster, frontend, q, fp, scope, pure=pure, local=local)
        for frontend in choose_frontend(cluster, "daskserver", frontend_name)
        for q in resolve_queue(cluster, queue)
        for fp in dask_file_parameters(cluster, q, node, record, pure=pure)
    )


def _daskserver(cluster: Cluster, frontend: Frontend, q: QueueDefinition, fp: dict[str, Any], scope: Scope | None,
                *, pure: bool, local: bool) -> LaunchDict:
    service = "pure-daskserver" if pure else "daskserver"
    spec = frontend.daskserver
    assert spec is not None and cluster.type is not None
    cluster_string = CLUSTER_STRINGS[cluster.type]
    fields: list[tuple[str, Any]] = [("cluster_string", cluster_string)]
    fields += _host_fields(cluster, frontend, spec, local=local, conda=q.get("conda"))
    fields.append(("file_parameters", fp))
    if pure:  # its logs are named after the queue, under the cluster's folder
        fields += _log_fields(cluster.name, "", f"pure-daskserver-{q.name}")
        key = f"pure-daskserver-{cluster.name}-{q.name}"
        scope = scope or Scope(None)
    else:
        assert scope is not None
        path = scope.dispatch_path()
        fields += _log_fields(cluster.name, path, "daskserver")
        key = f"daskserver-{cluster.name}-rw-{_key_suffix(path)}"
    fields.append(("workdir", SERVICE_WORKDIR))
    fields.append(("key", _esc(key)))
    fields.append((
        "command",
        f"seamless-dask-wrapper {cluster_string} --port-range {spec.port_start} {spec.port_end}"
        f" --status-file {{status_file}} --host {_arg(spec.network_interface)} --timeout {TIMEOUT}",
    ))
    fields.append(("handshake", {"path": "health", "port_name": "dashboard_port"}))
    fields.append(_meta(service, cluster.name, "rw", scope if not pure else Scope(None), q.name, True))
    return LaunchDict(service, cluster.name, fields)


def launch_dict(
    service: str,
    cluster: Cluster,
    scope: Scope,
    *,
    mode: str = "rw",
    queue: str | None = None,
    node: str | None = None,
    record: bool = False,
    frontend_name: str | None = None,
    local: bool = False,
) -> Result[LaunchDict, ConfigError]:
    """The launch dict of any service (one of :data:`SERVICE_NAMES`), from its builder: ``mode``
    for the storage services; ``queue`` and ``node`` for the daskservers; ``record`` for the job
    services. A pure daskserver has no project scope."""
    if service in STORAGE:
        return storage_launch_dict(cluster, service, mode, scope, frontend_name, local=local)
    if service == "jobserver":
        return jobserver_launch_dict(cluster, scope, record, frontend_name, local=local)
    pure = service == "pure-daskserver"
    return daskserver_launch_dict(cluster, None if pure else scope, queue, node, record, frontend_name,
                                  pure=pure, local=local)
