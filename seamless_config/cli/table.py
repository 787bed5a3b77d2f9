"""The ``seamless-service-ps`` table: a header line, one line per row, columns padded."""

from __future__ import annotations

from collections.abc import Sequence

from seamless_config.core.errors import printable
from seamless_config.inspect.ps import ServiceRow, display_project, human_size

COLUMNS = ("SERVICE", "PROJECT", "STAGE", "PROCESS", "PORT", "PERSISTENT", "SIZE")


def _cells(row: ServiceRow) -> tuple[str, ...]:
    s = row.scope
    project = display_project(s.project, s.cluster) or "-"
    if s.project and s.subproject:
        project += "/" + s.subproject
    stage = s.stage or "-"
    if s.stage and s.substage:
        stage += ":" + s.substage
    cells = (s.service or "?", project, stage, row.process or "-",
             str(row.port) if row.port is not None else "-", row.persistent or "-", human_size(row.size))
    return tuple(printable(c) for c in cells)  # (from file names and state files: one row, one line)


def render_table(rows: Sequence[ServiceRow]) -> str:
    """The ``ps`` table: a header line and one line per row, columns padded to their widest cell.

    >>> print(render_table([]))
    SERVICE PROJECT STAGE PROCESS PORT PERSISTENT SIZE
    >>> from seamless_config.core.services import parse_key
    >>> rows = [ServiceRow("hashserver-c-rw-p--a--STAGE-sSUBSTAGE-t", parse_key("hashserver-c-rw-p--a--STAGE-sSUBSTAGE-t"), "running", 5000, persistent="populated", size=2048)]
    >>> print(render_table(rows))
    SERVICE    PROJECT STAGE PROCESS PORT PERSISTENT SIZE
    hashserver p/a     s:t   running 5000 populated  2.0K
    """
    table = [COLUMNS, *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join(" ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in table)
