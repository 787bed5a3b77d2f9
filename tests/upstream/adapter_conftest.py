"""The one adapter between seamless-config 0.3.2's own tests and this project.

``run_upstream.py`` copies this file, unchanged, as ``conftest.py`` next to the
downloaded upstream tests. It is not a conftest of this repository and does
nothing when imported.

Why it exists: the upstream tests reset the reference's module-level state by
monkeypatching private globals, e.g. ``_reset_state()`` in
``test_execution_command.py`` and ``test_tools_hashserver.py``::

    monkeypatch.setattr(seamless_config, "_initialized", False)
    monkeypatch.setattr(select, "_current_cluster", None)
    ...

Our project has none of these globals: all of its state is the one session
object, ``seamless_config.session.SESSION`` (work directory, selection,
clusters of the last load, whether ``init()`` ran, whether clients were
forwarded), plus the clients ``effects.runtime`` connected. ``monkeypatch.setattr``
refuses to set a name a module lacks, so the tests would fail before testing
anything.

What the adapter does, around every upstream test:

* before: gives every private name in ``PRIVATE_STATE`` an inert placeholder
  (only where the module lacks it), so the upstream ``monkeypatch.setattr`` calls
  succeed; then replaces the session's contents with a freshly constructed
  ``Session()``: the state of a process that just imported the package (the
  reset this repository's own ``tests/conftest.py`` uses);
* after: disconnects what the test connected, with our real
  ``effects.shell.SHELL.reset()`` (only when that module was imported, i.e.
  something may have been connected), resets the session again and removes the
  placeholders it added.

Against the reference itself (``run_upstream.py --python``) the adapter does
nothing: the reference has all these names and neither of our modules.

``run_transformer_tests.py`` appends this file to its ``conftest.py`` with
``SEAMLESS_CONFIG_ADAPTER=on-write``: seamless-transformer's tests keep the
package's state from one test to the next (one ``init()`` per file), so there
the session is reset only at the moment a test writes one of these names
(``test_probe_cli.py`` does, to start from a fresh package), never otherwise.

This matches what the upstream tests mean: every upstream write to these
private names sets the reference's *initial* value, at the start of a test,
before any call into the package. So "reset the package to its initial state
before the test" is what they ask for, and the placeholders themselves are
never read by our code. Nothing here makes a test pass that checks a private
name's *effect* (e.g. reading ``select._current_cluster`` back).
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

import pytest

# module -> {private name: value the upstream tests reset it to}; ``dict`` means a new empty dict.
PRIVATE_STATE: dict[str, dict[str, Any]] = {
    "seamless_config": {
        "_initialized": False,
        "_set_workdir_called": False,
        "_remote_clients_set": False,
        "_workdir": None,
    },
    "seamless_config.select": {
        "_current_cluster": None,
        "_current_project": None,
        "_current_subproject": None,
        "_current_stage": None,
        "_current_substage": None,
        "_current_execution": "process",
        "_execution_source": None,
        "_execution_command_seen": False,
        "_current_persistent": None,
        "_persistent_source": None,
        "_persistent_command_seen": False,
        "_current_record": False,
        "_record_source": None,
        "_record_command_seen": False,
        "_current_queue": None,
        "_queue_source": None,
        "_queue_cluster": None,
        "_current_remote": None,
        "_remote_source": None,
        "_current_node": None,
        "_node_source": None,
    },
    "seamless_config.cluster": {
        "_local_cluster": None,
        "_clusters": dict,
    },
}


def reset_session() -> None:
    """The session of a process that just imported the package."""
    session_mod = sys.modules.get("seamless_config.session")
    if session_mod is not None:
        session_mod.SESSION.__dict__.update(session_mod.Session().__dict__)


def disconnect_runtime() -> None:
    """Let go of what our shell connected during the test (runtime clients, SSH connections)."""
    shell = sys.modules.get("effects.shell")
    if shell is not None:
        shell.SHELL.reset()


def _install_placeholders() -> list[tuple[Any, str]]:
    import importlib

    added = []
    for modname, names in PRIVATE_STATE.items():
        module = importlib.import_module(modname)
        for name, value in names.items():
            if name not in module.__dict__:
                setattr(module, name, value() if value is dict else value)
                added.append((module, name))
    return added


class _ResetOnWrite(types.ModuleType):
    """A module whose writes to its names in ``PRIVATE_STATE`` reset the session (``on-write`` mode)."""

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name in PRIVATE_STATE.get(self.__name__, {}):
            reset_session()


def _ours() -> bool:
    return "seamless_config.session" in sys.modules or __import__("importlib").util.find_spec(
        "seamless_config.session") is not None


@pytest.fixture(autouse=True)
def _upstream_state_adapter():
    if os.environ.get("SEAMLESS_CONFIG_ADAPTER") == "on-write":
        # seamless-transformer's tests: most keep the package's state from test to test (one init() per
        # file); those that write the private names mean "reset" at that moment, so only then
        if not _ours():
            yield
            return
        import importlib

        added = _install_placeholders()
        swapped = []
        for modname in PRIVATE_STATE:
            module = importlib.import_module(modname)
            swapped.append((module, module.__class__))
            module.__class__ = _ResetOnWrite
        try:
            yield
        finally:
            for module, cls in swapped:
                module.__class__ = cls
            for module, name in added:
                module.__dict__.pop(name, None)
        return
    added = _install_placeholders()
    reset_session()
    yield
    disconnect_runtime()
    reset_session()
    for module, name in added:
        module.__dict__.pop(name, None)
