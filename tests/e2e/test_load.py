"""Load: many processes bringing up one cold project at once, and many bring-ups in a row.

32 ``seamless-init`` processes start together on a project none of whose
services runs: one server per key comes up, and all 32 report the same ports.
Then 200 stage switches in one process (each a full load, bring-up of warm
services and runtime activation) and 20 bring-ups in separate processes: the
counts of open descriptors, threads and child processes, in the process and in
the services, do not grow.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import reliability

from ._support import VENV_BIN, E2EEnv, describe, script_result

N_PROCESSES = 32
N_CYCLES = 200


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(ln for ln in f if ln.startswith("Threads:")).split()[1])


def test_concurrent_cold_bring_up(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="process")
    t0 = time.monotonic()
    procs = [
        subprocess.Popen([str(VENV_BIN / "seamless-init"), "--json"], cwd=env.project_dir, env=env.env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        for _ in range(N_PROCESSES)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        results.append((p.returncode, out, err))
    seconds = time.monotonic() - t0
    failed = [(rc, err) for rc, _out, err in results if rc != 0]
    assert not failed, failed[:3]
    ports: dict[str, set[int]] = {}
    launched: dict[str, int] = {}
    for _rc, out, _err in results:
        for row in json.loads(out)["services"]:
            ports.setdefault(row["key"], set()).add(row["port"])
            launched[row["key"]] = launched.get(row["key"], 0) + (row["state"] == "launched")
    assert len(ports) == 2 and all(len(p) == 1 for p in ports.values()), ports
    assert all(n == 1 for n in launched.values()), launched  # one process launched each, the others reused
    states = env.server_states()
    assert sorted(states) == sorted(ports)
    duplicates = 0
    for key, state in states.items():
        procs_of_key = set(env.service_processes(key).values())
        duplicates += max(0, len(procs_of_key) - 1)
        assert procs_of_key == {state["pid"]}, (key, procs_of_key, state)
    reliability.record("Load", f"{N_PROCESSES} seamless-init processes on one cold project at once",
                       {"processes": N_PROCESSES, "errors": 0, "servers per key": 1, "distinct ports per key": 1,
                        "duplicates": duplicates, "seconds": round(seconds, 1)})


CYCLES = '''
import json, os, sys, threading

def counts():
    children = 0
    me = str(os.getpid())
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[-1].split()
                children += fields[1] == me and fields[0] != "Z"
            except OSError:
                pass
    return {"fds": len(os.listdir("/proc/self/fd")), "threads": threading.active_count(),
            "os_threads": int([ln for ln in open("/proc/self/status") if ln.startswith("Threads:")][0].split()[1]),
            "children": children}

def main():
    n = int(sys.argv[1])
    import seamless_config
    from seamless_config import session
    seamless_config.init()
    seamless_config.set_stage("prod")
    seamless_config.set_stage(None)
    before = counts()
    keys = set()
    for i in range(n):
        seamless_config.set_stage("prod" if i % 2 == 0 else None)
        keys.update(o.key for o in session.SESSION.outcomes)
        assert all(o.state == "reused" for o in session.SESSION.outcomes), session.SESSION.outcomes
    after = counts()
    print("E2E-RESULT " + json.dumps({"before": before, "after": after, "keys": sorted(keys)}), flush=True)

if __name__ == "__main__":
    main()
'''


def test_many_cycles_leak_nothing(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="process")
    t0 = time.monotonic()
    out = script_result(env.python(CYCLES, str(N_CYCLES), timeout=600))
    seconds = time.monotonic() - t0
    before, after = out["before"], out["after"]
    assert len(out["keys"]) == 4, out["keys"]  # two stages, two storage services each
    for name in ("fds", "threads", "os_threads", "children"):
        assert after[name] <= before[name], (name, before, after)
    reliability.record("Load", f"{N_CYCLES} stage switches in one process (load, warm bring-up, activation)",
                       {"cycles": N_CYCLES, "fds before/after": f"{before['fds']}/{after['fds']}",
                        "threads before/after": f"{before['os_threads']}/{after['os_threads']}",
                        "children before/after": f"{before['children']}/{after['children']}",
                        "seconds per cycle": round(seconds / N_CYCLES, 3)})

    # and across processes: 20 bring-ups in a row leave the services as they were
    states = env.server_states()
    pids = {k: s["pid"] for k, s in states.items() if s.get("status") == "running"}
    first = {k: (_fds(p), _threads(p)) for k, p in pids.items()}
    for _ in range(20):
        cp = env.seamless_init("--quiet")
        assert cp.returncode == 0, describe(cp)
    later = {k: (_fds(p), _threads(p)) for k, p in pids.items()}
    assert {k: s["pid"] for k, s in env.server_states().items() if s.get("status") == "running"} == pids
    for k in pids:
        assert later[k][0] <= first[k][0] + 2 and later[k][1] <= first[k][1] + 2, (k, first[k], later[k])
    for key in pids:
        assert len(set(env.service_processes(key).values())) == 1
    reliability.record("Load", "20 seamless-init processes in a row: the services' descriptors and threads",
                       {"bring-ups": 20, "service fds before/after": "/".join(
                           f"{sum(v[0] for v in d.values())}" for d in (first, later)),
                        "service threads before/after": "/".join(
                           f"{sum(v[1] for v in d.values())}" for d in (first, later)),
                        "service processes per key": 1})
