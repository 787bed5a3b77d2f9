"""Services on a frontend reached over SSH (a private sshd), with and without tunnels."""

from __future__ import annotations

import os
import signal
import time

from effects import tunnels

from ._support import SshEnv


def _by_role(out: dict) -> dict[str, list]:
    return {row[0]: row for row in out["outcomes"]}


def test_workflow_over_ssh(ssh_env: SshEnv) -> None:
    """hashserver + database launched over SSH, one connection for the cold init, none for the warm one."""
    env = ssh_env
    env.configure()
    cold, cold_s, cold_conns = env.init_json()
    assert {r["service"]: r["state"] for r in cold["services"]} == {"hashserver": "launched", "database": "launched"}
    assert cold_conns == 1, "a cold init opens one SSH connection per frontend"
    hk, hs = env.server_state("hashserver")
    dk, ds = env.server_state("database")
    assert hs["status"] == ds["status"] == "running"
    assert hs["meta"]["cluster"] == env.cluster
    client = env.client_file(hk)
    assert client["hostname"] == "127.0.0.1" and client["port"] == hs["port"]
    assert client["ssh_hostname"] == "seamless-test-frontend"
    assert not (env.local_rhl / "server" / f"{hk}.json").exists(), "server state stays on the server side"

    warm, warm_s, warm_conns = env.init_json()
    assert {r["state"] for r in warm["services"]} == {"reused"}
    assert warm_conns == 0, "a warm init talks to the services only"
    print(f"\nSSH cold init {cold_s:.2f} s ({cold_conns} connection), warm {warm_s:.2f} s ({warm_conns})")

    # without client files the running services are found through the server's state
    for key in (hk, dk):
        os.unlink(env.local_rhl / "client" / f"{key}.json")
    out = env.workflow(20, 22)
    assert out["result"] == 420
    assert {r[1] for r in out["outcomes"]} == {"reused"}
    assert env.server_state("hashserver")[1]["pid"] == hs["pid"]
    assert any(env.bufferdir.rglob("*")), "buffers were written through the SSH frontend's hashserver"
    assert (env.database_dir / env.project / "seamless.db").exists()


def test_workflow_through_tunnel(ssh_env: SshEnv) -> None:
    """tunnel: true: client files point at local forwards; a dead tunnel is reopened; stop closes it."""
    env = ssh_env
    env.configure(tunnel=True)
    cold, cold_s, conns = env.init_json()
    assert {r["state"] for r in cold["services"]} == {"launched"}
    hk, hs = env.server_state("hashserver")
    client = env.client_file(hk)
    assert client["hostname"] == "localhost"
    assert client["port"] != hs["port"] and client["tunneled-port"] == hs["port"]
    assert client["tunneled-host"] == "seamless-test-frontend"
    assert client["tunneled-network-interface"] == "127.0.0.1"
    monitor = client["tunnel-pid"]
    assert tunnels.is_monitor(monitor)
    # one shared connection for the helpers, one per tunnel
    assert conns == 1 + len(cold["services"])
    print(f"\nSSH+tunnel cold init {cold_s:.2f} s ({conns} connections)")

    out = env.workflow(1, 2)
    assert out["result"] == 30 and {r[1] for r in out["outcomes"]} == {"reused"}
    assert {r[3] for r in out["outcomes"]} == {"localhost"}

    # a dead tunnel to a live service: the next init opens a new one, the service is reused
    os.killpg(monitor, signal.SIGKILL)
    _wait(lambda: not tunnels.is_monitor(monitor))
    again, _, _ = env.init_json()
    assert {r["state"] for r in again["services"]} == {"reused"}
    client2 = env.client_file(hk)
    assert client2["tunnel-pid"] != monitor and tunnels.is_monitor(client2["tunnel-pid"])
    assert env.server_state("hashserver")[1]["pid"] == hs["pid"]

    # the monitor ends with the service
    os.kill(hs["pid"], signal.SIGTERM)
    _wait(lambda: not tunnels.is_monitor(client2["tunnel-pid"]), timeout=20)


