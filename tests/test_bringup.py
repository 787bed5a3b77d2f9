"""The launch protocol (:mod:`seamless_config.core.bringup`), driven through a simulated world.

No process, file or socket: a small model of one service key (its client file,
its server state, its process, when its port answers) answers the protocol's
requests, with hypothesis choosing the world. The properties are the ones the
real launcher must keep: it ends, it never stops a process it did not see
proven alive, it launches at most once, it reports success only for a service
that answered, and a service that comes up (even one that says ``running`` a
moment before it listens) is never declared dead.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seamless_config.core import bringup as b
from seamless_config.core.launch import LaunchDict
from seamless_config.core.plan import ServicePlan

WORKDIR = "/buffers/p"
WANTED = {"x": 1}


def plan(tunnel: bool = False, timeout: int | None = None, ssh_host: str | None = None) -> ServicePlan:
    fields = (("key", "hashserver-k"), ("workdir", WORKDIR), ("command", "hashserver --status-file {status_file}"),
              ("file_parameters", WANTED)) + ((("timeout", timeout),) if timeout is not None else ())
    return ServicePlan("hashserver", LaunchDict("hashserver", "c", fields), ssh_host, tunnel, "healthcheck", "port")


@attrs.define
class Proc:
    """A service process: it says ``running`` after ``says_running`` sleeps of the protocol (or says
    ``failed`` when ``fails``), accepts connections ``listen_lag`` probes after that, and exits
    after ``dies_after`` requests (``None``: never)."""

    says_running: int
    listen_lag: int
    fails: bool
    dies_after: int | None
    hung: bool = False  # its port accepts and never answers
    alive: bool = True
    sleeps: int = 0
    probes_since_running: int = 0


@attrs.define
class World:
    client: dict[str, Any] | None
    client_answers: bool
    state: dict[str, Any] | None
    proc: Proc | None
    launch_error: str | None
    launched_proc: Proc
    launch_writes_state: bool
    now: float = 0.0
    #: the state readings (ReadState) that catch the file while the service rewrites it
    torn_reads: frozenset[int] = frozenset()
    reads: int = 0
    requests: list[Any] = attrs.field(factory=list)
    answers: list[Any] = attrs.field(factory=list)
    launches: int = 0
    alive_seen: list[dict[str, Any]] = attrs.field(factory=list)
    stopped_unproven: bool = False
    written: dict[str, Any] | None = None

    def _tick(self) -> None:
        p = self.proc
        if p is None or not p.alive:
            return
        if p.dies_after is not None:
            p.dies_after -= 1
            if p.dies_after <= 0:
                p.alive = False
                return
        if self.state is not None and self.state.get("status") == "starting" and p.sleeps >= p.says_running:
            self.state = {**self.state, "status": "failed" if p.fails else "running", "port": 4321}

    def answer(self, r: Any) -> Any:
        out = self._answer(r)
        self.answers.append(out)
        return out

    def _answer(self, r: Any) -> Any:
        self.requests.append(r)
        assert len(self.requests) < 20_000, "the protocol does not end"
        self._tick()
        p = self.proc
        if isinstance(r, b.ReadClient):
            return None if self.client is None else dict(self.client)
        if isinstance(r, b.WantedParameters):
            return WANTED
        if isinstance(r, b.Probe):
            self.now += 0.001
            if self.client is not None and (r.hostname, r.port) == (self.client.get("hostname"), self.client.get("port")) \
                    and (p is None or r.port != 4321):
                return self.client_answers
            if p is None or not p.alive or self.state is None or self.state.get("status") != "running":
                return False
            if p.hung:
                self.now += r.timeout
                return False
            p.probes_since_running += 1
            return p.probes_since_running > p.listen_lag
        if isinstance(r, b.Forget):
            self.client = None
            return None
        if isinstance(r, b.ReadState):
            self.reads += 1
            if self.reads in self.torn_reads and self.state is not None:
                return {"status": "corrupt"}
            return None if self.state is None else dict(self.state)
        if isinstance(r, b.Alive):
            alive = p is not None and p.alive and self.state is not None and r.state.get("pid") == self.state.get("pid") \
                and r.state.get("status") != "corrupt"
            if alive:
                self.alive_seen.append(r.state)
            return alive
        if isinstance(r, b.Stop):
            if r.state not in self.alive_seen:
                self.stopped_unproven = True
            if p is not None:
                p.alive = False
            return None
        if isinstance(r, b.StopOrphans):
            return []
        if isinstance(r, b.RemoveState):
            self.state = None
            return None
        if isinstance(r, b.Tunnel):
            return {**r.plain, "tunnel-pid": 99}
        if isinstance(r, b.LogTail):
            return ""
        if isinstance(r, b.WriteClient):
            self.written = r.client
            return None
        if isinstance(r, b.Launch):
            self.launches += 1
            if self.launch_error is not None:
                return self.launch_error
            self.proc = self.launched_proc
            if self.launch_writes_state:
                self.state = {"pid": 77, "status": "starting", "workdir": WORKDIR, "parameters": WANTED}
            return None
        if isinstance(r, b.Warn):
            return None
        if isinstance(r, b.Clock):
            return self.now
        if isinstance(r, b.Sleep):
            self.now += r.seconds
            if p is not None:
                p.sleeps += 1
            return None
        raise AssertionError(f"unknown request {r!r}")


def run(world: World, tunnel: bool = False, timeout: int | None = None, ssh_host: str | None = None) -> b.Ended:
    proto = b.protocol(plan(tunnel, timeout, ssh_host), "localhost")
    try:
        request = next(proto)
        while True:
            request = proto.send(world.answer(request))
    except StopIteration as stop:
        return stop.value


procs = st.builds(
    Proc, says_running=st.integers(0, 30), listen_lag=st.integers(0, 40), fails=st.booleans(),
    dies_after=st.none() | st.integers(1, 200), hung=st.booleans(),
)
clients = st.none() | st.fixed_dictionaries({
    "hostname": st.just("localhost"), "port": st.sampled_from([1234, 0, True]),
    "workdir": st.sampled_from([WORKDIR, "/elsewhere"]),
    "parameters": st.sampled_from([WANTED, {"x": 2}]),
    "status": st.sampled_from(["ok", "stale", "corrupt"]),
})
states = st.none() | st.just({"status": "corrupt"}) | st.fixed_dictionaries({
    "pid": st.just(55), "status": st.sampled_from(["starting", "running", "failed"]), "port": st.just(4321),
    "workdir": st.sampled_from([WORKDIR, "/elsewhere"]), "parameters": st.sampled_from([WANTED, {"x": 2}]),
})
worlds = st.builds(
    World, client=clients, client_answers=st.booleans(), state=states, proc=st.none() | procs,
    launch_error=st.none() | st.just("'hashserver' was not found"), launched_proc=procs,
    launch_writes_state=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(worlds, st.booleans())
def test_the_protocol_keeps_its_promises(world: World, tunnel: bool) -> None:
    ended = run(world, tunnel)
    assert ended.how in ("reused", "launched", "failed")
    assert not world.stopped_unproven, "stopped a process not seen proven alive"
    assert world.launches <= 1
    if ended.how == "failed":
        assert ended.client is None and ended.message and "hashserver" in ended.message
        assert world.state is None, "a failure leaves a server state behind"
    else:
        assert ended.client is not None
        probed = [(i, r, a) for i, (r, a) in enumerate(zip(world.requests, world.answers, strict=True)) if isinstance(r, b.Probe)]
        assert probed and probed[-1][2] is True, "success without an answer"
        last, probe, _ = probed[-1]
        assert probe.port == ended.client["port"]
        after = world.requests[last + 1:]
        if ended.how == "launched":
            assert world.launches == 1 and world.written == ended.client
            assert [type(r) for r in after] == [b.WriteClient]
        elif ended.client == world.client:
            assert after == [], "a reused client file is left as it is"
    if world.launches:
        assert not any(isinstance(r, b.ReadClient) for r in world.requests[1:]), "the client file is read once"


@settings(max_examples=300, deadline=None)
@given(says_running=st.integers(0, 50), listen_lag=st.integers(0, 60))
def test_a_service_that_comes_up_late_is_not_declared_dead(says_running: int, listen_lag: int) -> None:
    """The intermittent "did not come up": uvicorn writes ``running`` from its start-up hook and
    binds its port after it. A launched service that answers before the deadline is kept."""
    world = World(client=None, client_answers=False, state=None, proc=None, launch_error=None,
                  launched_proc=Proc(says_running, listen_lag, fails=False, dies_after=None),
                  launch_writes_state=True)
    ended = run(world)
    assert ended.how == "launched", ended.message
    assert world.written == {"hostname": "localhost", "port": 4321, "workdir": WORKDIR, "parameters": WANTED}


def test_a_service_that_never_answers_fails_within_the_start_timeout() -> None:
    world = World(client=None, client_answers=False, state=None, proc=None, launch_error=None,
                  launched_proc=Proc(0, 0, fails=False, dies_after=None, hung=True), launch_writes_state=True)
    ended = run(world)
    assert ended.how == "failed" and ended.message == (
        f"hashserver hashserver-k on localhost did not come up (no answer on localhost:4321 within {b.START_TIMEOUT:g} s)")
    assert b.START_TIMEOUT <= world.now <= b.START_TIMEOUT + 2 * b.PATIENT_CHECK_TIMEOUT + 1
    assert world.state is None and not world.launched_proc.alive


@settings(max_examples=60, deadline=None)
@given(timeout=st.integers(1, 240), starting=st.booleans())  # (the model counts every poll: keep it short)
def test_a_start_is_bounded_by_the_launch_dicts_own_timeout(timeout: int, starting: bool) -> None:
    """A launched service that never answers, or (``starting``) one found saying ``starting`` for
    ever, is given up after the ``timeout`` of its launch dict, not after a fixed time."""
    stuck = Proc(10**9 if starting else 0, 0, fails=False, dies_after=None, hung=True)
    world = World(client=None, client_answers=False, state={"status": "starting", "pid": 7} if starting else None,
                  proc=stuck if starting else None, launch_error=None,
                  launched_proc=Proc(0, 0, fails=False, dies_after=None, hung=True), launch_writes_state=True)
    ended = run(world, timeout=timeout)
    assert ended.how == "failed"
    # found starting: waited once, then launched and waited again; each wait is bounded by the timeout
    waits = 2 if starting else 1
    assert timeout <= world.now <= waits * (timeout + 2 * b.PATIENT_CHECK_TIMEOUT + 1)


@pytest.mark.parametrize("exits_after", [12, None])
def test_a_service_that_says_failed_is_let_finish_its_log(exits_after: int | None) -> None:
    """A launched service that says ``failed`` is on its way out, writing why to its log (the
    wrapper's refusal): it is given FAILED_GRACE seconds to exit by itself, and its log is read
    before any stop, whose interruption would bury the cause under a KeyboardInterrupt."""
    world = World(client=None, client_answers=False, state=None, proc=None, launch_error=None,
                  launched_proc=Proc(0, 0, fails=True, dies_after=exits_after), launch_writes_state=True)
    ended = run(world)
    assert ended.how == "failed" and "its state still says 'failed'" in (ended.message or ""), ended
    kinds = [type(r) for r in world.requests]
    if exits_after is not None:
        assert b.Stop not in kinds, "stopped a service that was exiting by itself"
        assert world.now < b.FAILED_GRACE
    else:
        assert kinds.index(b.LogTail) < kinds.index(b.Stop)
        assert b.FAILED_GRACE <= world.now <= b.FAILED_GRACE + 0.2
        assert not world.launched_proc.alive


def test_an_answering_client_file_is_reused_without_touching_the_server() -> None:
    client = {"hostname": "localhost", "port": 1234, "workdir": WORKDIR, "parameters": WANTED}
    world = World(client=client, client_answers=True, state=None, proc=None, launch_error=None,
                  launched_proc=Proc(0, 0, False, None), launch_writes_state=True)
    assert run(world) == b.Ended("reused", client)
    assert [type(r) for r in world.requests] == [b.ReadClient, b.WantedParameters, b.Probe]


def test_a_hung_client_endpoint_is_not_waited_for_twice() -> None:
    """The client file's service did not answer; the running server behind it is the same
    endpoint: it is replaced without a second wait."""
    client = {"hostname": "localhost", "port": 4321, "workdir": WORKDIR, "parameters": WANTED}
    state = {"pid": 55, "status": "running", "port": 4321, "workdir": WORKDIR, "parameters": WANTED}
    world = World(client=client, client_answers=False, state=state,
                  proc=Proc(0, 10**6, False, None, hung=True), launch_error=None,
                  launched_proc=Proc(0, 0, False, None), launch_writes_state=True)
    ended = run(world)
    assert ended.how == "launched"
    assert sum(isinstance(r, b.Probe) and r.port == 4321 for r in world.requests[:4]) == 1
    assert any(isinstance(r, b.Stop) for r in world.requests)


def test_a_launch_error_is_reported_with_where() -> None:
    world = World(client=None, client_answers=False, state=None, proc=None,
                  launch_error="'hashserver' was not found on the PATH of this machine",
                  launched_proc=Proc(0, 0, False, None), launch_writes_state=True)
    assert run(world) == b.Ended("failed", message="hashserver on localhost: 'hashserver' was not found on the "
                                                   "PATH of this machine")


def test_a_wrapper_refusal_in_the_log_is_told_with_its_fix() -> None:
    """The last lines of a daskserver's log when seamless-dask-wrapper refuses its queue at start-up."""
    tail = ("Traceback (most recent call last):\n  File \"wrapper.py\", line 1753, in main\n"
            "RuntimeError: Parameter 'job_cores' must not be set in exclusive mode\n")
    assert b.diagnose(tail, "daskserver d on localhost") == (
        "daskserver d on localhost: seamless-dask-wrapper refused its queue: Parameter 'job_cores' must not be "
        "set in exclusive mode (an exclusive queue takes whole nodes: remove its 'cores', or its 'exclusive')")
    # a refusal whose fix is not known is left to the log tail
    assert b.diagnose("RuntimeError: Status file must define a 'parameters' object\n", "d") is None


@pytest.mark.parametrize("ssh_host", [None, "frontend"])
def test_a_start_is_watched_briskly_then_calmly(ssh_host: str | None) -> None:
    """Each pause while a service starts is time added to its start, and the jobserver's start waits
    for the storage's: on this machine the state is read at least every STATE_POLL[0] seconds for
    the first BRISK_FOR seconds of a wait, then calmly; over SSH (a round trip a reading) calmly
    from the start. Never more often than the brisk pace, never less than the calm one."""
    forever = Proc(10**9, 0, fails=False, dies_after=None)
    world = World(client=None, client_answers=False, state={"status": "starting", "pid": 7}, proc=forever,
                  launch_error=None, launched_proc=forever, launch_writes_state=True)
    assert run(world, timeout=30, ssh_host=ssh_host).how == "failed"
    pauses, now = [], 0.0
    for r in world.requests:
        if isinstance(r, (b.Launch, b.Stop)):
            break  # the first wait, for the service found starting, is over
        if isinstance(r, b.Sleep):
            pauses.append((now, r.seconds))
            now += r.seconds
    assert now >= 30, "the wait lasted its timeout"
    early = max(s for t, s in pauses if t < b.BRISK_FOR)
    late = max(s for t, s in pauses if t >= b.BRISK_FOR)
    assert early == (b.STATE_POLL[0] if ssh_host is None else b.STATE_POLL[1])
    assert late == b.STATE_POLL[1]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 30), st.frozensets(st.integers(1, 20).map(lambda i: 2 * i), max_size=5))
def test_a_torn_state_read_does_not_kill_a_starting_service(says_running: int, torn: frozenset[int]) -> None:
    """A service rewrites its state file in place: a reading may catch it half written, as
    corrupt. Such a reading (never two in a row here) is read again, and while the service starts
    it is not taken for a dead process (which would stop a healthy service and fail the bring-up):
    the last good reading stands."""
    world = World(client=None, client_answers=False, state=None, proc=None, launch_error=None,
                  launched_proc=Proc(says_running, 0, fails=False, dies_after=None), launch_writes_state=True,
                  torn_reads=torn)
    ended = run(world)
    assert ended.how == "launched", (ended, world.requests[-8:])
    assert world.launches == 1 and not any(isinstance(r, b.Stop) for r in world.requests)
