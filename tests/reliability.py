"""Figures of the reliability tests, for ``docs/reliability.md``.

Tests call :func:`record` with what they tried and what they measured (inputs
tried, faults survived, duplicates found, descriptor and thread counts,
timings), per implementation (``ours`` or ``reference``). The figures are
merged into one JSON file (``scratch/reliability.json``, or
``$SEAMLESS_RELIABILITY_JSON``) under a lock, so xdist workers and the
subprocesses of a test may all write; ``tests/reliability_report.py`` renders
the page from it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def figures_path() -> Path:
    return Path(os.environ.get("SEAMLESS_RELIABILITY_JSON") or REPO / "scratch" / "reliability.json")


def record(section: str, name: str, value: Any, *, impl: str = "ours", note: str = "") -> None:
    """Set one figure: ``section`` (a table of the page), ``name`` (its row), per implementation."""
    path = figures_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(path.read_text()) if path.exists() else {}
            except ValueError:
                data = {}
            row = data.setdefault(section, {}).setdefault(name, {})
            row[impl] = value
            if note:
                row["note"] = note
            row["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, path)
    except OSError:  # figures are a by-product: never fail a test for them
        with contextlib.suppress(OSError):
            path.with_suffix(".tmp").unlink()
