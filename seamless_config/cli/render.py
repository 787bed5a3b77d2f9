"""Text renderings of the inspection reports (:mod:`seamless_config.inspect`), for the CLIs.

Paths are shown as in error messages: relative to the current directory, ``~/``
for home. The JSON forms are the reports' own (``show_json``, ``check_json``, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from seamless_config.core.errors import DEFAULT_ORIGIN, Origin, render, short_path
from seamless_config.core.layout import COMMAND_LINE
from seamless_config.inspect.doctor import FAIL, MARKS, OK, WARN, Check, host_label
from seamless_config.inspect.explain import Explanation
from seamless_config.inspect.report import (
    DERIVED,
    SERVICE_FIELDS,
    CheckReport,
    DiffReport,
    Entry,
    Finding,
    ShowReport,
    fmt_value,
)


def fmt_origin(origin: Origin, cwd: str | None, home: str | None, block: str | None = None, note: str = "") -> str:
    text = str(Origin(short_path(origin.file, cwd, home), origin.line))
    if block is not None:
        text += f" (stage {block})"
    if note:
        text = f"({origin.file.strip('()')}: {note})" if origin == DEFAULT_ORIGIN else f"{text} ({note})"
    return text


def _table(rows: Sequence[Sequence[str]], indent: str) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [(indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]).rstrip()
            for r in rows]


def render_show(report: ShowReport, cwd: str | None, home: str | None) -> str:
    stage = report.entry("stage").value
    substage = report.entry("substage").value
    title = "selection" + (f" (stage {stage}{':' + substage if substage else ''})" if stage else " (no stage)")
    lines = [title]
    lines += _table([(e.name, fmt_value(e.value), fmt_origin(e.origin, cwd, home, e.block, e.note))
                     for e in report.selection], "  ")
    if report.queue_fields:
        lines.append(f"queue {report.queue_chain[0]}"
                     + (f" (TEMPLATE chain: {' <- '.join(report.queue_chain)})" if len(report.queue_chain) > 1 else ""))
        lines += _table([(e.name[len("queue."):], fmt_value(e.value), fmt_origin(e.origin, cwd, home))
                         for e in report.queue_fields], "  ")
    if not report.services:
        lines.append("services: none (no cluster selected, or persistence and remote execution are off)")
    else:
        lines.append("services")
    for s in report.services:
        lines.append(f"  {s.role}")
        rows = []
        for field in SERVICE_FIELDS:
            if field == "ssh" and s.ssh is None:
                rows.append(("ssh", "- (runs on this machine)", "(derived)"))
                continue
            value = "any free port" if field == "ports" and not s.ports else fmt_value(s.plain(field))
            rows.append((field, value, fmt_origin(s.origin(field), cwd, home)))
        lines += _table(rows, "    ")
    if report.spawn_workers is not None:
        lines.append(f"spawn workers: {report.spawn_workers or 'one per CPU'}")
    return "\n".join(lines)


def render_diff(d: DiffReport, cwd: str | None, home: str | None) -> str:
    def side(e: Entry | None) -> str:
        if e is None:
            return "(absent)"
        return fmt_value(e.value) if e.origin in (DERIVED, COMMAND_LINE) else \
            f"{fmt_value(e.value)}  [{fmt_origin(e.origin, cwd, home, e.block, e.note)}]"

    def label(stage: str) -> str:
        return "no stage" if stage == "-" else f"stage {stage}"

    lines = [f"--- {label(d.stage_a)}", f"+++ {label(d.stage_b)}"]
    for title, changes in (("selection", d.selection), ("services", d.services)):
        if changes:
            lines.append(title)
            for c in changes:
                lines += [f"  {c.what}", f"    - {side(c.a)}", f"    + {side(c.b)}"]
    if not d.selection and not d.services:
        lines.append("no differences in the selection or the services")
    if d.storage_shared:
        lines.append("storage: shared (the two stages see the same buffers and cached results)")
    else:
        lines.append(f"storage: not shared (results cached in {label(d.stage_a)} are not seen in {label(d.stage_b)}, "
                     "nor the other way round)")
    return "\n".join(lines)


def render_finding(f: Finding, all_stages: Sequence[str | None], cwd: str | None, home: str | None) -> str:
    text = render(f.error, cwd, home)
    if f.warning:
        text = "warning: " + text
    if f.strict:
        text += " [strict]"
    if f.stages and set(f.stages) != set(all_stages):
        text += " [" + ", ".join("no stage" if s is None else f"stage {s}" for s in f.stages) + "]"
    return text


def render_check(report: CheckReport, cwd: str | None, home: str | None) -> list[str]:
    """One line per mistake, then one per warning; empty when there is neither."""
    return [render_finding(f, report.stages, cwd, home) for f in report.mistakes + report.warnings]


def check_summary(report: CheckReport) -> str:
    named = [s for s in report.stages if s is not None]
    files = f"ok: {len(report.files)} file{'s' if len(report.files) != 1 else ''}, no stage"
    if not named:  # (there is nothing else to check)
        return files
    return f"{files} and {len(named)} stage{'s' if len(named) != 1 else ''} ({', '.join(named)})"


def render_explanation(x: Explanation, cwd: str | None, home: str | None) -> str:
    lines = [f"{x.name} = {fmt_value(x.value)}", f"  from {fmt_origin(x.origin, cwd, home, x.block, x.note)}"]
    if x.steps:
        lines.append("  history, oldest first:")
        lines += _table([(fmt_origin(s.origin, cwd, home, s.block), fmt_value(s.value), s.status
                          + (f": {s.detail}" if s.detail else "")) for s in x.steps], "    ")
    for sec in x.sections:
        lines.append(f"  {sec.title}" + (", oldest first:" if len(sec.steps) > 1 else ":"))
        rows: list[tuple[str, ...]] = [(fmt_origin(s.origin, cwd, home, s.block), "" if s.value is None else fmt_value(s.value),
                 s.status + (f": {s.detail}" if s.detail else "")) for s in sec.steps]
        if all(not r[1] for r in rows):
            rows = [(r[0], r[2]) for r in rows]
        lines += _table(rows, "    ")
    return "\n".join(lines)


def render_doctor(checks: Sequence[Check], where: Any = str) -> str:
    """One line per check: mark, host, what, and the fix of a failure or warning; then a summary.
    ``where`` renders an origin (the CLI shortens paths).

    >>> print(render_doctor([Check(OK, "ssh", "fe", "answers"), Check(FAIL, "ports", None, "no port", "widen it")]))
    ✔ fe: ssh: answers
    ✘ this machine: ports: no port (fix: widen it)
    1 of 2 checks failed
    """
    lines = []
    for c in checks:
        at = f"{where(c.origin)}: " if c.origin is not None else ""
        fix = f" (fix: {c.fix})" if c.fix and c.status != OK else ""
        lines.append(f"{MARKS[c.status]} {host_label(c.host)}: {c.kind}: {at}{c.message}{fix}")
    failed = sum(c.status == FAIL for c in checks)
    warned = sum(c.status == WARN for c in checks)
    summary = f"{failed} of {len(checks)} checks failed" if failed else f"all {len(checks)} checks passed"
    if warned:
        summary += f", {warned} warning{'s' if warned > 1 else ''}"
    return "\n".join([*lines, summary])


