"""Bring services up, or find them already up: the remote-http-launcher protocol.

For each service of a plan: under a per-key lock, reuse it when its client
file and health check say it answers; else reuse a running server found in the
server state (and write the client file); else clean up what is stale and
launch it, wait for its status file to say ``running`` (polling the file, no
fixed sleeps), check its health once, and write the client file. All services
of a plan start at once, one thread each.
"""

from __future__ import annotations

import re
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from seamless_config.core.plan import ServicePlan

from . import reuse, statefiles, tunnels
from .hosts import Host, LaunchError, LocalHost

START_TIMEOUT = 120.0  # seconds for a service to report "running"


@attrs.frozen
class Outcome:
    """What happened to one service."""

    role: str
    key: str
    host: str
    state: str  # launched / reused
    hostname: str
    port: int
    client: dict[str, Any]
    seconds: float


class Reporter:
    """Progress of a bring-up; the default does nothing."""

    def starting(self, sp: ServicePlan) -> None:
        pass

    def done(self, outcome: Outcome) -> None:
        pass

    def failed(self, sp: ServicePlan, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=4)


def evaluate_command(template: str, status_file: str) -> list[str]:
    """The argv of a launch dict's ``command``: ``{status_file}`` filled in, braces unescaped.

    >>> evaluate_command("hashserver --status-file {status_file} /b/{{x}}", "/s.json")
    ['hashserver', '--status-file', '/s.json', '/b/{x}']
    """
    parts = [p.replace("{{", "{").replace("}}", "}") for p in template.split("{status_file}")]
    return shlex.split(shlex.quote(status_file).join(parts))


def _client_payload(sp: ServicePlan, state: dict[str, Any]) -> dict[str, Any]:
    ld = sp.launch
    hostname = ld.get("hostname") or state.get("network_interface") or ld.get("network_interface") or "localhost"
    if hostname in ("0.0.0.0", "::"):
        hostname = "localhost"
    payload: dict[str, Any] = {"hostname": hostname, "port": int(state["port"])}
    if ld.get("workdir") is not None:
        payload["workdir"] = ld.get("workdir")  # its storage: a client file is reused only for the same
    for name, value in state.items():
        if isinstance(name, str) and (name.endswith("_port") or name.endswith("-port")) and isinstance(value, int):
            payload[name] = value
    if ld.get("hostname") and ld.get("ssh_hostname") and ld.get("ssh_hostname") != ld.get("hostname"):
        payload["ssh_hostname"] = ld.get("ssh_hostname")
    if isinstance(state.get("parameters"), dict):
        payload["parameters"] = dict(state["parameters"])
    meta = ld.get("meta")
    if meta is not None:
        payload["meta"] = dict(meta)
    return payload


def connect(sp: ServicePlan, host: Host, state: dict[str, Any]) -> dict[str, Any]:
    """The client file for a running service: as it listens, or through a new SSH tunnel (``sp.tunnel``)."""
    payload = _client_payload(sp, state)
    if not sp.tunnel:
        return payload
    return tunnels.tunneled_payload(host, sp.launch.get("hostname") or payload["hostname"], state, payload)


def _diagnose(log_tail: str, sp: ServicePlan, host: Host) -> str | None:
    """A one-line cause for the failures a service's log makes plain."""
    m = re.search(r"No free port available in range (\d+)-(\d+)", log_tail)
    if m:
        return (f"{sp.role} {sp.key} on {host.name}: every port of its range {m[1]}-{m[2]} is taken "
                "(widen port_start/port_end in the cluster definition, or stop what uses them)")
    return None


def _check_port(sp: ServicePlan, data: dict[str, Any]) -> int | None:
    return reuse.port_of(data, sp.check_port_field)


