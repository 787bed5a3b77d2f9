"""A single-node OAR for the tests of this directory, started once per session.

Skipped, with the reason, when OAR's or PostgreSQL's binaries are missing (``make
test`` installs them when it runs as root) or when not run as root (OAR's server,
its node's sshd and its test user need root); under CI (``CI=true``) either is a
failure instead, so that CI cannot pass without running these tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .oarlab import SingleNodeOar, missing_binaries


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _skip(reason: str) -> None:
    if _in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def oar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SingleNodeOar]:
    missing = missing_binaries()
    if missing:
        _skip(f"OAR binaries missing: {', '.join(missing)} (install them with `apt-get install oar-server "
              "oar-server-pgsql oar-node oar-user oar-user-pgsql postgresql`, as `make test` does when run as root)")
    if os.geteuid() != 0:
        _skip("a single-node OAR needs root (its server, its node's sshd and the user its jobs run as)")
    cluster = SingleNodeOar(tmp_path_factory.mktemp("oar"))
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def oar_venv_bin(oar: SingleNodeOar) -> Path:
    """The bin directory of a venv the OAR user can run, holding this checkout and the runtime."""
    return SingleNodeOar.venv()
