"""What a batch queue asks of its batch system, and whether the system offers it.

A daskserver on a ``slurm`` or ``oar`` cluster submits its workers as batch jobs. A
queue that names a partition SLURM does not have, or a memory property OAR does not
know, makes every submission fail, and seamless-dask-wrapper then waits for workers
that never come. So before such a daskserver is launched, the shell asks the batch
system what it offers (``sinfo`` / ``oarnodes``, on the frontend that submits) and
:func:`judge` compares: a queue asking for what is not there is a mistake, reported
at once, in one line that names the queue and what the batch system does offer.

Everything here is pure: :func:`parse_sinfo` and :func:`parse_oarnodes` read the
commands' output, :func:`judge` decides. What cannot be observed (the command is
missing or refused) is not judged.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from .errors import BATCH_OFFER, ConfigError, Origin

#: the batch systems whose offer is checked, and the command that lists it (run on the frontend)
COMMANDS: dict[str, tuple[str, ...]] = {
    "slurm": ("sinfo", "--noheader", "--format=%P|%l|%c|%m|%a"),
    "oar": ("oarnodes", "-J"),
}


@attrs.frozen
class Partition:
    """A SLURM partition as ``sinfo`` lists it (one row per node configuration, merged)."""

    name: str
    #: seconds; ``None``: no limit
    max_time: int | None
    #: the most CPUs and memory (MiB) of one of its nodes
    cpus: int
    memory_mib: int
    default: bool = False
    up: bool = True


@attrs.frozen
class Offer:
    system: str
    partitions: tuple[Partition, ...] = ()
    #: OAR: the resource properties, and the most cores of one node
    properties: tuple[str, ...] = ()
    node_cores: int = 0

    def partition(self, name: str | None) -> Partition | None:
        for p in self.partitions:
            if p.name == name or (name is None and p.default):
                return p
        return None


@attrs.frozen
class BatchAsk:
    """What one daskserver's queue asks for."""

    system: str
    cluster: str
    queue: str
    partition: str | None = None
    walltime: str | None = None
    cores: int | None = None
    memory: str | None = None
    #: OAR: the property holding each resource's memory (``memory_per_core_property_name``)
    memory_property: str | None = None
    origin: Origin | None = attrs.field(default=None, eq=False)


def ask_of(system: str, cluster: str, queue: str, file_parameters: dict[str, Any],
           origin: Origin | None = None) -> BatchAsk:
    """The ask of a daskserver's launch dict (its ``file_parameters``, as seamless-dask-wrapper reads them).

    >>> ask_of("slurm", "hpc", "small", {"partition": "gpu", "cores": 2, "walltime": "01:00:00"}).partition
    'gpu'
    """
    fp = file_parameters
    cores = fp.get("job_cores") if fp.get("job_cores") is not None else fp.get("cores")
    return BatchAsk(system, cluster, queue, partition=fp.get("partition"), walltime=fp.get("walltime"),
                    cores=cores if isinstance(cores, int) else None, memory=fp.get("memory"),
                    memory_property=fp.get("memory_per_core_property_name"), origin=origin)


# -- reading what the batch system says -------------------------------------------------------

def slurm_seconds(text: str) -> int | None:
    """A SLURM time (``infinite``, ``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``) in seconds.

    >>> [slurm_seconds(t) for t in ("infinite", "30", "1:30", "02:00:00", "1-00:00:00", "2-12")]
    [None, 1800, 90, 7200, 86400, 216000]
    """
    text = text.strip()
    if text in ("infinite", "UNLIMITED", "n/a", ""):
        return None
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
        parts = [int(x) for x in text.split(":")] + [0, 0]
        h, m, s = parts[0], parts[1], parts[2]
    else:
        parts = [int(x) for x in text.split(":")]
        if len(parts) == 1:
            h, m, s = 0, parts[0], 0
        elif len(parts) == 2:
            h, m, s = 0, parts[0], parts[1]
        else:
            h, m, s = parts[0], parts[1], parts[2]
    return ((days * 24 + h) * 60 + m) * 60 + s


def walltime_seconds(text: str) -> int | None:
    """A queue's walltime (``HH:MM:SS``, as dask-jobqueue passes it on; SLURM's forms too), or ``None``
    when it cannot be read (then it is not judged).

    >>> walltime_seconds("00:10:00"), walltime_seconds("soon")
    (600, None)
    """
    try:
        return slurm_seconds(text)
    except ValueError:
        return None