def ensure_service(
    sp: ServicePlan,
    host: Host,
    reporter: Reporter | None = None,
    parameters: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
) -> Outcome:
    """Reuse or launch one service; raises :class:`LaunchError` with the cause and the fix.

    ``parameters`` replaces the launch dict's ``file_parameters`` (the jobserver
    gets the storage clients there); a running service started with other
    parameters is replaced. It may be a function that waits for them: a cold
    service is then started at once and given its parameters when known (the
    services wait for their status file).
    """
    rep = reporter or Reporter()
    if parameters is None:
        parameters = sp.launch.get("file_parameters")
    known: list[dict[str, Any] | None] = []

    def wanted_now() -> dict[str, Any] | None:
        if not known:
            known.append(parameters() if callable(parameters) else parameters)
        return known[0]
    rep.starting(sp)
    t0 = time.monotonic()
    key = sp.key
    with statefiles.key_lock(key):
        # 1. a client file whose service answers
        cpath = statefiles.client_json(key)
        existing = statefiles.read_json(cpath)
        # silent: an endpoint that did not answer just now
        reusable, silent = reuse.answering_client(existing, wanted_now, sp.check_port_field, sp.check_path,
                                                  sp.launch.get("workdir"))
        if reusable:
            assert existing is not None
            return _done(rep, sp, host, "reused", existing, t0)
        if existing is not None:
            tunnels.close_tunnel(existing)
            statefiles.remove(cpath)
        # 2. a server that runs (or is starting) without a usable client file
        attempts = 0
        while True:
            state = host.read_state(key)
            if state is not None and state.get("status") == "corrupt" and not attempts:
                _recover_corrupt(sp, host, rep)
            if state is not None:
                status = state.get("status")
                # a pid counts only when proven to be this service (effects.procs); else the state is stale
                alive = host.running_pid(key, state) is not None
                moved = _storage_moved(sp, state)
                if alive and moved and not attempts:
                    _warn(rep, f"{sp.role} {key} on {host.name} runs in {moved}, but the configuration now says "
                          f"{sp.launch.get('workdir')}: restarting it there")
                    host.stop_running(key, state, timeout=4.0)
                    alive = False
                if status == "starting" and alive:
                    state = _wait_running(sp, host, time.monotonic() + START_TIMEOUT)
                    status = state.get("status")
                if status == "running" and alive and reuse.same_parameters(state, wanted_now()):
                    payload = connect(sp, host, state)
                    port = _check_port(sp, payload)
                    answered_not = not attempts and silent == (payload["hostname"], port)  # hung: do not wait twice
                    if port and not answered_not and reuse.health_check(
                            payload["hostname"], port, sp.check_path, tries=3 if attempts else 1):
                        statefiles.write_json_atomic(cpath, payload)
                        return _done(rep, sp, host, "launched" if attempts else "reused", payload, t0)
                    tunnels.close_tunnel(payload)
                # stale: dead process, failed start, a server that does not answer, or a pid not proven ours
                if alive:
                    host.stop_running(key, state, timeout=4.0)
                if attempts:
                    tail = host.log_tail(key)
                    host.remove_state(key)
                    msg = _diagnose(tail, sp, host) or (
                        f"{sp.role} {key} on {host.name} did not come up" + (f"; its log ends with:\n{tail}" if tail else ""))
                    rep.failed(sp, msg)
                    raise LaunchError(msg)
                host.remove_state(key)
            if attempts:
                raise LaunchError(f"{sp.role} {key} on {host.name}: the launch wrote no server state")
            # 3. launch, after stopping what an interrupted launch of this key left running
            orphans = host.stop_orphans(key)
            if orphans:
                _warn(rep, f"{sp.role} {key} on {host.name}: stopped process {', '.join(map(str, orphans))} "
                      "left by an interrupted launch (it had no server state)")
            ld = sp.launch
            argv = evaluate_command(ld.get("command"), str(statefiles.server_json(key)))
            try:
                host.launch(
                    key, ld.get("workdir"), argv, conda=ld.get("conda"),
                    network_interface=ld.get("network_interface"),
                    parameters=wanted_now if not known else known[0], meta=ld.get("meta"),
                )
            except LaunchError as exc:
                msg = f"{sp.role} on {host.name}: {exc}"
                rep.failed(sp, msg)
                raise LaunchError(msg) from None
            attempts += 1


def _storage_moved(sp: ServicePlan, state: dict[str, Any]) -> str | None:
    """The directory a running service was started in, when the plan now names another (a changed
    ``bufferdir``/``database_dir``, another ``SEAMLESS_CACHE``); else ``None``."""
    running, wanted = state.get("workdir"), sp.launch.get("workdir")
    if isinstance(running, str) and isinstance(wanted, str) and running != wanted:
        return running
    return None


def _recover_corrupt(sp: ServicePlan, host: Host, rep: Reporter) -> None:
    """A server state that cannot be read: warn, stop the processes started for it (found by their
    command line, where the host can), and let the caller launch anew."""
    pids = host.stop_orphans(sp.key)
    stopped = f"; stopped its process {', '.join(map(str, pids))}" if pids else ""
    _warn(rep, f"the server state of {sp.role} {sp.key} on {host.name} was corrupt{stopped}; launching it anew")


