"""Data is never lost by the service commands: stop and rm keep buffers and databases; clear touches
only a marked directory below the configured bufferdir/database_dir, and nothing outside it.

Also ``seamless-service-ps`` with 500 services in state (the rows; its timing is in
``benchmarks/hostile_input.py``).
"""

from __future__ import annotations

import json
import os
import time

import reliability

from ._support import VENV_BIN, E2EEnv, describe


def _files(path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): (p.read_bytes() if p.is_file() and not p.is_symlink() else b"")
            for p in sorted(path.rglob("*"))}


def _cmd(env: E2EEnv, name: str, *args: str):
    return env.run([str(VENV_BIN / name), *args], timeout=120)


def test_stop_rm_clear_never_lose_other_data(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="process")
    cp = env.seamless_init("--json")
    assert cp.returncode == 0, describe(cp)
    buffers, db = env.storage_dir("buffer"), env.storage_dir("database")
    (buffers / "ab").mkdir(exist_ok=True)
    (buffers / "ab" / "abcd").write_bytes(b"a buffer")
    # data that no command may touch: a sibling project, a directory outside, a symlink out of the target
    sibling = env.bufferdir / "otherproject"
    sibling.mkdir(parents=True)
    (sibling / ".HASHSERVER_PREFIX").write_text("")
    (sibling / "keep").write_text("other project's buffer")
    outside = env.root / "outside"
    outside.mkdir()
    (outside / "keep").write_text("not Seamless data")
    (buffers / "link-out").symlink_to(outside, target_is_directory=True)
    keep = {"sibling": _files(sibling), "outside": _files(outside), "db": _files(db.parent)}
    buffers_before = _files(buffers)

    # stop and rm: every service stopped and forgotten, every byte of data kept
    for service in ("hashserver", "database"):
        cp = _cmd(env, "seamless-service-stop", "--service", service)
        assert cp.returncode == 0, describe(cp)
        cp = _cmd(env, "seamless-service-rm", "--service", service)
        assert cp.returncode == 0, describe(cp)
    assert _files(buffers) == buffers_before
    assert _files(db.parent) == keep["db"] and (db / "seamless.db").is_file()

    # clear on a directory without the marker: refused, untouched
    nomarker = env.bufferdir / "nomarker"
    nomarker.mkdir()
    (nomarker / "keep").write_text("not a hashserver directory")
    cp = _cmd(env, "seamless-service-clear", "--service", "hashserver", "--project", "nomarker", "--yes")
    assert cp.returncode != 0 and "Traceback" not in cp.stderr, describe(cp)
    assert (nomarker / "keep").read_text() == "not a hashserver directory"

    # clear of the project's buffers: its directory emptied, nothing else touched
    assert (buffers / ".HASHSERVER_PREFIX").exists() or any(buffers.iterdir())
    (buffers / ".HASHSERVER_PREFIX").touch()
    cp = _cmd(env, "seamless-service-clear", "--service", "hashserver", "--yes")
    assert cp.returncode == 0, describe(cp)
    assert buffers.is_dir() and not any(buffers.iterdir())
    assert _files(sibling) == keep["sibling"] and _files(outside) == keep["outside"]
    assert _files(db.parent) == keep["db"]
    reliability.record("Faults (real services)", "stop, rm and clear: data outside the target kept",
                       {"bytes lost outside the cleared directory": 0, "unmarked directory cleared": 0,
                        "buffers/databases deleted by stop or rm": 0})


def test_ps_lists_500_services(e2e_env: E2EEnv) -> None:
    env = e2e_env
    env.configure(execution="process")
    client, server = env.launcher_dir / "client", env.launcher_dir / "server"
    client.mkdir(parents=True)
    server.mkdir(parents=True)
    for i in range(500):
        key = f"hashserver-{env.cluster}-rw-p{i}"
        (client / f"{key}.json").write_text(json.dumps({"hostname": "localhost", "port": 40000 + i}))
        (server / f"{key}.json").write_text(json.dumps({
            "status": "running", "pid": 2_000_000_000 + i, "port": 40000 + i, "workdir": f"/b/p{i}",
            "meta": {"service": "hashserver", "cluster": env.cluster, "mode": "rw", "project": f"p{i}"}}))
    t0 = time.monotonic()
    cp = _cmd(env, "seamless-service-ps", "--json")
    seconds = time.monotonic() - t0
    assert cp.returncode == 0, describe(cp)
    rows = [json.loads(line) for line in cp.stdout.splitlines() if line.strip()]
    assert len(rows) == 500
    assert all(r.get("status") != "running" for r in rows if "status" in r)  # dead pids are not running
    reliability.record("Load", "seamless-service-ps with 500 services in state (process, including start-up)",
                       {"rows": len(rows), "seconds": round(seconds, 2)})
    assert os.path.isdir(server)
