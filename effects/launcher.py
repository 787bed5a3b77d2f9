"""Bring services up, or find them already up: the shell around the launch protocol.

What to do for one service (reuse its client file, reuse a running server,
clean up what is stale, launch, wait, check) is decided by the pure
:func:`seamless_config.core.bringup.protocol`; :func:`ensure_service` runs it
under the service's lock and answers its requests with files, processes,
sockets and SSH. :func:`bring_up` does that for every service of a plan at
once, one thread each, the jobserver given the storage services' clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from seamless_config.core import batch, bringup
from seamless_config.core.clients import STORAGE
from seamless_config.core.frozen import frozen_map
from seamless_config.core.plan import ServicePlan

from . import http_probe, statefiles, tunnels
from .hosts import Host
from .outcomes import LaunchError, Outcome, remote_clients
from .services import host_for as host_of
from .services import remove_client


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


class _Parameters:
    """The parameters a plan gives a service, asked for at most once (asking may wait)."""

    def __init__(self, source: dict[str, Any] | Callable[[], dict[str, Any]] | None) -> None:
        self._source, self._known, self._value = source, not callable(source), source

    def get(self) -> dict[str, Any] | None:
        if not self._known:
            self._value = self._source()  # type: ignore[operator,misc]
            self._known = True
        return self._value  # type: ignore[return-value]

    def for_launch(self) -> Any:
        """What :meth:`Host.launch` takes: the value when known, else the function that waits for it."""
        return self._value if self._known else self.get


def drive(proto: bringup.Protocol, answer: Callable[[bringup.Request], Any]) -> bringup.Ended:
    """Run a pure protocol to its end, answering each of its requests with ``answer``."""
    try:
        request = next(proto)
        while True:
            request = proto.send(answer(request))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]


def _answers(sp: ServicePlan, host: Host, rep: Reporter, params: _Parameters,
             marks: dict[str, float]) -> Callable[[bringup.Request], Any]:
    """The real world's answers to :func:`seamless_config.core.bringup.protocol`, for one service
    (``marks`` gets the time of the launch)."""
    key = sp.key

    def launch(r: bringup.Launch) -> str | None:
        argv = bringup.evaluate_command(r.command, str(statefiles.server_json(key)))
        ld = sp.launch
        try:
            host.launch(key, ld.get("workdir"), argv, conda=ld.get("conda"),
                        network_interface=ld.get("network_interface"), parameters=params.for_launch(),
                        meta=ld.get("meta"))
        except LaunchError as exc:
            return str(exc)
        marks["launched"] = time.monotonic()
        return None

    handlers: dict[type, Callable[[Any], Any]] = {
        bringup.ReadClient: lambda r: statefiles.read_client(key),
        bringup.WantedParameters: lambda r: params.get(),
        bringup.Probe: lambda r: http_probe.answers(r.hostname, r.port, sp.check_path, r.timeout),
        bringup.Forget: lambda r: remove_client(key, r.client),
        bringup.ReadState: lambda r: host.read_state(key),
        bringup.Alive: lambda r: host.running_pid(key, r.state) is not None,
        bringup.Stop: lambda r: host.stop_running(key, r.state, timeout=4.0),
        bringup.StopOrphans: lambda r: host.stop_orphans(key),
        bringup.RemoveState: lambda r: host.remove_state(key),
        bringup.Tunnel: lambda r: tunnels.tunneled_payload(host, r.remote_host, r.state, r.plain),
        bringup.WriteClient: lambda r: statefiles.write_json_atomic(statefiles.client_json(key), r.client),
        bringup.Launch: launch,
        bringup.AskBatch: lambda r: host.listing(list(batch.COMMANDS[r.system])),
        bringup.LogTail: lambda r: host.log_tail(key),
        bringup.Warn: lambda r: _warn(rep, r.message),
        bringup.Clock: lambda r: time.monotonic(),
        bringup.Sleep: lambda r: time.sleep(r.seconds),
    }
    return lambda request: handlers[type(request)](request)


def ensure_service(
    sp: ServicePlan,
    host: Host,
    reporter: Reporter | None = None,
    parameters: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    began: float | None = None,
) -> Outcome:
    """Reuse or launch one service; raises :class:`LaunchError` with the cause and the fix.

    The decisions are :func:`seamless_config.core.bringup.protocol`'s; this runs it
    under the service's lock. ``parameters`` replaces the launch dict's
    ``file_parameters`` (the jobserver gets the storage clients there); a running
    service started with other parameters is replaced. It may be a function that
    waits for them: a cold service is then started at once and given its
    parameters when known (the services wait for their status file). ``began``: when the
    bring-up of the whole plan began (the timeline counts from it).
    """
    rep = reporter or Reporter()
    params = _Parameters(sp.launch.get("file_parameters") if parameters is None else parameters)
    rep.starting(sp)
    t0 = time.monotonic()
    marks = {"queued": t0}
    with statefiles.key_lock(sp.key, bringup.start_timeout(sp)):
        ended = drive(bringup.protocol(sp, host.name), _answers(sp, host, rep, params, marks))
    if ended.client is None:
        message = ended.message or f"{sp.role} {sp.key} on {host.name} did not come up"
        rep.failed(sp, message)
        raise LaunchError(message, ended.mistake)
    marks["answering"] = time.monotonic()
    origin = t0 if began is None else began
    timeline = frozen_map({k: round(v - origin, 3) for k, v in marks.items()})
    out = Outcome(sp.role, sp.key, host.name, ended.how, ended.client["hostname"], int(ended.client["port"]),
                  ended.client, marks["answering"] - t0, timeline)
    rep.done(out)
    return out


def _warn(rep: Any, message: str) -> None:
    warn = getattr(rep, "warning", None)
    if callable(warn):
        warn(message)
    else:
        import warnings

        warnings.warn(message, RuntimeWarning, stacklevel=3)




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
    pick = host_for or (lambda sp: host_of(None))
    began = time.monotonic()
    storage = [sp for sp in services if sp.role in STORAGE]
    dispatch = [sp for sp in services if sp.role not in STORAGE]
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

    jobs: list[tuple[Any, ...]] = [(sp, pick(sp), reporter, None) for sp in storage]
    for sp in dispatch:
        params = sp.launch.get("file_parameters")
        if sp.role == "jobserver":
            params = jobserver_parameters(params)
        jobs.append((sp, pick(sp), reporter, params))

    def work(i: int, job: tuple[Any, ...]) -> None:
        try:
            results[i] = ensure_service(job[0], job[1], job[2], job[3], began=began)
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