def _warn(rep: Any, message: str) -> None:
    warn = getattr(rep, "warning", None)
    if callable(warn):
        warn(message)
    else:
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _wait_running(sp: ServicePlan, host: Host, deadline: float) -> dict[str, Any]:
    delay = 0.005
    while True:
        state = host.read_state(sp.key) or {}
        status = state.get("status")
        if status in ("running", "failed"):
            return state
        if host.running_pid(sp.key, state) is None:
            # one more read: the service may have written "running" and exited since
            return host.read_state(sp.key) or {}
        if time.monotonic() > deadline:
            return state
        time.sleep(delay)
        delay = min(delay * 1.5, 0.1)


def _done(rep: Reporter, sp: ServicePlan, host: Host, how: str, payload: dict[str, Any], t0: float) -> Outcome:
    out = Outcome(sp.role, sp.key, host.name, how, payload["hostname"], int(payload["port"]), payload,
                  time.monotonic() - t0)
    rep.done(out)
    return out




def remote_clients(services: Sequence[ServicePlan], outcomes: Sequence[Outcome]) -> dict[str, list[dict[str, Any]]]:
    """The buffer and database clients, as workers on the cluster and this process reach them."""
    plans = {sp.key: sp for sp in services}
    return reuse.storage_clients(service_facts(plans[o.key], o) for o in outcomes)


def service_facts(sp: ServicePlan, o: Outcome) -> dict[str, Any]:
    """What :func:`reuse.storage_clients` needs of a service and its outcome, as plain values."""
    return {"role": sp.role, "readonly": sp.readonly, "launch_hostname": sp.launch.get("hostname"),
            "workdir": sp.launch.get("workdir"), "ssh_host": sp.ssh_host,
            "hostname": o.hostname, "port": o.port, "client": o.client}


def memo_services(services: Sequence[ServicePlan], outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """What :mod:`effects.warm` needs to take the first step again for each service, in the
    order :func:`bring_up` returns them (storage first)."""
    plans = {sp.key: sp for sp in services}
    out = []
    for o in outcomes:
        sp = plans[o.key]
        facts = service_facts(sp, o)
        out.append({
            "role": sp.role, "key": sp.key, "host": o.host, "port_field": sp.check_port_field,
            "check_path": sp.check_path, "parameters": sp.launch.get("file_parameters"),
            "facts": {k: facts[k] for k in ("role", "readonly", "launch_hostname", "workdir", "ssh_host")},
        })
    return out


def bring_up(
    services: Sequence[ServicePlan],
    host_for: Callable[[ServicePlan], Host] | None = None,
    reporter: Reporter | None = None,
) -> list[Outcome]:
    """Bring every service up: storage services at once, then the job service with their clients.

    The jobserver learns the buffer and database URLs from its parameters, so
    it starts as soon as those are known. The first failure is raised after
    every started service has finished.
    """
    if not services:
        return []
    pick = host_for or (lambda sp: LocalHost())
    storage = [sp for sp in services if sp.role in reuse.STORAGE]
    dispatch = [sp for sp in services if sp.role not in reuse.STORAGE]
    # one thread per service (threads, not concurrent.futures: that import costs a warm init ~5 ms)
    results: list[Outcome | None] = [None] * len(services)
    errors: list[BaseException | None] = [None] * len(services)
    storage_ready = threading.Event()

    def jobserver_parameters(base: dict[str, Any]) -> Callable[[], dict[str, Any]]:
        def wait() -> dict[str, Any]:
            storage_ready.wait()
            failed = [e for e in errors[: len(storage)] if e is not None]
            if failed:
                raise failed[0]
            return {**base, **remote_clients(services, [o for o in results[: len(storage)] if o is not None])}

        return wait

    jobs: list[tuple[Any, ...]] = [(sp, pick(sp), reporter) for sp in storage]
    for sp in dispatch:
        params = sp.launch.get("file_parameters")
        if sp.role == "jobserver":
            params = jobserver_parameters(params)
        jobs.append((sp, pick(sp), reporter, params))

    def work(i: int, job: tuple[Any, ...]) -> None:
        try:
            results[i] = ensure_service(*job)
        except BaseException as exc:  # noqa: BLE001 - raised below, in the caller's thread
            errors[i] = exc

    threads = [threading.Thread(target=work, args=(i, job), name=f"bring-up-{job[0].role}", daemon=True)
               for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads[: len(storage)]:
        t.join()
    storage_ready.set()
    for t in threads[len(storage):]:
        t.join()
    for exc in errors:
        if exc is not None:
            raise exc
    return [o for o in results if o is not None]
