"""What bringing a plan's services up gave: an :class:`Outcome` per service, and the storage clients
they make (for the job service's parameters and for the runtime); or a :class:`LaunchError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from seamless_config.core.clients import storage_clients
from seamless_config.core.frozen import EMPTY, FrozenDict

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


def remote_clients(services: Sequence[ServicePlan], outcomes: Sequence[Outcome]) -> dict[str, list[dict[str, Any]]]:
    """The buffer and database clients, as workers on the cluster and this process reach them."""
    plans = {sp.key: sp for sp in services}
    return storage_clients(service_facts(plans[o.key], o) for o in outcomes)


def service_facts(sp: ServicePlan, o: Outcome) -> dict[str, Any]:
    """What :func:`seamless_config.core.clients.storage_clients` needs of a service and its outcome, as plain values."""
    return {"role": sp.role, "readonly": sp.readonly, "launch_hostname": sp.launch.get("hostname"),
            "workdir": sp.launch.get("workdir"), "ssh_host": sp.ssh_host,
            "hostname": o.hostname, "port": o.port, "client": o.client}
