"""docs/architecture.md stays true: every file its pictures and text name exists, and every
function named beside a file (``core/layout.py  gather``) is defined in that file."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
FILE = re.compile(r"(?<![\w/.])((?:seamless_config/|effects/|core/|tests/)[\w/]*\.py)(?:[ \t]+([A-Za-z_]\w*))?")


def _path(name: str) -> Path:
    return ROOT / ("seamless_config/" + name if name.startswith("core/") else name)


def test_the_files_and_functions_named_exist() -> None:
    text = PAGE.read_text()
    named = FILE.findall(text)
    assert len(named) > 20, "the pattern no longer finds the page's file names"
    missing = sorted({f for f, _ in named if not _path(f).is_file()})
    assert missing == [], f"docs/architecture.md names files that do not exist: {missing}"
    picture = "\n".join(block for block in re.findall(r"```text\n(.*?)```", text, re.S))
    undefined = []
    for f, fn in FILE.findall(picture):
        if fn and not re.search(rf"^\s*(?:def|class) {re.escape(fn)}\b", _path(f).read_text(), re.M):
            undefined.append(f"{f} {fn}")
    assert undefined == [], f"functions named in the pictures but not defined there: {undefined}"


def test_the_core_exports_its_stages_in_order_without_loading_them() -> None:
    import subprocess
    import sys

    code = ("import sys, seamless_config.core as c, seamless_config.core.clients; "
            "print(sorted(m for m in sys.modules if m.startswith('seamless_config.core.'))); "
            "print([getattr(c, n).__module__ for n in c.__all__])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    loaded, modules = out.splitlines()
    assert loaded == "['seamless_config.core.clients']", "importing the core loads its stages"
    assert modules == str([f"seamless_config.core.{m}" for m in ("layout", "layout", "launch", "plan", "bringup")])
