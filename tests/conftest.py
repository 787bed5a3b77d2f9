"""Shared fixtures: a private HOME, project trees on disk, a fresh session per test."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

from seamless_config import session as session_mod


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A temporary HOME (with an empty ``~/.seamless``), its own parse cache, no SEAMLESS_CACHE."""
    h = tmp_path / "home"
    (h / ".seamless").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setenv("SEAMLESS_CONFIG_CACHE", str(tmp_path / "parse-cache"))
    monkeypatch.delenv("SEAMLESS_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.delenv("REMOTE_HTTP_LAUNCHER_DIR", raising=False)
    return h


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    return root


@pytest.fixture
def write_tree(tmp_path):
    """``write_tree({"proj/seamless.yaml": "...", ...}, root=None)`` writes dedented files; returns the root."""

    def write(files: dict[str, str], root: Path | None = None) -> Path:
        return _write(root if root is not None else tmp_path / "tree", files)

    return write


@pytest.fixture
def write_clusters(home):
    """Writes ``~/.seamless/clusters.yaml`` (or ``clusters/<name>``) in the temporary HOME."""

    def write(text: str, name: str | None = None) -> Path:
        rel = "clusters.yaml" if name is None else f"clusters/{name}"
        _write(home / ".seamless", {rel: text})
        return home / ".seamless" / rel

    return write


@pytest.fixture(autouse=True)
def fresh_session():
    """Every test starts with a new module-level session and leaves one behind, with the shell's
    runtime clients disconnected and its SSH connections closed."""

    def reset() -> None:
        session_mod.SESSION.__dict__.update(session_mod.Session().__dict__)

    reset()
    yield session_mod.SESSION
    shell = sys.modules.get("effects.shell")  # (only if something may have used it)
    if shell is not None:
        shell.SHELL.reset()
    reset()


@pytest.fixture
def project(home, write_tree, monkeypatch):
    """Write a project tree, point the session at ``workdir`` (relative to the tree) and cd there."""

    def make(files: dict[str, str], workdir: str = "proj") -> Path:
        root = write_tree(files)
        wd = root / workdir
        wd.mkdir(parents=True, exist_ok=True)
        monkeypatch.chdir(wd)
        session_mod.SESSION.workdir = str(wd)
        session_mod.SESSION.workdir_set = True
        return wd

    return make


# A cluster file used by several test modules: every service on one frontend, queues with a TEMPLATE.
STANDARD_CLUSTERS = """\
here:
  type: local
  workers: 4
  frontends:
  - hostname: localhost
    hashserver:
      bufferdir: /data/buffers
      port_start: 5000
      port_end: 5099
    database:
      database_dir: /data/db
      port_start: 6000
      port_end: 6099
there:
  type: slurm
  tunnel: true
  workers: 8
  memory_per_core_property_name: mem_per_core
  frontends:
  - hostname: fe1
    ssh_hostname: fe1ssh
    hashserver:
      bufferdir: /cluster/buffers
      network_interface: 10.0.0.1
      conda: hashenv
      port_start: 5100
      port_end: 5199
    database:
      database_dir: /cluster/db
      network_interface: 10.0.0.1
      port_start: 6100
      port_end: 6199
    jobserver:
      conda: jobenv
      network_interface: 10.0.0.2
      port_start: 7000
      port_end: 7100
  - hostname: fe2
    daskserver:
      network_interface: 10.0.0.3
      port_start: 8000
      port_end: 8100
  queues:
    q1:
      conda: daskenv
      walltime: "01:00:00"
      cores: 4
      memory: 10GB
    q2:
      TEMPLATE: q1
      cores: 16
      memory: null
  default_queue: q1
"""


@pytest.fixture
def standard_clusters(write_clusters):
    return write_clusters(STANDARD_CLUSTERS)


def pytest_collection_modifyitems(config, items):  # noqa: D401 - hook
    del config, items


os.environ.setdefault("HYPOTHESIS_PROFILE", "default")