def test_stop_service_closes_tunnel(ssh_env: SshEnv, monkeypatch) -> None:
    env = ssh_env
    env.configure(tunnel=True)
    env.init_json()
    hk, hs = env.server_state("hashserver")
    monitor = env.client_file(hk)["tunnel-pid"]
    for k, v in env.env().items():
        monkeypatch.setenv(k, v)
    from effects import services, ssh

    host = ssh.SshHost("seamless-test-frontend")
    try:
        assert services.stop(host, hk)["outcome"] == "stopped"
    finally:
        ssh.close_all()
    _wait(lambda: not tunnels.is_monitor(monitor))
    assert env.client_file(hk)["status"] == "stale"
    assert env.server_state("hashserver")[1]["status"] == "stale"


def test_jobserver_over_ssh(ssh_env: SshEnv) -> None:
    """execution: remote with the jobserver on the SSH frontend; it gets the storage clients."""
    env = ssh_env
    env.configure(execution="remote", remote="jobserver")
    out = env.workflow(3, 4)
    assert out["result"] == 70 and out["execution"] == "remote"
    assert out["ran_in"] != out["pid"]
    roles = _by_role(out)
    assert set(roles) == {"hashserver", "database", "jobserver"}
    jk, js = env.server_state("jobserver")
    assert js["status"] == "running"
    urls = [b["remote_url"] for b in js["parameters"]["buffer"]]
    assert urls == [f"http://127.0.0.1:{env.server_state('hashserver')[1]['port']}"]


def _wait(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.1)


def test_tunnel_port_collision_picks_another(ssh_env: SshEnv, monkeypatch) -> None:
    """A local port taken between choosing it and ssh listening on it: another one is used."""
    import socket

    env = ssh_env
    env.configure()
    env.init_json()
    hk, hs = env.server_state("hashserver")
    for k, v in env.env().items():
        monkeypatch.setenv(k, v)
    from effects import ssh

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    busy = taken.getsockname()[1]
    real = tunnels.free_port
    calls = []

    def first_busy(exclude=None):
        calls.append(1)
        return busy if len(calls) == 1 else real(exclude)

    monkeypatch.setattr(tunnels, "free_port", first_busy)
    host = ssh.SshHost("seamless-test-frontend")
    t = None
    try:
        t = tunnels.open_tunnel(host.ssh_argv(), "127.0.0.1", {"port": hs["port"]}, hs["pid"])
        assert t.local["port"] != busy and len(calls) == 2
        import httpx

        assert httpx.get(f"http://127.0.0.1:{t.local['port']}/healthcheck", timeout=5).status_code == 200
    finally:
        taken.close()
        if t is not None:
            tunnels.close_tunnel({"tunnel-pid": t.pid})
        ssh.close_all()


def test_local_cluster_daskserver_on_frontend_through_tunnel(ssh_env: SshEnv) -> None:
    """A cluster of type local on an SSH frontend runs its LocalCluster daskserver there; its
    scheduler port and its dashboard port are both forwarded."""
    import httpx

    env = ssh_env
    env.configure(tunnel=True, execution="remote", remote="daskserver")
    out, _, conns = env.init_json()
    assert {r["service"]: r["state"] for r in out["services"]} == {
        "hashserver": "launched", "database": "launched", "daskserver": "launched"}
    assert conns == 1 + 3
    key, state = env.server_state("daskserver")
    assert "distributed::LocalCluster" in state["command"]
    client = env.client_file(key)
    assert client["hostname"] == "localhost"
    assert client["tunneled-port"] == state["port"] and client["tunneled-dashboard_port"] == state["dashboard_port"]
    assert client["dashboard_port"] not in (state["dashboard_port"], client["port"])
    r = httpx.get(f"http://localhost:{client['dashboard_port']}/health", timeout=10)
    assert r.status_code == 200
