"""Fixtures of the end-to-end tests: see ``_support`` for the environments they give."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._support import E2EEnv, missing_runtime, new_env


def pytest_collection_modifyitems(config, items):  # noqa: D401 - hook
    reason = missing_runtime()
    if reason is None:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def e2e_env(tmp_path, request) -> Iterator[E2EEnv]:
    """A fresh environment for one test; its services are stopped afterwards."""
    env = new_env(tmp_path, request.node.name)
    try:
        yield env
    finally:
        env.stop_all()


@pytest.fixture(scope="module")
def module_env_factory(tmp_path_factory, request) -> Iterator[Any]:
    """Environments shared by the tests of one module (stopped when the module ends)."""
    made: list[E2EEnv] = []

    def make(name: str) -> E2EEnv:
        env = new_env(tmp_path_factory.mktemp(name), name)
        made.append(env)
        return env

    try:
        yield make
    finally:
        for env in made:
            env.stop_all()
