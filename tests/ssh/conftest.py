"""Fixtures of the SSH tests: a private sshd per module, an isolated environment per test."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sshd import PrivateSshd, missing_sshd

from ._support import SshEnv


@pytest.fixture(scope="module")
def sshd() -> Iterator[PrivateSshd]:
    """A private sshd on 127.0.0.1 (skips without /usr/sbin/sshd; fails instead in CI)."""
    reason = missing_sshd()
    if reason is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"SSH tests cannot run in CI: {reason}")
        pytest.skip(reason)
    # short paths: control sockets live below it and must stay under the 108-byte limit
    root = Path(tempfile.mkdtemp(prefix="seamless-sshd-"))
    server = PrivateSshd(root).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def ssh_env(sshd: PrivateSshd, request) -> Iterator[SshEnv]:
    """A fresh client side (HOME, launcher dir, control sockets) and cluster; everything stopped after."""
    root = Path(tempfile.mkdtemp(prefix="seamless-ssh-test-"))
    env = SshEnv(root, sshd, request.node.name)
    try:
        yield env
    finally:
        env.stop_all()
