"""Bringing one service up, as a pure protocol: every decision here, every effect in the shell.

:func:`protocol` is a generator. It *yields a request* (a frozen record below:
read this file, is this process alive, probe this port, launch, sleep...) and
*receives the answer*; it *returns* how it ended (:class:`Ended`). It performs
no I/O and reads no clock but through :class:`Clock`, so a test drives it with
a simulated world, and :mod:`effects.launcher` drives it with the real one
(files, processes, sockets, SSH), under the service's lock.

The steps, for one service key:

1. **Its client file.** Reused when it was written for the same storage and
   parameters and the service answers there. Otherwise its tunnel is closed
   and the file removed.
2. **Its server state.** A proven-alive process (the shell proves a pid before
   it says *alive*) that says ``running`` with the same parameters, and answers,
   is reused. One that says ``starting`` is waited for. One that says
   ``failed`` is given :data:`FAILED_GRACE` seconds to exit by itself, so that
   its log ends with why. Anything else is stale: its process is stopped, its
   state removed.
3. **A launch**, after stopping what an interrupted launch of the key left
   running. Then the state is read again as in step 2, but patiently: a
   service may say ``running`` a moment before its port accepts connections
   (uvicorn runs the start-up hook that writes the status before it binds),
   so it is probed until it answers, dies, or its start timeout passes
   (:func:`start_timeout`).
   A second failure ends it, with the cause the log makes plain.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Generator
from typing import Any

import attrs

from .batch import batch_down, judge, parse_offer
from .clients import CHECK_TIMEOUT, client_payload, port_of, same_parameters, usable
from .errors import ConfigError
from .plan import ServicePlan

#: seconds for a launched service to say ``running`` and then to answer, when its launch dict
#: gives no ``timeout`` of its own
START_TIMEOUT = 120.0
#: seconds for one health check while a launched service comes up
PATIENT_CHECK_TIMEOUT = 2.0
#: seconds a service that said it failed is given to exit by itself before it is stopped
FAILED_GRACE = 2.0
#: waiting for a starting service: the longest pause, in seconds, between two readings of its state
#: and between two health checks once it says running, (brisk, calm). Brisk during the first
#: BRISK_FOR seconds of a wait on this machine, where a reading is a file read and each pause adds
#: to the service's own start (and the jobserver's start waits for the storage's); calm after that,
#: and over SSH, where each reading is a round trip
STATE_POLL = (0.02, 0.1)
PROBE_POLL = (0.05, 0.25)
BRISK_FOR = 5.0
#: a state that reads as corrupt is read again this many times, TORN_PAUSE seconds apart, before it
#: is taken for corrupt: a service rewrites its state file in place, and a reading may catch it
#: half written
TORN_RETRIES = 3
TORN_PAUSE = 0.01


# -- requests: what the shell is asked, and the answer each expects ------------------------------
# observations: what is there, on disk, on the host, on the network, on the clock

@attrs.frozen
class ReadClient:
    """-> the client connection file (``dict``), or ``None``."""


@attrs.frozen
class ReadState:
    """-> the server state (``dict``; ``{"status": "corrupt"}`` when unreadable), or ``None``."""


@attrs.frozen
class Alive:
    """-> whether the process ``state`` names is proven to be this service."""

    state: dict[str, Any]


@attrs.frozen
class Probe:
    """-> whether ``GET /path`` on ``hostname:port`` answers (any status below 500) in ``timeout`` s."""

    hostname: str
    port: int
    timeout: float


@attrs.frozen
class WantedParameters:
    """-> the parameters this plan gives the service (may wait for other services), or ``None``."""


@attrs.frozen
class AskBatch:
    """Run the batch system's listing command (:data:`core.batch.COMMANDS`) where the service would run.
    -> ``(exit code, stdout, stderr)``, or ``None`` when it cannot be run there (then nothing is judged)."""

    system: str


@attrs.frozen
class LogTail:
    """-> the last lines of the service's log (``str``)."""


