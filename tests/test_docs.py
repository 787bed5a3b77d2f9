"""Every example in docs/ runs, and prints what the page says it prints.

An example is the text between ``<!-- example -->`` and ``<!-- /example -->``:
- ```` ```yaml file=PATH ```` blocks are written first (``~/`` is the example's
  home directory; other paths are relative to the project directory);
- ```` ```console ```` blocks hold ``$ command`` lines (run without a shell, in
  the project directory) each followed by the expected output (stdout and
  stderr together); a last line ``[exit N]`` gives the expected exit code;
- ```` ```pycon ```` blocks are doctests run in the project directory.

Paths print as ``/home/alice`` (home) and ``/home/alice/project`` (project).
"""

from __future__ import annotations

import doctest
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BIN = Path(sys.executable).parent
EXAMPLE = re.compile(r"<!-- example -->(.*?)<!-- /example -->", re.S)
BLOCK = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```\s*$", re.S | re.M)
HOME = "/home/alice"
PROJECT = "/home/alice/project"


def _examples():
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text()
        for m in EXAMPLE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            yield pytest.param(page, m.group(1), id=f"{page.relative_to(DOCS)}:{line}")


def _normalise(text: str, home: Path, project: Path) -> str:
    text = text.replace(str(project), PROJECT).replace(str(home), HOME)
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines())


@pytest.mark.parametrize("page,body", list(_examples()))
def test_doc_example(page: Path, body: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "alice"
    project = home / "project"
    project.mkdir(parents=True)
    env = dict(os.environ)
    env.update(HOME=str(home), SEAMLESS_CONFIG_CACHE=str(tmp_path / "cache"), PATH=f"{BIN}:{env.get('PATH', '')}", COLUMNS="80")
    for var in ("SEAMLESS_CACHE", "SEAMLESS_REMOTE_CLIENTS", "REMOTE_HTTP_LAUNCHER_DIR"):
        env.pop(var, None)
    ran = 0
    for kind, info, content in BLOCK.findall(body):
        if kind == "yaml" and "file=" in info:
            rel = info.split("file=", 1)[1].split()[0]
            target = home / rel[2:] if rel.startswith("~/") else project / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content)
        elif kind == "console":
            for command, expected in _commands(content):
                code = 0
                m = re.search(r"\n?\[exit (\d+)\]\s*$", expected)
                if m:
                    code = int(m.group(1))
                    expected = expected[: m.start()]
                argv = shlex.split(command.replace("~/", f"{home}/"))
                proc = subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=120)
                got = _normalise(proc.stdout + proc.stderr, home, project)
                assert got == _normalise(expected, home, project), f"{page}: $ {command}"
                assert proc.returncode == code, f"{page}: $ {command}: exit {proc.returncode}\n{proc.stderr}"
                ran += 1
        elif kind == "pycon":
            monkeypatch.chdir(project)
            for k, v in env.items():
                monkeypatch.setenv(k, v)
            _reset_session()
            parser = doctest.DocTestParser()
            test = parser.get_doctest(content, {}, str(page), str(page), 0)
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
            runner.run(test)
            assert runner.failures == 0, f"{page}: doctest failed (see output above)"
            ran += 1
    assert ran, f"{page}: example without a console or pycon block"


def _reset_session() -> None:
    import seamless_config.session as session

    fresh = session.Session()
    session.SESSION.__dict__.update(fresh.__dict__)


def _commands(block: str):
    command = None
    lines: list[str] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield command, "\n".join(lines)
            command, lines = line[2:], []
        else:
            lines.append(line)
    if command is not None:
        yield command, "\n".join(lines)
