"""Client connection files and storage clients, on plain values (standard library only).

What a client file says of a service, whether it may be reused, and what the
jobserver is told of the storage services. :mod:`seamless_config.core.bringup`
decides with these, and so does ``seamless-init``'s warm lane
(:mod:`effects.warm`), which must load nothing but the standard library.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any


#: the storage services (brought up first: the job services are given their clients)
STORAGE = ("hashserver", "database")
#: how a storage service is opened: read-write, read-only
MODES = ("rw", "ro")
#: the statuses of a server state file whose process is alive, or about to be
LIVE = ("running", "starting")
#: seconds for one health check of a client file
CHECK_TIMEOUT = 5.0


def port_of(data: Mapping[str, Any], field: str) -> int | None:
    """``data[field]`` when it is a port number (a positive ``int``, not a ``bool``)."""
    value = data.get(field)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def same_parameters(data: Mapping[str, Any], wanted: Mapping[str, Any] | None) -> bool:
    """Whether a service (its client file or server state) got the parameters this plan gives it."""
    return wanted is None or data.get("parameters") == wanted


def usable(client: Mapping[str, Any], workdir: str | None) -> bool:
    """Whether a client file may be reused before its parameters and health are checked: not
    marked stale or corrupt, and written for a service in ``workdir`` (its storage)."""
    return client.get("status") not in ("stale", "corrupt") and (workdir is None or client.get("workdir") == workdir)


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def client_payload(launch: Any, state: Mapping[str, Any]) -> dict[str, Any]:
    """The client file of a running service as it listens (no tunnel): from its launch dict
    (anything with ``.get``) and its server state.

    A service bound to every interface (``0.0.0.0``, ``::``) is reached at ``localhost``.
    """
    hostname = (launch.get("hostname") or state.get("network_interface") or launch.get("network_interface")
                or "localhost")
    if hostname in ("0.0.0.0", "::"):
        hostname = "localhost"
    payload: dict[str, Any] = {"hostname": hostname, "port": int(state["port"])}
    if launch.get("workdir") is not None:
        payload["workdir"] = launch.get("workdir")  # its storage: a client file is reused only for the same
    for name, value in state.items():
        if isinstance(name, str) and (name.endswith("_port") or name.endswith("-port")) and isinstance(value, int):
            payload[name] = value
    if launch.get("hostname") and launch.get("ssh_hostname") and launch.get("ssh_hostname") != launch.get("hostname"):
        payload["ssh_hostname"] = launch.get("ssh_hostname")
    if isinstance(state.get("parameters"), dict):
        payload["parameters"] = dict(state["parameters"])
    meta = launch.get("meta")
    if meta is not None:
        payload["meta"] = dict(meta)
    return payload


def storage_clients(services: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The buffer and database clients, as workers on the cluster and this process reach them.

    Each service: ``role``, ``readonly``, ``launch_hostname`` (where it listens for the
    cluster), ``workdir``, ``ssh_host``, and its outcome's ``hostname``, ``port`` and
    ``client`` (the client file's content).
    """
    out: dict[str, list[dict[str, Any]]] = {"database": [], "buffer": []}
    for s in services:
        if s["role"] not in STORAGE:
            continue
        url = f"http://{url_host(s['hostname'])}:{s['port']}"
        remote_host = s["launch_hostname"] or s["hostname"]
        remote_port = s["client"].get("tunneled-port", s["port"])
        entry: dict[str, Any] = {
            "readonly": s["readonly"],
            "url": url,
            "remote_url": f"http://{url_host(remote_host)}:{remote_port}",
            "directory": None,
            "remote_directory": None,
        }
        if s["role"] == "hashserver":
            if s["ssh_host"] is None:
                entry["directory"] = s["workdir"]
            if not s["readonly"]:
                entry["remote_directory"] = s["workdir"]
            out["buffer"].append(entry)
        else:
            out["database"].append(entry)
    return out
