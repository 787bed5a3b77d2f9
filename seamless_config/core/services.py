"""The service commands' decisions: what a service key means, which hosts hold a cluster's services, what may be cleared.

Pure: the ``seamless-service-*`` commands read state files and configuration
through the effects layer and the session, and ask this module what the
rows mean (:func:`scope_of` reads a state's ``meta`` block, or the key of a
service launched without one), which rows a command acts on
(:class:`~seamless_config.inspect.ps.RowFilter`), which hosts hold a cluster's services
(:func:`cluster_destinations`), whether a directory may be cleared
(:func:`clear_problem`). The ``ps`` rows themselves are inspection (:mod:`seamless_config.inspect.ps`).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from returns.result import Result

    from .clusters import Cluster, Frontend
    from .errors import ConfigError
    from .launch import LaunchDict

# ``seamless-service-ps`` without --cluster needs only the rows: the configuration
# stages (plan, launch dicts, returns) are imported by the functions that use them.

from .clients import MODES  # noqa: E402
from .errors import NO_FRONTEND  # noqa: E402
from .names import PROJECT_TOPLEVEL, SERVICE_NAMES  # noqa: E402

#: the file that marks a directory as a service's persistent storage
MARKERS = {"hashserver": ".HASHSERVER_PREFIX", "database": "seamless.db"}
#: what a ``clear`` may never target, wherever the configuration points
FORBIDDEN = frozenset({
    "/", "/tmp", "/var/tmp", "/home", "/root", "/Users", "/etc", "/usr", "/bin", "/sbin", "/lib",
    "/lib64", "/boot", "/sys", "/proc", "/run", "/var", "/opt", "/dev", "/srv", "/mnt", "/media",
    "/scratch", "/data", "~",
})


def _blank_is_none(value: str | None) -> str | None:
    return value or None


@attrs.frozen
class Scope:
    """Which storage and dispatch scope a service serves."""

    project: str | None = None
    # an empty subproject, stage or substage is the same as none (as 0.3.2 treats it)
    subproject: str | None = attrs.field(default=None, converter=_blank_is_none)
    stage: str | None = attrs.field(default=None, converter=_blank_is_none)
    substage: str | None = attrs.field(default=None, converter=_blank_is_none)

    def storage_path(self) -> str:
        """``/<project>[/<subproject>][/STAGE-<stage>]``

        >>> Scope("p", "a/b", "prod", "gpu").storage_path()
        '/p/a/b/STAGE-prod'
        """
        path = f"/{self.project}"
        if self.subproject:
            path += f"/{self.subproject}"
        if self.stage:
            path += f"/STAGE-{self.stage}"
        return path

    def dispatch_path(self) -> str:
        """Like :meth:`storage_path`, with ``SUBSTAGE-<substage>`` glued to the stage.

        >>> Scope("p", None, "prod", "gpu").dispatch_path()
        '/p/STAGE-prodSUBSTAGE-gpu'
        """
        path = self.storage_path()
        if self.stage and self.substage:
            path += f"SUBSTAGE-{self.substage}"
        return path


@attrs.frozen(kw_only=True)
class ServiceScope(Scope):
    """What a service serves: the fields of a launch dict's ``meta`` block, its scope and which
    service of which cluster serves it."""

    service: str | None = None
    cluster: str | None = None
    mode: str | None = None
    queue: str | None = None


#: the fields of a scope, in order
SCOPE_FIELDS = tuple(a.name for a in attrs.fields(ServiceScope))


def parse_key(key: str, clusters: Iterable[str] = ()) -> ServiceScope:
    """The scope a launcher key names, for services launched without a ``meta`` block.

    Keys are ``<service>-<cluster>-<mode>-<project>[--<subproject parts>][--STAGE-<stage>[SUBSTAGE-<sub>]]``
    and ``pure-daskserver-<cluster>-<queue>``. Cluster names may hold ``-``: a known
    cluster name (``clusters``) that fits is preferred; else the cluster ends before the
    first ``-rw-``/``-ro-`` (before the last ``-`` for a pure daskserver). A key of
    another format gives a scope with ``service`` None.

    >>> parse_key("hashserver-hpc-ro-md--ligands--batch1--STAGE-prod")
    ServiceScope(project='md', subproject='ligands/batch1', stage='prod', substage=None, service='hashserver', cluster='hpc', mode='ro', queue=None)
    >>> parse_key("jobserver-my-rw-cl-rw-p--STAGE-aSUBSTAGE-b", ["my-rw-cl"])
    ServiceScope(project='p', subproject=None, stage='a', substage='b', service='jobserver', cluster='my-rw-cl', mode='rw', queue=None)
    >>> parse_key("pure-daskserver-hpc-gpu-long")
    ServiceScope(project=None, subproject=None, stage=None, substage=None, service='pure-daskserver', cluster='hpc-gpu', mode='rw', queue='long')
    >>> parse_key("webserver-x").service is None
    True
    """
    known = sorted(clusters, key=len, reverse=True)
    if key.startswith("pure-daskserver-"):
        rest = key[len("pure-daskserver-"):]
        for c in known:
            if rest.startswith(c + "-") and len(rest) > len(c) + 1:
                return ServiceScope(service="pure-daskserver", cluster=c, mode="rw", queue=rest[len(c) + 1:])
        name, sep, queue = rest.rpartition("-")
        if not sep or not name or not queue:
            return ServiceScope()
        return ServiceScope(service="pure-daskserver", cluster=name, mode="rw", queue=queue)
    for service in SERVICE_NAMES:
        if service != "pure-daskserver" and key.startswith(service + "-"):
            break
    else:
        return ServiceScope()
    rest = key[len(service) + 1:]
    cluster: str | None = None
    mode: str | None = None
    path: str | None = None
    for c in known:
        for m in MODES:
            if rest.startswith(f"{c}-{m}-"):
                cluster, mode, path = c, m, rest[len(c) + len(m) + 2:]
                break
        if cluster is not None:
            break
    if cluster is None:
        cut = min((i for i in (rest.find("-rw-"), rest.find("-ro-")) if i > 0), default=-1)
        if cut < 0:
            return ServiceScope()
        cluster, mode, path = rest[:cut], rest[cut + 1: cut + 3], rest[cut + 4:]
    assert path is not None
    parts = path.split("--")
    stage = substage = None
    if len(parts) > 1 and parts[-1].startswith("STAGE-"):
        stage = parts.pop()[len("STAGE-"):]
        if "SUBSTAGE-" in stage:
            stage, _, substage = stage.partition("SUBSTAGE-")
    project = parts[0] or None
    subproject = "/".join(parts[1:]) or None
    return ServiceScope(project, subproject, stage, substage, service=service, cluster=cluster, mode=mode)


def scope_of(key: str, meta: Any, clusters: Iterable[str] = ()) -> ServiceScope:
    """The scope from a state's ``meta`` block when it has one, else from its key.

    >>> scope_of("hashserver-c-rw-p", {"service": "hashserver", "cluster": "c", "project": "p", "stage": "s"}).stage
    's'
    >>> scope_of("hashserver-c-rw-p--STAGE-s", None).stage
    's'
    """
    if isinstance(meta, dict) and isinstance(meta.get("service"), str):
        def text(name: str) -> str | None:
            value = meta.get(name)
            return value if isinstance(value, str) else None

        return ServiceScope(**{name: text(name) for name in SCOPE_FIELDS})
    return parse_key(key, clusters)


LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1", "ip6-localhost"})


def runs_here(cluster: Cluster, launch: LaunchDict, local_cluster: str | None) -> bool:
    """Whether a service runs on this machine without SSH.

    True for the ``local_cluster`` (its dicts have no hostname) and for a
    loopback ``hostname`` without an ``ssh_hostname``.
    """
    if cluster.name == local_cluster:
        return True
    hostname = launch.get("hostname")
    return hostname is None or (hostname in LOOPBACK and launch.get("ssh_hostname") is None)


def frontend_destination(cluster: Cluster, frontend: Frontend, local_cluster: str | None) -> str | None:
    """Where a frontend's services run, decided as the plan decides it (:func:`runs_here`):
    ``None`` for this machine, else the SSH destination.

    >>> from .clusters import Cluster, Frontend
    >>> frontend_destination(Cluster("c"), Frontend("localhost"), None) is None
    True
    >>> frontend_destination(Cluster("c"), Frontend("login1", ssh_hostname="hpc"), None)
    'hpc'
    >>> frontend_destination(Cluster("c"), Frontend("login1"), "c") is None
    True
    """
    from .launch import LaunchDict

    fields: tuple[tuple[str, Any], ...] = ()
    if cluster.name != local_cluster:
        fields = tuple((k, v) for k, v in (("hostname", frontend.hostname), ("ssh_hostname", frontend.ssh_hostname))
                       if v is not None)
    if runs_here(cluster, LaunchDict("any", cluster.name, fields), local_cluster):
        return None
    return frontend.ssh_hostname or frontend.hostname


def launch_destination(cluster: Cluster, launch: LaunchDict, local_cluster: str | None) -> str | None:
    """Where one service runs: ``None`` for this machine, else the SSH destination (as the plan says)."""
    if runs_here(cluster, launch, local_cluster):
        return None
    return launch.get("ssh_hostname") or launch.get("hostname")


def cluster_destinations(cluster: Cluster, local_cluster: str | None,
                         frontend_name: str | None = None) -> Result[tuple[str | None, ...], ConfigError]:
    """The hosts that run a cluster's services (each once, in frontend order).

    >>> from .clusters import Cluster, Frontend
    >>> c = Cluster("c", frontends=(Frontend("localhost"), Frontend("a", ssh_hostname="x"), Frontend("b", ssh_hostname="x")))
    >>> cluster_destinations(c, None).unwrap()
    (None, 'x')
    >>> print(cluster_destinations(c, None, "z").failure())
    cluster 'c' has no frontend 'z' (its frontends: 'localhost', 'a', 'b')
    """
    from returns.result import Failure, Success


    frontends = cluster.frontends
    if frontend_name is not None:
        frontends = tuple(f for f in frontends if f.hostname == frontend_name)
        if not frontends:
            known = ", ".join(repr(f.hostname) for f in cluster.frontends)
            return Failure(NO_FRONTEND(f"cluster {cluster.name!r} has no frontend {frontend_name!r}", None,
                                       f"its frontends: {known}" if known else "it has no frontends"))
    out: list[str | None] = []
    for f in frontends:
        d = frontend_destination(cluster, f, local_cluster)
        if d not in out:
            out.append(d)
    return Success(tuple(out))


def _normalise(path: str, home: str | None) -> str | None:
    if path == "~" or path.startswith("~/"):
        path = (home if home else "~") + path[1:]
    if not (path.startswith("/") or path == "~" or path.startswith("~/")):
        return None
    path = posixpath.normpath(path)
    # POSIX keeps a leading '//' (bufferdir '/' + '/tmp'); the kernel reads it as '/'
    return "/" + path.lstrip("/") if path.startswith("//") else path


def clear_problem(target: str, base: str, home: str | None) -> str | None:
    """Why ``target`` may not be cleared (``None``: it may), before looking at the disk.

    ``target`` must lie strictly inside ``base`` (the configured bufferdir or
    database_dir), without ``..``, and be none of ``/``, ``/tmp``, a home
    directory (``home``, or any directory that holds it), or a system directory.

    >>> clear_problem("/data/buffers/p", "/data/buffers", "/home/u") is None
    True
    >>> clear_problem("/data/other/p", "/data/buffers", "/home/u")
    "'/data/other/p' is outside the configured directory '/data/buffers'"
    >>> clear_problem("/data/buffers", "/data/buffers", "/home/u")
    "'/data/buffers' is the configured directory itself, not a project's directory below it"
    >>> clear_problem("/data/buffers/../p", "/data/buffers", "/home/u")
    "'/data/buffers/../p' contains '..'"
    >>> clear_problem("/tmp", "/", None)
    "'/tmp' is a system, temporary or home directory"
    >>> clear_problem("//tmp", "/", None)
    "'//tmp' is a system, temporary or home directory"
    >>> clear_problem("~/p", "~", "/home/u") is None
    True
    >>> clear_problem("/home/u", "/home", "/home/u")
    "'/home/u' is a system, temporary or home directory"
    """
    if ".." in target.split("/") or ".." in base.split("/"):
        return f"{target!r} contains '..'" if ".." in target.split("/") else f"{base!r} contains '..'"
    t = _normalise(target, home)
    b = _normalise(base, home)
    if t is None:
        return f"{target!r} is not an absolute path"
    if b is None:
        return f"the configured directory {base!r} is not an absolute path"
    homes = {h for h in (home, _normalise(home, None) if home else None) if h}
    if t in FORBIDDEN or t in homes or any(h == t or h.startswith(t.rstrip("/") + "/") for h in homes):
        return f"{target!r} is a system, temporary or home directory"
    if t == b:
        return f"{target!r} is the configured directory itself, not a project's directory below it"
    if not t.startswith(b.rstrip("/") + "/"):
        return f"{target!r} is outside the configured directory {base!r}"
    return None


def cache_root_of(workdir: str, stage: str | None) -> str:
    """The ``SEAMLESS_CACHE`` directory of a cache-mode service that runs in ``workdir``.

    >>> cache_root_of("/c/__TOPLEVEL__/STAGE-s", "s"), cache_root_of("/c/__TOPLEVEL__", None)
    ('/c', '/c')
    """
    path = posixpath.normpath(workdir)
    if stage and posixpath.basename(path) == f"STAGE-{stage}":
        path = posixpath.dirname(path)
    if posixpath.basename(path) == PROJECT_TOPLEVEL:
        path = posixpath.dirname(path)
    return path


