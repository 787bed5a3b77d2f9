"""``seamless-config doctor``: what a plan needs from the world, and what the observations mean.

Pure, in two steps around the shell (``effects/doctor.py``), which observes:

- :func:`needs` turns a :class:`~.plan.Plan` into the :class:`Need` records to observe: on each
  frontend reached over SSH, that it answers, its host key, port forwarding (when tunnels are
  used) and remote-http-launcher's helpers; for each service, its binary, its conda environment,
  a free port of its range, its storage directory, its batch queue; on each host, the server
  states of the plan's services (what ``seamless-service-ps`` shows).
- :func:`verdicts` turns the observations (:class:`Seen`) into one :class:`Check` per need: ok,
  warn or fail, with the fix. What could not be observed is a warning that says why, never a pass.

Nothing here reads a file, opens a socket or starts a process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from ..core.batch import COMMANDS, BatchAsk, Offer, batch_down, judge, parse_offer
from ..core.clients import LIVE, STORAGE
from ..core.errors import ConfigError, Origin
from ..core.plan import Plan, ServicePlan

OK, WARN, FAIL = "ok", "warn", "fail"
MARKS = {OK: "✔", WARN: "!", FAIL: "✘"}
#: free space under which a storage directory is a warning
LOW_SPACE = 2**30
#: how many free ports a service takes from its range (a daskserver: scheduler and dashboard)
PORTS_TAKEN = {"daskserver": 2, "pure-daskserver": 2}
#: the address a service binds when its section names no network_interface (hashserver's and
#: seamless-database's default)
DEFAULT_BIND = "127.0.0.1"
#: the kinds of need, in the order the checks are printed for one host
KINDS = ("ssh", "hostkey", "forwarding", "helpers", "binary", "conda", "ports", "storage", "batch", "services")
SCHEMA = "seamless-config/doctor/1"


@attrs.frozen
class Need:
    """One thing to observe: ``kind`` (one of :data:`KINDS`) on ``host`` (``None``: this machine)."""

    kind: str
    host: str | None
    #: what is looked at: a binary, a conda environment, a directory, a service key, a target host
    subject: str = ""
    role: str | None = None
    conda: str | None = None
    #: ports: the range, and how many of it must be free
    ports: tuple[int, int] | None = None
    count: int = 1
    batch: BatchAsk | None = None
    #: services: the plan's keys on this host
    keys: tuple[str, ...] = ()


@attrs.frozen
class Seen:
    """What the shell saw for a need: ``value`` (its shape depends on the kind, see
    :func:`verdicts`), or ``error``: why it could not be observed."""

    need: Need
    value: Any = None
    error: str | None = None


@attrs.frozen
class Check:
    """One line of the report."""

    status: str  # OK, WARN, FAIL
    kind: str
    host: str | None
    message: str
    fix: str = ""
    role: str | None = None
    origin: Origin | None = None

    def as_json(self) -> dict[str, Any]:
        """
        >>> Check(FAIL, "ports", "fe", "no free port", "widen it", "hashserver").as_json()["mark"]
        '✘'
        """
        return {"status": self.status, "mark": MARKS[self.status], "check": self.kind, "host": self.host,
                "service": self.role, "message": self.message, "fix": self.fix or None,
                "origin": None if self.origin is None else {"file": self.origin.file, "line": self.origin.line or None}}


def host_label(host: str | None) -> str:
    return "this machine" if host is None else host


# -- what to observe -----------------------------------------------------------------------------

def binary_of(sp: ServicePlan) -> str:
    """The program a service's command runs.

    >>> from seamless_config.core.launch import LaunchDict
    >>> binary_of(ServicePlan("hashserver", LaunchDict("hashserver", "c", {"command": "hashserver --x 1"}), None, False, "", ""))
    'hashserver'
    """
    return str(sp.launch.get("command") or "").split(" ", 1)[0]


def bind_address(sp: ServicePlan) -> str:
    return sp.launch.get("network_interface") or DEFAULT_BIND


def needs(plan: Plan) -> tuple[Need, ...]:
    """Every observation the plan's checks need, each once, frontends first.

    >>> needs(Plan(None, None, None, None, None, "process", None, False, False, None))
    ()
    """
    out: dict[tuple[Any, ...], Need] = {}

    def add(need: Need) -> None:
        out.setdefault((need.kind, need.host, need.subject, need.role if need.kind in ("ports", "storage", "batch") else None), need)

    for host in _hosts(plan):
        if host is None:
            continue
        add(Need("ssh", host))
        add(Need("hostkey", host))
        tunneled = [sp for sp in plan.services if sp.ssh_host == host and sp.tunnel]
        if tunneled:  # tunnels forward to the frontend's hostname (as the server resolves it)
            add(Need("forwarding", host, tunneled[0].launch.get("hostname") or "localhost"))
        envs = [sp.launch.get("conda") for sp in plan.services if sp.ssh_host == host and sp.launch.get("conda")]
        add(Need("helpers", host, conda=envs[0] if envs else None))  # with conda, its helpers too
    for sp in plan.services:
        conda = sp.launch.get("conda") or None
        add(Need("binary", sp.ssh_host, binary_of(sp), sp.role, conda=conda))
        if conda:
            add(Need("conda", sp.ssh_host, conda, sp.role))
        start, end = sp.launch.get("port_start"), sp.launch.get("port_end")
        if start is not None and end is not None:
            add(Need("ports", sp.ssh_host, bind_address(sp), sp.role, ports=(start, end),
                     count=PORTS_TAKEN.get(sp.role, 1), keys=(sp.key,)))
        if sp.role in STORAGE:
            add(Need("storage", sp.ssh_host, sp.launch.get("workdir"), sp.role))
        if sp.batch is not None:
            add(Need("batch", sp.ssh_host, sp.batch.system, sp.role, batch=sp.batch))
    for host in _hosts(plan):
        add(Need("services", host, keys=tuple(sp.key for sp in plan.services if sp.ssh_host == host)))
    hosts = _hosts(plan)
    # each frontend's own checks first, frontend by frontend; then the services' in plan order
    return tuple(sorted(out.values(), key=lambda n: (0, hosts.index(n.host), KINDS.index(n.kind))
                        if n.kind in KINDS[:4] else (1, 0, 0)))


def _hosts(plan: Plan) -> list[str | None]:
    hosts: list[str | None] = []
    for sp in plan.services:
        if sp.ssh_host not in hosts:
            hosts.append(sp.ssh_host)
    return hosts


# -- what the observations mean ------------------------------------------------------------------

def verdicts(plan: Plan, seen: Iterable[Seen], purged: Sequence[ConfigError] = (),
             notes: Sequence[ConfigError] = ()) -> tuple[Check, ...]:
    """One check per observation, in the order of the needs, then ``purged`` (:func:`.selection.purge_notes`:
    storage an oar cluster deletes) as failures of the storage hosts, then ``notes`` (what else a load
    warns of: :func:`.selection.remote_target_note`) as warnings.

    A running service of the plan passes its port check: it holds its own port.
    """
    seen = list(seen)
    running = {(s.need.host, row.get("key")): row for s in seen if s.need.kind == "services" and s.error is None
               for row in s.value or () if row.get("status") in LIVE}
    out = [_verdict(s, running) for s in seen]
    storage_hosts = {sp.ssh_host for sp in plan.services if sp.role in STORAGE}
    where = next(iter(storage_hosts)) if len(storage_hosts) == 1 else None
    out += [Check(FAIL, "storage", where, e.message, e.hint, origin=e.origin) for e in purged]
    out += [Check(WARN, "plan", None, e.message, e.hint, origin=e.origin) for e in notes]
    if not out:
        out.append(Check(OK, "plan", None, "the plan runs no service (no cluster, or nothing persistent or remote): "
                                          "nothing to check"))
    return tuple(out)


def exit_code(checks: Iterable[Check]) -> int:
    """1 when a check failed, else 0 (warnings pass).

    >>> exit_code([Check(WARN, "conda", None, "no conda")]), exit_code([Check(FAIL, "ssh", "fe", "refused")])
    (0, 1)
    """
    return 1 if any(c.status == FAIL for c in checks) else 0


def _verdict(s: Seen, running: dict[tuple[str | None, Any], dict[str, Any]]) -> Check:
    n = s.need
    if s.error is not None:
        return Check(WARN, n.kind, n.host, f"{_what(n)}: not checked: {s.error}", role=n.role)
    status, message, fix = _JUDGES[n.kind](n, s.value, running)
    return Check(status, n.kind, n.host, message, fix if status != OK else "", n.role,
                 n.batch.origin if n.batch is not None and status == FAIL else None)


def _what(n: Need) -> str:
    return {"ssh": "SSH", "hostkey": "host key", "forwarding": "port forwarding", "helpers": "rhl-* helpers",
            "binary": f"'{n.subject}'", "conda": f"conda environment {n.subject!r}",
            "ports": f"{n.role} ports", "storage": f"{n.role} storage {n.subject}",
            "batch": f"{n.role} batch queue", "services": "services"}[n.kind]


Verdict = tuple[str, str, str]


def _ssh(n: Need, v: dict[str, Any], _r: Any) -> Verdict:
    """``{"reached": bool, "guarded": bool, "kind": auth|hostkey|unreachable|no-client, "detail"}``

    >>> _ssh(Need("ssh", "fe"), {"reached": False, "kind": "auth", "detail": "Permission denied"}, None)[0]
    'fail'
    """
    if v.get("reached"):
        guard = ("; an rhl-guard answers, which runs rhl-* helpers only, so checks that need other "
                 "commands are not made" if v.get("guarded") else "")
        return OK, f"answers over SSH in batch mode (no prompt){guard}", ""
    fixes = {"auth": "load a key the server accepts (ssh-add, or IdentityFile in ~/.ssh/config)",
             "hostkey": "check the server's host key and update ~/.ssh/known_hosts",
             "no-client": "install OpenSSH's client"}
    fix = fixes.get(v.get("kind", ""), f"check the name and the network: ssh -o BatchMode=yes {n.host} true")
    return FAIL, f"cannot be used over SSH: {v.get('detail')}", fix


def _hostkey(n: Need, v: dict[str, Any], _r: Any) -> Verdict:
    """``{"known": bool, "name": "[h]:port", "strict": ssh -G's stricthostkeychecking, "file"}``

    >>> _hostkey(Need("hostkey", "fe"), {"known": False, "name": "fe", "strict": "true"}, None)[0]
    'fail'
    >>> _hostkey(Need("hostkey", "fe"), {"known": False, "name": "fe", "strict": "accept-new"}, None)[0]
    'warn'
    """
    name, strict = v.get("name"), v.get("strict")
    if v.get("known"):
        return OK, f"host key of {name} is known ({v.get('file')})", ""
    keyscan = f"ssh-keyscan {_keyscan_args(str(name))} >> ~/.ssh/known_hosts, after comparing its fingerprint"
    if strict in ("false", "no", "off"):
        return WARN, f"host key of {name} is not in the known hosts files; StrictHostKeyChecking no accepts any key", \
            f"add it: {keyscan}; then drop StrictHostKeyChecking no"
    if strict == "accept-new":
        return WARN, f"host key of {name} is not known yet; StrictHostKeyChecking accept-new takes it on first use", \
            f"add it now: {keyscan}"
    return FAIL, f"host key of {name} is not known: ssh in batch mode refuses the connection", \
        f"connect once by hand (ssh {n.host}) and accept the key, or add it: {keyscan}"


def _keyscan_args(name: str) -> str:
    if name.startswith("[") and "]:" in name:
        host, port = name[1:].split("]:", 1)
        return f"-p {port} {host}"
    return name


def _forwarding(n: Need, v: dict[str, Any], _r: Any) -> Verdict:
    """``{"allowed": bool, "target": "host:port" (the frontend's SSH port), "detail": what ssh said}``

    >>> _forwarding(Need("forwarding", "fe", "login"), {"allowed": False, "target": "login:22", "detail": "no"}, None)[1]
    'the server refused a forwarded channel to login:22 (its own SSH port), as tunnels to its services need (no)'
    """
    target = v.get("target")
    if v.get("allowed"):
        return OK, f"TCP forwarding to {n.subject} works ({v.get('detail')}, over a channel to {target})", ""
    return FAIL, f"the server refused a forwarded channel to {target} (its own SSH port), as tunnels to its " \
                 f"services need ({v.get('detail')})", \
        "ask for 'AllowTcpForwarding yes' (and a PermitOpen that allows it) in the server's sshd_config, " \
        "or set 'tunnel: false' on the cluster"


def _helpers(n: Need, v: dict[str, Any], _r: Any) -> Verdict:
    """``{"checked": [names], "missing": [names], "refused": {name: why}}``"""
    missing, refused = v.get("missing") or [], v.get("refused") or {}
    if missing:
        return FAIL, f"not on the PATH of SSH sessions: {', '.join(missing)}", \
            "install remote-http-launcher there (pip install remote-http-launcher) into ~/miniforge3, " \
            "~/miniconda3 or an environment on the PATH of non-interactive SSH sessions"
    if refused:
        name, why = next(iter(refused.items()))
        return FAIL, f"the SSH guard refuses {name}: {why}", \
            "give rhl-guard a path policy in authorized_keys (--clear-policy seamless, or --data-roots FILE)"
    return OK, f"remote-http-launcher's helpers answer: {', '.join(v.get('checked') or [])}", ""


def _binary(n: Need, v: dict[str, Any], _r: Any) -> Verdict:
    """``{"path": str or None, "package": pip package, "detail": why not found}``"""
    env = f" (conda environment {n.conda!r})" if n.conda and v.get("in_conda") else ""
    if v.get("path"):
        return OK, f"'{n.subject}' for the {n.role}: {v['path']}{env}", ""
    where = "the PATH services get on this machine" if n.host is None else f"the PATH services get over SSH on {n.host}"
    into = f" into conda environment {n.conda!r}" if env else ""
    return FAIL, v.get("detail") or f"'{n.subject}' for the {n.role} is not on {where}{env}", \
        f"install it there: pip install {v.get('package') or n.subject}{into}"


def _conda(n: Need, v: dict[str, Any], _r: Any) -> Verdict:
    """``{"envs": [names]}``; this machine: ``{"conda": False}`` without conda (a launch then takes the
    program from the PATH); over SSH: ``{"cache": False, "detail"}`` without rhl-conda-info's cache."""
    if not v.get("conda", True):
        return WARN, f"no conda on this machine: conda environment {n.subject!r} of the {n.role} is not used, " \
                     "its program must be on the PATH", \
            "install conda (Miniforge), or remove 'conda:' from the cluster definition"
    if not v.get("cache", True):
        return WARN, f"conda environment {n.subject!r} not checked: {n.host} has no conda cache " \
                     f"(rhl-conda-info: {v.get('detail')}); the launch runs rhl-cache-conda first", \
            f"run 'ssh {n.host} rhl-cache-conda' (it writes ~/.remote-http-launcher/conda-setup.json), then doctor again"
    if n.subject in (v.get("envs") or ()):
        return OK, f"conda environment {n.subject!r} of the {n.role} exists", ""
    return FAIL, f"conda environment {n.subject!r} of the {n.role} does not exist (there are: " \
                 f"{', '.join(v.get('envs') or []) or 'none'})", \
        f"create it (conda create -n {n.subject}) and install the {n.role} in it, or remove 'conda:' " \
        "from the cluster definition"


def _ports(n: Need, v: dict[str, Any], running: dict[tuple[str | None, Any], dict[str, Any]]) -> Verdict:
    """``{"free": [ports], "tried": int, "how": "bind" or "connect"}``; a running service of the plan
    passes (it holds its own port).

    >>> need = Need("ports", None, "127.0.0.1", "hashserver", ports=(5000, 5001), keys=("k",))
    >>> _ports(need, {"free": [], "tried": 2, "how": "bind"}, {})[0]
    'fail'
    >>> _ports(need, {"free": [], "tried": 2, "how": "bind"}, {(None, "k"): {"port": 5000}})[:2]
    ('ok', 'hashserver runs already, on port 5000 of 5000-5001')
    """
    assert n.ports is not None
    span = f"{n.ports[0]}-{n.ports[1]}"
    for key in n.keys:
        row = running.get((n.host, key))
        if row is not None:
            return OK, f"{n.role} runs already, on port {row.get('port')} of {span}", ""
    free = v.get("free") or []
    how = "bound" if v.get("how") == "bind" else "rhl-verify-port: nothing answers there"
    if len(free) >= n.count:
        ports = ", ".join(str(p) for p in free[:n.count])
        return OK, f"{n.role} can listen on {n.subject}, port {ports} of {span} ({how})", ""
    return FAIL, f"{n.role} needs {n.count} free port{'s' if n.count > 1 else ''} on {n.subject} in {span}, " \
                 f"found {len(free)} of {v.get('tried')} tried", \
        f"stop what holds them, or widen 'port_start'/'port_end' of the {n.role} section"


def _storage(n: Need, v: dict[str, Any], _r: Any) -> Verdict:
    """``{"existing": the path or its nearest existing parent, "is_dir", "writable", "free": bytes or None}``

    >>> need = Need("storage", None, "/b/p", "hashserver")
    >>> _storage(need, {"existing": "/b", "is_dir": True, "writable": False, "free": 10}, None)[1]
    '/b/p can not be created: /b is not writable'
    >>> _storage(need, {"existing": "/b/p", "is_dir": True, "writable": True, "free": 5 * 2**30}, None)[:2]
    ('ok', '/b/p exists, is writable, 5.0 GiB free')
    """
    path, existing = n.subject, v.get("existing")
    field = "bufferdir" if n.role == "hashserver" else "database_dir"
    fix = f"make it writable by this user, or point '{field}' of the {n.role} at a writable directory"
    state = "exists" if existing == path else "can be created"
    if not v.get("is_dir"):
        return FAIL, f"{path} can not be created: {existing} is not a directory", fix
    if not v.get("writable"):
        what = f"{path} is not writable" if existing == path else f"{path} can not be created: {existing} is not writable"
        return FAIL, what, fix
    free = v.get("free")
    if free is None:
        return OK, f"{path} {state}, is writable (free space not known)", ""
    if free < LOW_SPACE:
        return WARN, f"{path} {state}, is writable, but only {_gib(free)} free", \
            f"free some space there, or move '{field}' to a larger disk"
    return OK, f"{path} {state}, is writable, {_gib(free)} free", ""


def _gib(size: int) -> str:
    return f"{size / 2**30:.1f} GiB" if size >= 2**30 else f"{size / 2**20:.0f} MiB"


def _batch(n: Need, v: tuple[int, str, str] | None, _r: Any) -> Verdict:
    """What :data:`.batch.COMMANDS` gave (exit code, stdout, stderr; ``None``: it could not be run
    there), judged by :func:`.batch.judge`."""
    ask = n.batch
    assert ask is not None
    tool = COMMANDS[ask.system][0]
    if v is None:
        return WARN, f"queue {ask.queue!r} not checked: {tool} could not be run there", \
            f"make {tool} available on the PATH of the frontend that submits the jobs"
    code, out, err = v
    if code != 0:
        return FAIL, batch_down(ask.system, n.host or "localhost", err), ""
    offer = parse_offer(ask.system, out)
    mistake = judge(ask, offer)
    if mistake is not None:
        return FAIL, mistake.message, mistake.hint
    return OK, f"queue {ask.queue!r} of cluster {ask.cluster!r} fits: {_offered(ask, offer)}", ""


def _offered(ask: BatchAsk, offer: Offer) -> str:
    if ask.system == "slurm":
        p = offer.partition(ask.partition)
        if p is None:
            return "sinfo lists no partition to compare with"
        limit = "no time limit" if p.max_time is None else f"time limit {p.max_time // 3600:02d}:{p.max_time % 3600 // 60:02d}:{p.max_time % 60:02d}"
        return f"SLURM partition {p.name!r} ({limit}, nodes up to {p.cpus} CPUs and {p.memory_mib} MiB)"
    return f"OAR properties {', '.join(offer.properties) or 'none'}, nodes up to {offer.node_cores} cores"


def _services(n: Need, rows: list[dict[str, Any]], _r: Any) -> Verdict:
    """The host's server states (``Host.list_states`` rows) of the plan's keys, as ``seamless-service-ps``
    shows them: running, starting, stale, failed...

    >>> need = Need("services", None, keys=("hashserver-c-rw-p", "database-c-rw-p"))
    >>> _services(need, [{"key": "hashserver-c-rw-p", "status": "stale", "pid": 7}], None)[:2]
    ('warn', 'hashserver-c-rw-p: stale (its process is gone); database-c-rw-p: not running')
    """
    by_key = {r.get("key"): r for r in rows or ()}
    parts, bad = [], []
    for key in n.keys:
        row = by_key.get(key)
        if row is None:
            parts.append(f"{key}: not running")
            continue
        status = row.get("status")
        if status in LIVE:
            parts.append(f"{key}: {status} (pid {row.get('pid')}, port {row.get('port')})")
        else:
            bad.append(key)
            parts.append(f"{key}: {status}" + (" (its process is gone)" if status == "stale" else ""))
    if bad:
        return WARN, "; ".join(parts), \
            "seamless-init replaces it; to remove it now: seamless-service-rm --service SERVICE (with the " \
            "same --stage), or seamless-service-ps --server to see it"
    return OK, "; ".join(parts) or "no service of the plan here", ""


_JUDGES: dict[str, Callable[[Need, Any, Any], Verdict]] = {"ssh": _ssh, "hostkey": _hostkey, "forwarding": _forwarding, "helpers": _helpers, "binary": _binary,
           "conda": _conda, "ports": _ports, "storage": _storage, "batch": _batch, "services": _services}


# -- JSON forms ---------------------------------------------------------------------------------

def as_json(checks: Sequence[Check]) -> dict[str, Any]:
    """The ``--json`` document: one object per check.

    >>> doc = as_json([Check(WARN, "conda", None, "no conda", "install it")])
    >>> doc["schema"], doc["ok"], doc["checks"][0]["status"]
    ('seamless-config/doctor/1', True, 'warn')
    """
    return {"schema": SCHEMA, "ok": exit_code(checks) == 0, "checks": [c.as_json() for c in checks]}
