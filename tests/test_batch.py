"""A queue against what its batch system offers (:mod:`seamless_config.core.batch`), and where the
launch protocol asks (before a daskserver is launched, never when one is reused).

The real ``sinfo`` and ``oarnodes`` are exercised by tests/slurm and tests/oar; the
outputs below are theirs, as the single-node systems of those tests print them.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seamless_config.core import bringup as b
from seamless_config.core.batch import (
    BatchAsk,
    memory_bytes,
    parse_oarnodes,
    parse_sinfo,
    slurm_seconds,
)
from seamless_config.core.batch import judge as judge_ask
from seamless_config.core.errors import Origin
from seamless_config.core.launch import LaunchDict
from seamless_config.core.plan import ServicePlan

SINFO = "debug*|infinite|2|23000|up\nshort|5:00|2|23000|up\n"
OARNODES = """{
   "2" : {"network_address" : "vm", "cpu" : 0, "finaud_decision" : "NO", "resource_id" : 2,
          "scheduler_priority" : 0, "state_num" : 1, "memcore" : 12052, "next_state" : "Alive",
          "last_available_upto" : 0, "type" : "default", "core" : 1, "last_job_date" : 1796201912,
          "available_upto" : 2147483647, "next_finaud_decision" : "NO", "host" : "vm", "expiry_date" : 0,
          "suspended_jobs" : "NO", "deploy" : "NO", "besteffort" : "YES", "state" : "Alive", "drain" : "NO",
          "cpuset" : "1", "desktop_computing" : "NO"},
   "1" : {"network_address" : "vm", "cpu" : 0, "finaud_decision" : "NO", "resource_id" : 1,
          "scheduler_priority" : 0, "state_num" : 1, "memcore" : 12052, "next_state" : "Alive",
          "last_available_upto" : 0, "type" : "default", "core" : 0, "last_job_date" : 1796202163,
          "available_upto" : 2147483647, "next_finaud_decision" : "NO", "host" : "vm", "expiry_date" : 0,
          "suspended_jobs" : "NO", "deploy" : "NO", "besteffort" : "YES", "state" : "Alive", "drain" : "NO",
          "cpuset" : "0", "desktop_computing" : "NO"}
}"""
Q = Origin("/p/seamless.profile.yaml", 9)


def judge(system: str, listing: str, **ask: Any) -> str | None:
    offer = parse_sinfo(listing) if system == "slurm" else parse_oarnodes(listing)
    e = judge_ask(BatchAsk(system, "hpc", "small", origin=Q, **ask), offer)
    if e is not None:
        assert e.kind == "batch-offer" and e.origin == Q
    return None if e is None else e.message


def test_slurm_queues_that_fit_pass() -> None:
    assert judge("slurm", SINFO) is None
    assert judge("slurm", SINFO, partition="short", walltime="00:05:00", cores=2, memory="20GB") is None
    assert judge("slurm", SINFO, walltime="100:00:00") is None  # the default partition has no limit


@pytest.mark.parametrize(("ask", "says"), [
    ({"partition": "gpu"}, "asks for SLURM partition 'gpu', which sinfo does not list (it lists: debug, short)"),
    ({"partition": "short", "walltime": "00:10:00"},
     "asks for walltime 00:10:00, over the limit of SLURM partition 'short' (00:05:00)"),
    ({"cores": 4}, "asks for 4 cores per job, but the nodes of SLURM partition 'debug' have at most 2"),
    ({"memory": "30GB"}, "asks for 30GB of memory per job, but the nodes of SLURM partition 'debug' have at most 23000 MiB"),
])
def test_slurm_queues_that_do_not_fit_are_named_with_what_is_offered(ask: dict[str, Any], says: str) -> None:
    assert judge("slurm", SINFO, **ask) == f"queue 'small' of cluster 'hpc' {says}"


def test_oar_properties_and_cores() -> None:
    assert judge("oar", OARNODES, memory_property="memcore", cores=2) is None
    assert judge("oar", OARNODES, memory_property="mem_per_core") == (
        "queue 'small' of cluster 'hpc' asks OAR for resources by property 'mem_per_core' "
        "(memory_per_core_property_name), which oarnodes does not list (it lists: core, cpu, host, memcore)")
    assert judge("oar", OARNODES, memory_property="memcore", cores=3) == (
        "queue 'small' of cluster 'hpc' asks for 3 cores per job, but the largest OAR node has 2")


def test_what_cannot_be_read_is_not_judged() -> None:
    assert judge("slurm", "", partition="gpu") is None
    assert judge("oar", "not json", memory_property="x") is None
    assert judge("slurm", SINFO, walltime="tomorrow", memory="plenty") is None


@given(st.integers(0, 99), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_slurm_times(days: int, h: int, m: int, s: int) -> None:
    assert slurm_seconds(f"{days}-{h:02d}:{m:02d}:{s:02d}") == ((days * 24 + h) * 60 + m) * 60 + s
    assert slurm_seconds(f"{h:02d}:{m:02d}:{s:02d}") == (h * 60 + m) * 60 + s


def test_memory_as_dask_reads_it() -> None:
    assert memory_bytes("500MB") == 500 * 10**6
    assert memory_bytes("1.5GiB") == int(1.5 * 2**30)
    assert memory_bytes("2 gb") == 2 * 10**9
    assert memory_bytes("-1GB") is None


# -- where the protocol asks -----------------------------------------------------------------------

def dask_plan(ask: BatchAsk | None) -> ServicePlan:
    fields = (("key", "daskserver-k"), ("workdir", "/tmp"), ("command", "seamless-dask-wrapper {status_file}"),
              ("file_parameters", {}))
    return ServicePlan("daskserver", LaunchDict("daskserver", "hpc", fields), None, False, "health",
                       "dashboard_port", batch=ask)


def first_steps(sp: ServicePlan, listing: str | None, client: dict[str, Any] | None = None,
                answers: bool = False) -> tuple[list[type], b.Ended | None]:
    """Drive the protocol in an empty world (no client file, no state) up to its launch."""
    seen: list[type] = []
    proto = b.protocol(sp, "localhost")
    reply: dict[type, Any] = {b.ReadClient: client, b.WantedParameters: None, b.ReadState: None,
                              b.StopOrphans: [], b.AskBatch: None if listing is None else (0, listing, ""),
                              b.Probe: answers, b.Forget: None}
    try:
        request = next(proto)
        while True:
            seen.append(type(request))
            if isinstance(request, b.Launch):
                return seen, None
            request = proto.send(reply[type(request)])
    except StopIteration as stop:
        return seen, stop.value


def test_the_batch_system_is_asked_before_a_launch() -> None:
    ask = BatchAsk("slurm", "hpc", "small", partition="gpu", origin=Q)
    seen, ended = first_steps(dask_plan(ask), SINFO)
    assert ended is not None and ended.how == "failed" and b.Launch not in seen
    assert ended.message == ("/p/seamless.profile.yaml:9: queue 'small' of cluster 'hpc' asks for SLURM partition "
                             "'gpu', which sinfo does not list (it lists: debug, short) (name one of those "
                             "partitions in the queue's 'partition', or remove 'partition' to use the default)")
    # a queue that fits, or a listing that cannot be had: the launch goes on
    for listing in (SINFO.replace("short", "gpu"), None):
        seen, ended = first_steps(dask_plan(ask), listing)
        assert ended is None and seen.index(b.AskBatch) < seen.index(b.Launch)


def test_not_asked_without_a_batch_queue_or_for_a_reused_service() -> None:
    seen, ended = first_steps(dask_plan(None), None)
    assert ended is None and b.AskBatch not in seen
    client = {"hostname": "localhost", "dashboard_port": 1234, "workdir": "/tmp"}
    seen, ended = first_steps(dask_plan(BatchAsk("slurm", "hpc", "small", partition="gpu")), SINFO,
                              client=client, answers=True)
    assert ended is not None and ended.how == "reused" and b.AskBatch not in seen


def test_a_batch_system_that_does_not_answer_stops_the_launch() -> None:
    seen: list[type] = []
    proto = b.protocol(dask_plan(BatchAsk("slurm", "hpc", "small")), "localhost")
    reply: dict[type, Any] = {b.ReadClient: None, b.ReadState: None, b.StopOrphans: [],
                              b.AskBatch: (1, "", "sinfo: error: Unable to contact slurm controller (connect failure)\n")}
    try:
        request = next(proto)
        while True:
            seen.append(type(request))
            request = proto.send(reply[type(request)])
    except StopIteration as stop:
        ended = stop.value
    assert ended.how == "failed" and ended.mistake is None and b.Launch not in seen
    assert ended.message.startswith("SLURM does not answer on localhost (sinfo: error: Unable to contact slurm "
                                    "controller (connect failure)): no worker job could be submitted; start slurmctld")
