"""What this process holds of the outside world, in one object.

The rest of the shell is functions over a plan; the few things that outlive a
call live in :data:`SHELL`:

- the service processes this process started (reaped when they exit while it runs,
  :meth:`Shell.adopt`);
- the SSH master connections and the SSH hosts built on them (one per destination,
  :meth:`Shell.keep`);
- the runtime clients that :mod:`effects.runtime` connected (:class:`RuntimeClients`).

:meth:`Shell.reset` lets go of all of it: it disconnects the runtime clients, closes the
SSH connections and forgets the rest (the tests call it after each case). Commands that used
SSH close its connections when they are done (:meth:`Shell.close_ssh`).
"""

from __future__ import annotations

import _thread

TYPE_CHECKING = False  # (typing is not imported at run time: see effects/statefiles.py)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from typing import Any, TypeVar

    T = TypeVar("T")


class RuntimeClients:
    """The runtime clients this process connected: the Dask client, the plan's activation and cluster they were
    connected for, the storage clients given to workers, and the seamless-remote extern client names
    defined for launched services (not reported again as extern clients)."""

    __slots__ = ("dask_client", "activation", "cluster", "clients", "names")

    def __init__(self) -> None:
        self.dask_client: Any = None
        self.activation: dict[str, Any] | None = None
        self.cluster: str | None = None
        self.clients: dict[str, list[dict[str, Any]]] = {"database": [], "buffer": []}
        self.names: set[str] = set()


class Shell:
    """Child processes, SSH connections and hosts, runtime clients: see the module's docstring."""

    def __init__(self) -> None:
        # services are brought up from one thread each; reentrant: making an SSH host keeps its connection
        self._lock = _thread.RLock()
        self.children: list[subprocess.Popen[bytes]] = []
        self.ssh_connections: dict[Any, Any] = {}
        self.ssh_hosts: dict[Any, Any] = {}
        self.runtime = RuntimeClients()

    def adopt(self, proc: subprocess.Popen[bytes]) -> None:
        """Keep a started service's process, so that it is reaped if it exits while this process runs
        (services outlive this process: they run in their own session)."""
        with self._lock:
            self.children.append(proc)
            self.children[:] = [p for p in self.children if p.poll() is None]

    def keep(self, table: dict[Any, T], key: Any, make: Callable[[], T]) -> T:
        """``table[key]``, made by ``make`` the first time (one SSH connection or host per key)."""
        with self._lock:
            value = table.get(key)
            if value is None:
                value = table[key] = make()
            return value

    def close_ssh(self) -> None:
        """Close every SSH master connection (they would linger for ControlPersist) and forget the hosts."""
        with self._lock:
            connections = list(self.ssh_connections.values())
            self.ssh_connections.clear()
            self.ssh_hosts.clear()
        for c in connections:
            c.close()

    def reset(self) -> None:
        """Let go of everything: disconnect the runtime clients, close the SSH connections, forget
        the child processes (they keep running: services outlive their launcher)."""
        from .runtime import deactivate

        deactivate()
        self.close_ssh()
        with self._lock:
            self.children.clear()


#: the one shell of this process
SHELL = Shell()

__all__ = ["SHELL", "Shell", "RuntimeClients"]