@attrs.frozen
class Clock:
    """-> a monotonic time in seconds."""


# actions: what the shell changes

@attrs.frozen
class Forget:
    """Give a connection up: close the tunnel it names, remove the client file (if written). -> ``None``."""

    client: dict[str, Any]


@attrs.frozen
class WriteClient:
    """Write the client connection file. -> ``None``."""

    client: dict[str, Any]


@attrs.frozen
class Stop:
    """Stop the proven process of ``state`` and every other process of the key. -> ``None``."""

    state: dict[str, Any]


@attrs.frozen
class StopOrphans:
    """Stop the processes of the key that no state names. -> their pids (``list[int]``)."""


@attrs.frozen
class RemoveState:
    """Remove the server state. -> ``None``."""


@attrs.frozen
class Launch:
    """Start ``argv`` (``{status_file}`` not yet filled in) and write its ``starting`` state.
    -> ``None``, or the message of why it could not start."""

    command: str


@attrs.frozen
class Tunnel:
    """Open an SSH tunnel to a running service. -> the client file through it (``dict``)."""

    remote_host: str
    state: dict[str, Any]
    plain: dict[str, Any]


@attrs.frozen
class Warn:
    """Tell the user something went wrong and was mended. -> ``None``."""

    message: str


@attrs.frozen
class Sleep:
    """-> ``None`` after ``seconds``."""

    seconds: float


Request = (ReadClient | ReadState | Alive | Probe | WantedParameters | AskBatch | LogTail | Clock
           | Forget | WriteClient | Stop | StopOrphans | RemoveState | Launch | Tunnel | Warn | Sleep)


@attrs.frozen
class Ended:
    """How the protocol ended: ``reused`` or ``launched`` with the client file, or ``failed``."""

    how: str
    client: dict[str, Any] | None = None
    message: str | None = None
    #: when it failed for a mistake of the configuration
    mistake: ConfigError | None = None


Protocol = Generator[Request, Any, Ended]


# -- pure helpers -------------------------------------------------------------------------------

def evaluate_command(template: str, status_file: str) -> list[str]:
    """The argv of a launch dict's ``command``: ``{status_file}`` filled in, braces unescaped.

    >>> evaluate_command("hashserver --status-file {status_file} /b/{{x}}", "/s.json")
    ['hashserver', '--status-file', '/s.json', '/b/{x}']
    """
    parts = [p.replace("{{", "{").replace("}}", "}") for p in template.split("{status_file}")]
    return shlex.split(shlex.quote(status_file).join(parts))


def diagnose(log_tail: str, who: str) -> str | None:
    """A one-line cause for the failures a service's log makes plain."""
    m = re.search(r"No free port available in range (\d+)-(\d+)", log_tail)
    if m:
        return (f"{who}: every port of its range {m[1]}-{m[2]} is taken "
                "(widen port_start/port_end in the cluster definition, or stop what uses them)")
    refusals = re.findall(r"^RuntimeError: (.+)$", log_tail, re.M)
    if refusals:  # seamless-dask-wrapper's start-up refusals end its log with their traceback
        from .jobqueue import wrapper_fix  # (only on this failure: a bring-up does not load it)

        fix = wrapper_fix(refusals[-1])
        if fix:
            return f"{who}: seamless-dask-wrapper refused its queue: {refusals[-1]} ({fix})"
    return None


def _moved(sp: ServicePlan, state: dict[str, Any]) -> str | None:
    """The directory a running service was started in, when the plan now names another (a changed
    ``bufferdir``/``database_dir``, another ``SEAMLESS_CACHE``)."""
    running, wanted = state.get("workdir"), sp.launch.get("workdir")
    if isinstance(running, str) and isinstance(wanted, str) and running != wanted:
        return running
    return None


