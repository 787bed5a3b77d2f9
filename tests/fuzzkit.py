"""Shared by the hostile-input tests: run the whole pure pipeline on a set of files.

:func:`pure_outcome` feeds project and cluster files (as bytes) through every
pure stage that a CLI would use (resolution, the layout that ``seamless-config
show/check`` use, the plan of every stage named, the reports and their
rendering) and returns the mistakes found. Any exception escaping a stage is a
bug: only :class:`ConfigError` values may come out.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from returns.result import Failure

from seamless_config.cli import render as renderers
from seamless_config.core.errors import ConfigError, ConfigErrors, render
from seamless_config.core.layout import gather, parse_bytes, resolve_stage, stages_named
from seamless_config.core.plan import build_plan
from seamless_config.core.resolve import resolve
from seamless_config.core.selection import Selection
from seamless_config.core.sources import DirFiles, Snapshot, SourceBytes
from seamless_config.inspect import report

WORKDIR = "/fz/proj"
HOME = "/fz/home"


def snapshot(project: bytes | None = None, profile: bytes | None = None,
             clusters: Iterable[tuple[str, bytes]] = ()) -> Snapshot:
    pf = SourceBytes(f"{WORKDIR}/seamless.yaml", project) if project is not None else None
    pr = SourceBytes(f"{WORKDIR}/seamless.profile.yaml", profile) if profile is not None else None
    cl = tuple(SourceBytes(f"{HOME}/.seamless/{name}", data) for name, data in clusters)
    return Snapshot(WORKDIR, (DirFiles(WORKDIR, pf, pr), DirFiles("/fz", None, None), DirFiles("/", None, None)), cl)


def bad_message(text: str) -> str | None:
    """Why a rendered mistake is not one clean line (``None`` when it is)."""
    if not text:
        return "empty message"
    if "Traceback" in text:
        return "a traceback"
    if text != text.strip("\n") or "\n" in text or "\r" in text:
        return "several lines"
    if len(text.splitlines()) != 1:
        return "a line break of another kind"
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            return f"control character U+{ord(ch):04X}"
    return None


def check_errors(errors: ConfigError | ConfigErrors | Iterable[ConfigError]) -> list[str]:
    """Every mistake rendered; asserts each is one clean line."""
    if isinstance(errors, ConfigError):
        errors = (errors,)
    elif isinstance(errors, ConfigErrors):
        errors = errors.errors
    out = []
    for e in errors:
        assert isinstance(e, ConfigError), f"not a ConfigError: {e!r}"
        text = render(e, WORKDIR, HOME)
        why = bad_message(text)
        assert why is None, f"message with {why}: {text!r}"
        out.append(text)
    return out


_PARSED: dict[tuple[str, bytes], object] = {}


def parse(path: str, data: bytes):  # noqa: ANN201 - the Parser signature
    """``parse_bytes`` remembered (as the parse cache would), so that a file is parsed once per run."""
    key = (path, data)
    if key not in _PARSED:
        if len(_PARSED) > 512:
            _PARSED.clear()
        _PARSED[key] = parse_bytes(path, data)
    return _PARSED[key]


def pure_outcome(snap: Snapshot) -> list[str]:
    """Run every pure stage on ``snap``; the rendered mistakes (empty when all is well)."""
    messages: list[str] = []
    r = resolve(snap, Selection(), parse)
    if isinstance(r, Failure):
        messages += check_errors(r.failure())
    else:
        plan = build_plan(r.unwrap())
        if isinstance(plan, Failure):
            messages += check_errors(plan.failure())
    layout = gather(snap, parse)
    messages += check_errors(layout.errors)
    if not layout.errors:
        for stage in (None, *stages_named(layout.documents))[:4]:
            sr = resolve_stage(layout, stage)
            check_errors(sr.errors)
            if sr.resolution is not None and sr.plan is not None:
                rep = report.show_report(layout, sr)
                renderers.render_show(rep, WORKDIR, HOME)
                report.show_json(rep)
        rep = report.check_layout(layout, strict=True)
        for line in renderers.render_check(rep, WORKDIR, HOME):
            why = bad_message(line)
            assert why is None, f"check line with {why}: {line!r}"
    return messages