_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_bytes(text: str) -> int | None:
    """A queue's memory as dask reads it (``500MB`` is 500e6 bytes, ``4GiB`` 4 * 2**30), or ``None``.

    >>> memory_bytes("500MB"), memory_bytes("4GiB"), memory_bytes("lots")
    (500000000, 4294967296, None)
    """
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", str(text))
    if m is None or m[2].lower() not in _UNITS:
        return None
    return int(float(m[1]) * _UNITS[m[2].lower()])


def _count(text: str) -> int:
    return int(re.sub(r"\D.*$", "", text) or 0)


def parse_sinfo(out: str) -> Offer:
    """``sinfo --noheader --format=%P|%l|%c|%m|%a``: one row per partition and node configuration.

    >>> o = parse_sinfo("debug*|infinite|2|23000|up\\ngpu|1-00:00:00|8+|64000+|up\\n")
    >>> [(p.name, p.max_time, p.cpus, p.memory_mib, p.default) for p in o.partitions]
    [('debug', None, 2, 23000, True), ('gpu', 86400, 8, 64000, False)]
    """
    merged: dict[str, Partition] = {}
    for line in out.splitlines():
        cells = line.strip().split("|")
        if len(cells) < 5 or not cells[0]:
            continue
        name, default = cells[0].rstrip("*"), cells[0].endswith("*")
        try:
            p = Partition(name, slurm_seconds(cells[1]), _count(cells[2]), _count(cells[3]), default,
                          cells[4].strip() == "up")
        except ValueError:
            continue
        if name in merged:
            q = merged[name]
            p = attrs.evolve(q, cpus=max(q.cpus, p.cpus), memory_mib=max(q.memory_mib, p.memory_mib))
        merged[name] = p
    return Offer("slurm", partitions=tuple(merged.values()))


#: the columns of OAR's resources table that are OAR's own, not properties an administrator declared
_OAR_OWN = frozenset({"resource_id", "network_address", "state", "state_num", "next_state", "finaud_decision",
                      "next_finaud_decision", "scheduler_priority", "last_job_date", "available_upto",
                      "last_available_upto", "expiry_date", "suspended_jobs", "type", "besteffort", "deploy",
                      "desktop_computing", "drain", "cpuset", "jobs", "properties"})


def parse_oarnodes(out: str) -> Offer:
    """``oarnodes -J``: every resource with its properties (OAR 2.5 puts them beside its own columns).

    >>> o = parse_oarnodes('{"1": {"network_address": "n1", "resource_id": 1, "memcore": 12000, "core": 0},'
    ...                    ' "2": {"network_address": "n1", "resource_id": 2, "memcore": 12000, "core": 1}}')
    >>> o.properties, o.node_cores
    (('core', 'memcore'), 2)
    """
    try:
        data = json.loads(out or "{}")
    except ValueError:
        return Offer("oar")
    rows = list(data.values()) if isinstance(data, dict) else list(data) if isinstance(data, list) else []
    props: set[str] = set()
    per_node: dict[str, int] = {}
    for row in rows:
        if not isinstance(row, dict):
            continue
        nested = row.get("properties")
        props.update(k for k in (nested if isinstance(nested, dict) else row) if k not in _OAR_OWN)
        node = row.get("network_address")
        if isinstance(node, str):
            per_node[node] = per_node.get(node, 0) + 1
    return Offer("oar", properties=tuple(sorted(props)), node_cores=max(per_node.values(), default=0))


def parse_offer(system: str, out: str) -> Offer:
    """The output of :data:`COMMANDS` ``[system]`` as an :class:`Offer`."""
    return parse_sinfo(out) if system == "slurm" else parse_oarnodes(out)


# -- the decision -------------------------------------------------------------------------------

def _listing(names: list[str]) -> str:
    return ", ".join(names) if names else "none"


