"""A single-node SLURM for the tests of this directory, started once per session.

Skipped, with the reason, when the SLURM or munge binaries are missing (``make
test`` installs them when it runs as root); under CI (``CI=true``) a missing
binary is a failure instead, so that CI cannot pass without running these tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from .slurmlab import SingleNodeSlurm, missing_binaries


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SingleNodeSlurm]:
    missing = missing_binaries()
    if missing:
        reason = (f"SLURM binaries missing: {', '.join(missing)} "
                  "(install them with `apt-get install slurm-wlm munge`, as `make test` does when run as root)")
        if _in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = SingleNodeSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except (RuntimeError, OSError) as exc:
        if _in_ci() or os.geteuid() == 0:
            raise
        # slurmd needs root to start jobs as their users; a non-root run cannot host the node
        pytest.skip(f"cannot start a single-node SLURM without root: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()