def start_timeout(sp: ServicePlan) -> float:
    """Seconds a start of ``sp`` may take (to say ``running``, then to answer): the service's own
    ``timeout`` from its launch dict (it stops by itself after that long without a request), else
    :data:`START_TIMEOUT`.

    >>> from .launch import LaunchDict
    >>> start_timeout(ServicePlan("jobserver", LaunchDict("jobserver", "c", {"timeout": 600}), None, False, "", ""))
    600.0
    """
    t = sp.launch.get("timeout")
    return float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 else START_TIMEOUT


# -- the protocol -------------------------------------------------------------------------------

def protocol(sp: ServicePlan, host: str) -> Protocol:
    """Reuse or launch the service ``sp`` on ``host`` (a name, for messages); see the module docstring."""
    who = f"{sp.role} {sp.key} on {host}"
    limit = start_timeout(sp)
    brisk = sp.ssh_host is None
    wanted_known = False
    wanted: dict[str, Any] | None = None

    def parameters() -> Generator[Request, Any, dict[str, Any] | None]:
        nonlocal wanted_known, wanted
        if not wanted_known:
            wanted = yield WantedParameters()
            wanted_known = True
        return wanted

    # 1. a client file whose service answers
    silent: tuple[Any, Any] | None = None
    existing = yield ReadClient()
    if existing is not None:
        if usable(existing, sp.launch.get("workdir")) and same_parameters(existing, (yield from parameters())):
            port, hostname = port_of(existing, sp.check_port_field), existing.get("hostname")
            if isinstance(hostname, str) and port and (yield Probe(hostname, port, CHECK_TIMEOUT)):
                return Ended("reused", existing)
            silent = (hostname, port)
        yield Forget(existing)

    # 2. a server that runs or is starting; 3. else a launch, then the same check, patiently
    for launched in (False, True):
        state = yield from _read_state()
        if state is not None and state.get("status") == "corrupt" and not launched:
            pids = yield StopOrphans()
            stopped = f"; stopped its process {', '.join(map(str, pids))}" if pids else ""
            yield Warn(f"the server state of {who} was corrupt{stopped}; launching it anew")
        if state is not None:
            alive = yield Alive(state)
            moved = _moved(sp, state)
            if alive and moved and not launched:
                yield Warn(f"{who} runs in {moved}, but the configuration now says "
                           f"{sp.launch.get('workdir')}: restarting it there")
                yield Stop(state)
                alive = False
            waited = False
            if alive and state.get("status") == "starting":
                state, alive = yield from _until_running(state, limit, brisk)
                waited = True
            failed = state.get("status") == "failed"
            if alive and failed:  # on its way out: let it finish writing why to its log
                alive = yield from _lingers(state)
            running = alive and state.get("status") == "running"
            # why a launched service is given up, for the message
            why = ("its state still says 'failed'" if failed else "its process is gone" if not alive
                   else f"its state still says {state.get('status')!r}" if not running
                   else "it runs with other parameters than planned")
            if running and same_parameters(state, (yield from parameters())):
                plain = client_payload(sp.launch, state)
                payload = plain
                if sp.tunnel:
                    payload = yield Tunnel(sp.launch.get("hostname") or plain["hostname"], state, plain)
                port = port_of(payload, sp.check_port_field)
                hung = not launched and silent == (payload["hostname"], port)  # do not wait twice
                if port and not hung:
                    patient = launched or waited
                    if (yield from _answers(payload["hostname"], port, state, limit if patient else None, brisk)):
                        yield WriteClient(payload)
                        return Ended("launched" if launched else "reused", payload)
                why = (f"no answer on {payload['hostname']}:{port} within {limit:g} s" if port
                       else "its state names no port")
                yield Forget(payload)
            # stale: a dead process, a failed start, a server that does not answer, a pid not proven ours
            # (a failed start's log is read first: stopping it adds the interruption's traceback)
            tail = (yield LogTail()) if launched else ""
            if alive:
                yield Stop(state)
            if launched:
                yield RemoveState()
                return Ended("failed", message=diagnose(tail, who) or (
                    f"{who} did not come up ({why})" + (f"; its log ends with:\n{tail}" if tail else "")))
            yield RemoveState()
        if launched:
            return Ended("failed", message=f"{who}: the launch wrote no server state")
        if sp.batch is not None:
            # a queue its batch system cannot serve: said now, not after workers never come
            listing = yield AskBatch(sp.batch.system)
            if listing is not None:
                code, out, err = listing
                if code != 0:  # its controller is down: every submission would fail too
                    return Ended("failed", message=batch_down(sp.batch.system, host, err))
                mistake = judge(sp.batch, parse_offer(sp.batch.system, out))
                if mistake is not None:
                    return Ended("failed", message=str(mistake), mistake=mistake)
        orphans = yield StopOrphans()
        if orphans:
            yield Warn(f"{who}: stopped process {', '.join(map(str, orphans))} "
                       "left by an interrupted launch (it had no server state)")
        why = yield Launch(sp.launch.get("command"))
        if why is not None:
            return Ended("failed", message=f"{sp.role} on {host}: {why}")
    raise AssertionError("unreachable")  # pragma: no cover


