"""A frontend whose SSH key is forced through ``rhl-guard --clear-policy seamless``."""

from __future__ import annotations

import os

from ._support import SshEnv


def test_guarded_frontend_launch_and_reuse(ssh_env: SshEnv, monkeypatch) -> None:
    env = ssh_env
    env.configure(alias="seamless-test-guarded")
    cold, _, conns = env.init_json()
    assert {r["state"] for r in cold["services"]} == {"launched"} and conns == 1
    hk, hs = env.server_state("hashserver")
    dk, _ = env.server_state("database")
    # the client files gone: the running services are found through the guard (rhl-inspect & co)
    for key in (hk, dk):
        os.unlink(env.local_rhl / "client" / f"{key}.json")
    again, _, _ = env.init_json()
    assert {r["state"] for r in again["services"]} == {"reused"}
    assert env.server_state("hashserver")[1]["pid"] == hs["pid"]

    # the management operations pass the guard too
    for k, v in env.env().items():
        monkeypatch.setenv(k, v)
    from effects import ssh

    host = ssh.SshHost("seamless-test-guarded")
    try:
        rows = {r["key"]: r for r in host.list_states()}
        assert rows[hk]["status"] == "running" and rows[hk]["meta"]["cluster"] == env.cluster
        assert host.read_log(hk) is not None
        usage = host.disk_usage([str(env.bufferdir / env.project)])
        assert usage[0]["state"] in ("empty", "populated")
        assert host.stop_key(hk) == "stopped"
        assert host.read_state(hk)["status"] == "stale"
        assert host.stop_key(hk) == "not-running"
        assert host.stop_key("no-such-key") == "missing"
    finally:
        ssh.close_all()
