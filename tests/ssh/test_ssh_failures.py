"""What goes wrong with remote frontends, each said in one line."""

from __future__ import annotations

import re
import socket
import time

from ._support import SshEnv, describe

EXIT_SERVICE = 1


def _fail(env: SshEnv) -> tuple[str, float]:
    t0 = time.monotonic()
    cp = env.seamless_init()
    seconds = time.monotonic() - t0
    assert cp.returncode == EXIT_SERVICE, describe(cp)
    lines = [ln for ln in cp.stderr.splitlines() if ln.startswith("seamless-init:")]
    assert len(lines) == 1, describe(cp)
    return lines[0], seconds


def _frontend_line(profile) -> int:
    return next(i for i, ln in enumerate(profile.read_text().splitlines(), 1) if "- hostname: 127.0.0.1" in ln)


def test_unreachable_frontend(ssh_env: SshEnv) -> None:
    env = ssh_env
    profile = env.configure(alias="seamless-test-closed")
    msg, seconds = _fail(env)
    assert seconds < 15
    assert f"cluster '{env.cluster}'" in msg
    assert "frontend '127.0.0.1' (ssh seamless-test-closed)" in msg
    assert f"{profile}:{_frontend_line(profile)}" in msg
    assert "Connection refused" in msg
    assert f"try by hand: ssh -F {env.sshd.config_file} -o BatchMode=yes seamless-test-closed rhl-ps" in msg


def test_silent_frontend_gives_up_within_15_s(ssh_env: SshEnv) -> None:
    """A host that takes the connection and never answers (a dropping firewall, a hung server)."""
    env = ssh_env
    env.configure(alias="seamless-test-silent")
    msg, seconds = _fail(env)
    assert seconds < 15
    assert msg.startswith(f"seamless-init: cannot reach frontend '127.0.0.1' (ssh seamless-test-silent) of cluster '{env.cluster}'")
    assert "timed out" in msg or "no answer" in msg
    assert "try by hand: ssh -F" in msg


def test_authentication_failure(ssh_env: SshEnv) -> None:
    env = ssh_env
    env.configure(alias="seamless-test-stranger")
    msg, seconds = _fail(env)
    assert seconds < 15
    assert "was refused" in msg and "Permission denied (publickey)" in msg and "ssh-add" in msg
    assert f"cluster '{env.cluster}'" in msg


def test_helpers_missing(ssh_env: SshEnv) -> None:
    env = ssh_env
    env.configure(alias="seamless-test-nohelpers")
    msg, _ = _fail(env)
    assert "rhl-inspect is not on the PATH of SSH sessions" in msg
    assert "pip install remote-http-launcher" in msg


def test_service_binary_missing(ssh_env: SshEnv) -> None:
    env = ssh_env
    env.configure(alias="seamless-test-nobinaries")
    msg, _ = _fail(env)
    assert re.search(r"'(hashserver|seamless-database)' was not found on the PATH of SSH sessions on frontend", msg)
    assert re.search(r"pip install (hashserver|seamless-database)", msg)


def test_port_range_exhausted(ssh_env: SshEnv) -> None:
    env = ssh_env
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env.configure(hashserver_range=(port, port))
        msg, _ = _fail(env)
    assert f"every port of its range {port}-{port} is taken" in msg
    assert "port_start/port_end" in msg


def test_guard_rejection(ssh_env: SshEnv) -> None:
    env = ssh_env
    env.configure(alias="seamless-test-guarded", bufferdir=env.root / ".hidden" / "buffers")
    msg, _ = _fail(env)
    assert "the SSH guard on frontend '127.0.0.1' (ssh seamless-test-guarded)" in msg
    assert "refused 'rhl-launch-service'" in msg and "dot-prefixed" in msg
