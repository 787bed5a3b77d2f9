"""What bringing a plan's services up gave: an :class:`Outcome` per service, and the storage clients
they make (for the job service's parameters and for the runtime); or a :class:`LaunchError`.

:func:`all_answering` is a warm ``init()``: every service reused as it is (the
launcher's first step, :func:`effects.reuse.probe_target`), without loading
the launch protocol and its shell (:mod:`effects.launcher`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from seamless_config.core.clients import CHECK_TIMEOUT, STORAGE, storage_clients
from seamless_config.core.frozen import EMPTY, FrozenDict, frozen_map

from . import http_probe, statefiles
from .reuse import probe_target

if TYPE_CHECKING:
    from seamless_config.core.plan import ServicePlan


class LaunchError(RuntimeError):
    """A service could not be brought up; the message says which, where, why and what to do.
    ``mistake``: when the cause is the configuration (a queue its batch system cannot serve)."""

    def __init__(self, message: str, mistake: Any = None) -> None:
        super().__init__(message)
        self.mistake = mistake


def require(module: str, missing: str, install: str, error: type[LaunchError] = LaunchError) -> Any:
    """``module``, imported; else ``error`` with ``missing`` (what is not installed), the import's
    complaint and ``install`` (how to install it)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise error(f"{missing} ({exc}); {install}") from None


class Outcome(NamedTuple):
    """What happened to one service. (A named tuple, not an attrs class: a warm ``init()`` imports
    this module, and generating an attrs class would be a sixth of its time.)"""

    role: str
    key: str
    host: str
    state: str  # launched / reused
    hostname: str
    port: int
    client: dict[str, Any]
    seconds: float
    #: seconds after the bring-up began: ``queued`` (its turn came), ``launched`` (the process was
    #: started; absent when reused), ``answering`` (its health check answered)
    timeline: FrozenDict = EMPTY


def all_answering(services: Sequence[ServicePlan], meanwhile: Callable[[], object] | None = None
                  ) -> list[Outcome] | None:
    """Every service of a plan reused as it is (storage first, then the job service with the storage
    clients as its parameters), in :func:`effects.launcher.bring_up`'s order; ``None`` as soon as
    one is not, and then the launcher takes over. The client files are read and compared first;
    then all the services are health-checked at once, and ``meanwhile`` runs while they answer."""
    began = time.monotonic()
    storage = [sp for sp in services if sp.role in STORAGE]
    out: list[Outcome] = []
    targets: list[tuple[str, int, str]] = []
    for sp in storage + [sp for sp in services if sp.role not in STORAGE]:
        wanted = sp.launch.get("file_parameters")
        if sp.role == "jobserver":
            wanted = {**(wanted or {}), **remote_clients(storage, out[: len(storage)])}
        existing = statefiles.read_client(sp.key)
        target = probe_target(existing, wanted, sp.check_port_field, sp.check_path, sp.launch.get("workdir"))
        if existing is None or target is None:
            return None
        targets.append(target)
        out.append(Outcome(sp.role, sp.key, sp.ssh_host or "localhost", "reused", existing["hostname"],
                           int(existing["port"]), existing, 0.0))
    if not http_probe.all_answer(targets, CHECK_TIMEOUT, meanwhile):
        return None
    t = round(time.monotonic() - began, 3)
    return [o._replace(seconds=t, timeline=frozen_map({"queued": 0.0, "answering": t})) for o in out]


def remote_clients(services: Sequence[ServicePlan], outcomes: Sequence[Outcome]) -> dict[str, list[dict[str, Any]]]:
    """The buffer and database clients, as workers on the cluster and this process reach them."""
    plans = {sp.key: sp for sp in services}
    return storage_clients(service_facts(plans[o.key], o) for o in outcomes)


def service_facts(sp: ServicePlan, o: Outcome) -> dict[str, Any]:
    """What :func:`seamless_config.core.clients.storage_clients` needs of a service and its outcome, as plain values."""
    return {"role": sp.role, "readonly": sp.readonly, "launch_hostname": sp.launch.get("hostname"),
            "workdir": sp.launch.get("workdir"), "ssh_host": sp.ssh_host,
            "hostname": o.hostname, "port": o.port, "client": o.client}