def _pause(delay: float, growth: float, elapsed: float, brisk: bool, caps: tuple[float, float]) -> float:
    """The next pause of a wait: ``delay`` grown, up to the brisk or the calm cap of ``caps``
    (:data:`STATE_POLL`, :data:`PROBE_POLL`)."""
    return min(delay * growth, caps[0] if brisk and elapsed < BRISK_FOR else caps[1])


def _read_state() -> Generator[Request, Any, dict[str, Any] | None]:
    """The server state, read again (:data:`TORN_RETRIES`) while it reads as corrupt."""
    state = yield ReadState()
    for _ in range(TORN_RETRIES):
        if state is None or state.get("status") != "corrupt":
            break
        yield Sleep(TORN_PAUSE)
        state = yield ReadState()
    return state  # type: ignore[no-any-return]


def _until_running(state: dict[str, Any], limit: float, brisk: bool
                   ) -> Generator[Request, Any, tuple[dict[str, Any], bool]]:
    """Wait for a ``starting`` service to say ``running`` or ``failed``, or to die: the state last
    read and whether its process is proven alive. Polls from 5 ms on (:func:`_pause`), for at most
    ``limit`` seconds."""
    start = yield Clock()
    delay = 0.005
    while True:
        yield Sleep(delay)
        read = yield from _read_state()
        # a state file caught while the service rewrites it reads as corrupt (or missing): the last
        # good reading stands, and the process it names is what is proven alive
        if read and read.get("status") != "corrupt":
            state = read
        if not (yield Alive(state)):
            return state, False
        if state.get("status") in ("running", "failed"):
            return state, True
        now = yield Clock()
        if now > start + limit:
            return state, True
        delay = _pause(delay, 1.5, now - start, brisk, STATE_POLL)


def _lingers(state: dict[str, Any]) -> Generator[Request, Any, bool]:
    """Whether a service that said it failed is still alive after :data:`FAILED_GRACE` seconds of
    exiting by itself (stopping it sooner would cut off its last words to its log)."""
    deadline = (yield Clock()) + FAILED_GRACE
    while (yield Alive(state)):
        if (yield Clock()) > deadline:
            return True
        yield Sleep(0.05)
    return False


def _answers(hostname: str, port: int, state: dict[str, Any], patience: float | None, brisk: bool
             ) -> Generator[Request, Any, bool]:
    """Whether the service answers: once, or (with a ``patience`` in seconds) until it does, its
    process dies, or the patience runs out, asking again from 10 ms on (:func:`_pause`)."""
    if patience is None:
        return bool((yield Probe(hostname, port, CHECK_TIMEOUT)))
    start = yield Clock()
    delay = 0.01
    while True:
        if (yield Probe(hostname, port, PATIENT_CHECK_TIMEOUT)):
            return True
        if not (yield Alive(state)):
            return False
        now = yield Clock()
        if now > start + patience:
            return False
        yield Sleep(delay)
        delay = _pause(delay, 2.0, now - start, brisk, PROBE_POLL)