def judge(ask: BatchAsk, offer: Offer) -> ConfigError | None:
    """The first thing ``ask`` wants that ``offer`` does not have, as a mistake of the queue; else ``None``.

    >>> slurm = parse_sinfo("debug*|1:00:00|2|23000|up\\n")
    >>> print(judge(BatchAsk("slurm", "hpc", "small", partition="gpu"), slurm))
    queue 'small' of cluster 'hpc' asks for SLURM partition 'gpu', which sinfo does not list (it lists: debug) (name one of those partitions in the queue's 'partition', or remove 'partition' to use the default)
    >>> judge(BatchAsk("slurm", "hpc", "small", walltime="00:30:00", cores=2), slurm) is None
    True
    """
    where = f"queue {ask.queue!r} of cluster {ask.cluster!r}"
    if ask.system == "slurm":
        return _judge_slurm(ask, offer, where)
    if ask.system == "oar":
        return _judge_oar(ask, offer, where)
    return None


def _judge_slurm(ask: BatchAsk, offer: Offer, where: str) -> ConfigError | None:
    names = [p.name for p in offer.partitions]
    if not names:
        return None
    part = offer.partition(ask.partition)
    if part is None:
        if ask.partition is None:
            return None  # no default partition: sbatch says so itself
        return BATCH_OFFER(f"{where} asks for SLURM partition {ask.partition!r}, which sinfo does not list "
                           f"(it lists: {_listing(names)})", ask.origin,
                           "name one of those partitions in the queue's 'partition', or remove 'partition' "
                           "to use the default")
    label = f"SLURM partition {part.name!r}"
    wall = walltime_seconds(ask.walltime) if ask.walltime else None
    if wall is not None and part.max_time is not None and wall > part.max_time:
        return BATCH_OFFER(f"{where} asks for walltime {ask.walltime}, over the limit of {label} "
                           f"({_hms(part.max_time)})", ask.origin,
                           f"ask for at most {_hms(part.max_time)} in the queue's 'walltime', or name a "
                           "partition that allows more")
    if ask.cores is not None and part.cpus and ask.cores > part.cpus:
        return BATCH_OFFER(f"{where} asks for {ask.cores} cores per job, but the nodes of {label} have at "
                           f"most {part.cpus}", ask.origin,
                           f"ask for at most {part.cpus} in the queue's 'cores', or name a larger partition")
    mem = memory_bytes(ask.memory) if ask.memory else None
    if mem is not None and part.memory_mib and mem > part.memory_mib * 2**20:
        return BATCH_OFFER(f"{where} asks for {ask.memory} of memory per job, but the nodes of {label} have "
                           f"at most {part.memory_mib} MiB", ask.origin,
                           f"ask for at most {part.memory_mib}MiB in the queue's 'memory', or name a larger "
                           "partition")
    return None


def _judge_oar(ask: BatchAsk, offer: Offer, where: str) -> ConfigError | None:
    if not offer.properties and not offer.node_cores:
        return None
    if ask.memory_property and ask.memory_property != "not_applicable" \
            and ask.memory_property not in offer.properties:
        return BATCH_OFFER(f"{where} asks OAR for resources by property {ask.memory_property!r} "
                           f"(memory_per_core_property_name), which oarnodes does not list (it lists: "
                           f"{_listing(list(offer.properties))})", ask.origin,
                           "set the cluster's 'memory_per_core_property_name' to the property that holds "
                           "each core's memory in MiB")
    if ask.cores is not None and offer.node_cores and ask.cores > offer.node_cores:
        return BATCH_OFFER(f"{where} asks for {ask.cores} cores per job, but the largest OAR node has "
                           f"{offer.node_cores}", ask.origin,
                           f"ask for at most {offer.node_cores} in the queue's 'cores'")
    return None


#: what runs each batch system, for the message when it does not answer
CONTROLLERS = {"slurm": "slurmctld", "oar": "OAR's server (oar-server)"}


def batch_down(system: str, host: str, stderr: str) -> str:
    """The message when the batch system's listing command fails on ``host``.

    >>> batch_down("slurm", "localhost", "sinfo: error: Unable to contact slurm controller (connect failure)\\n")
    "SLURM does not answer on localhost (sinfo: error: Unable to contact slurm controller (connect failure)): no worker job could be submitted; start slurmctld, or ask the cluster's administrators, then bring the services up again"
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    why = lines[-1] if lines else f"{COMMANDS[system][0]} failed"
    return (f"{system.upper()} does not answer on {host} ({why}): no worker job could be submitted; "
            f"start {CONTROLLERS[system]}, or ask the cluster's administrators, then bring the services up again")


def _hms(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    return f"{h:02d}:{rest // 60:02d}:{rest % 60:02d}"
