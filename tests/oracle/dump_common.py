"""Shared driver of ``ref_dump.py`` and ``our_dump.py`` (standard library only).

It runs in the reference's venv as well as in ours, so it imports nothing of
either implementation itself: each dumper passes a :class:`Side` that knows how
to reach its implementation's public functions.

Layout (one JSON object; see ``layouts.py``)::

    home_files:    {relpath: text}    written under a fresh $HOME
    project_files: {relpath: text}    written under a fresh project dir
    workdir:       relpath            relative to the project dir (default ".")
    env:           {NAME: value|null} environment at the start (SEAMLESS_CACHE ...)
    ops:           [op, ...]          API calls, in order, after set_workdir($WORKDIR)
    calls:         [{name, fn, args, kwargs, each_queue}]   configure_<fn>(*args, **kwargs) at the end
    resolve:       [[argv...]]        seamless-service-resolve invocations

An op is one of::

    {"op": "select", "fn": "select_<x>", "args": [...], "kwargs": {...}}
    {"op": "load"}                                  config_files.load_config_files()
    {"op": "set_stage", "args": [stage, substage]}  seamless_config.set_stage(...)
    {"op": "set_substage", "args": [substage]}
    {"op": "init"}                                  seamless_config.init()
    {"op": "env", "name": "SEAMLESS_CACHE", "value": text|null}
    {"op": "launch", "calls": [...]}                the calls at this point (default: the layout's)

Layouts without ``ops`` (the older format, with ``stage``, ``substage`` and
``load``) run select_stage / select_substage / load. After every op the
selection getters are dumped; after ``init`` / ``set_stage`` / ``set_substage``
also what the activation would have brought up (each side's dumper replaces
the launching parts by recorders, so nothing is started).

``"$HOME"`` / ``"$PROJ"`` / ``"$WORKDIR"`` in file texts, env values and resolve argv
are replaced by the temporary paths.

Every layout runs in a forked child of the batch process (the implementation is
imported once, in the parent, so each layout starts from a fresh module state);
every resolve invocation runs in a child of its own. Temporary paths are
replaced by ``<T>`` in the output so that both sides' dumps compare equal.

``<dumper> --serve`` reads one layout per line on stdin and answers each with
one line on stdout (used by ``shrink.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
import string
import sys
import tempfile
import traceback
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

DEFAULT_CALLS = [
    {"name": "hashserver_rw", "fn": "hashserver", "args": ["rw"]},
    {"name": "hashserver_ro", "fn": "hashserver", "args": ["ro"]},
    {"name": "database_rw", "fn": "database", "args": ["rw"]},
    {"name": "database_ro", "fn": "database", "args": ["ro"]},
    {"name": "jobserver", "fn": "jobserver"},
    {"name": "daskserver", "fn": "daskserver"},
    {"name": "pure_daskserver", "fn": "pure_daskserver"},
]

SELECTION_GETTERS = ("get_current", "execution", "persistent", "queue", "remote", "record", "node", "nparallel",
                     "selected_cluster", "selected_project", "stage")
GETTER_FUNCTIONS = {"get_current": "get_current"}


def err(e: BaseException) -> dict[str, Any]:
    """An exception as data; ``value_error``: whether callers catching ValueError would catch it."""
    return {"error": {"type": type(e).__name__, "message": str(e)[:2000], "value_error": isinstance(e, ValueError)}}


def to_jsonable(o: Any) -> Any:
    """Plain JSON data; dataclass and namespace objects become dicts of their fields."""
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return {f.name: to_jsonable(getattr(o, f.name)) for f in dataclasses.fields(o)}
    if isinstance(o, SimpleNamespace):
        return {k: to_jsonable(v) for k, v in vars(o).items()}
    if isinstance(o, dict):
        return {str(k): to_jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [to_jsonable(v) for v in o]
    if isinstance(o, (str, int, float, bool)) or o is None:
        return o
    if hasattr(o, "__dict__"):
        return {k: to_jsonable(v) for k, v in vars(o).items() if not k.startswith("_")}
    return repr(o)


def template_fields(template: str) -> list[str | None]:
    """The placeholders of an f-string-like template (``{{``/``}}`` are literal braces)."""
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


@dataclasses.dataclass
class Side:
    """How a dumper reaches one implementation (all attributes are its public modules)."""

    name: str
    sc: Any  # seamless_config
    select: Any
    config_files: Any
    tools: Any
    cluster: Any
    rhl: Any  # remote_http_launcher
    resolve_main: Callable[[], Any]  # the seamless-service-resolve console script
    #: hook(entry, raw_dict, call, context) -> raw_dict; may annotate ``entry``
    postprocess: Callable[[dict, dict, dict, dict], dict] | None = None
    extra_env: dict[str, str] = dataclasses.field(default_factory=dict)
    #: what the launching parts were asked to do (filled by the side's recorders)
    events: list = dataclasses.field(default_factory=list)
    #: activation(side, ok) -> record of the last init/set_stage: {"services", "spawn"} or None
    activation: Callable[[Any, bool], Any] | None = None
    #: also dump whether the selected cluster is defined (only where asking has no side effect)
    probe_cluster: bool = False


def _subst(text: Any, paths: dict[str, str]) -> Any:
    if not isinstance(text, str):
        return text
    for k in ("$WORKDIR", "$HOME", "$PROJ"):
        text = text.replace(k, paths[k])
    return text


def _prepare(layout: dict, tmp: str) -> dict[str, str]:
    home = os.path.join(tmp, "home")
    proj = os.path.join(tmp, "proj")
    workdir = os.path.normpath(os.path.join(proj, layout.get("workdir") or "."))
    paths = {"$HOME": home, "$PROJ": proj, "$WORKDIR": workdir}
    os.makedirs(home)
    os.makedirs(proj)
    for base, files in ((home, layout.get("home_files", {})), (proj, layout.get("project_files", {}))):
        for rel, text in files.items():
            p = os.path.join(base, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(_subst(text, paths))
    os.makedirs(workdir, exist_ok=True)
    return paths


def _enter(layout: dict, paths: dict[str, str], side: Side) -> None:
    os.environ["HOME"] = paths["$HOME"]
    for k in ("SEAMLESS_CACHE", "XDG_CACHE_HOME", "SEAMLESS_REMOTE_CLIENTS"):
        os.environ.pop(k, None)
    os.environ.update(side.extra_env)
    for k, v in (layout.get("env") or {}).items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = _subst(v, paths)
    os.chdir(paths["$WORKDIR"])


def _getters(side: Side) -> dict[str, Any]:
    """The selection getters (errors as data)."""
    sel: dict[str, Any] = {}
    for name in SELECTION_GETTERS:
        fn = getattr(side.select, GETTER_FUNCTIONS.get(name, "get_" + name))
        try:
            v = fn()
            sel[name] = list(v) if isinstance(v, tuple) else v
        except Exception as e:
            sel[name] = err(e)
    if side.probe_cluster:
        c = sel.get("selected_cluster")
        if c is None or isinstance(c, dict):
            sel["cluster_defined"] = None
        else:
            try:
                side.cluster.get_cluster(c)
                sel["cluster_defined"] = True
            except Exception:
                sel["cluster_defined"] = False
    return sel


def _do_calls(side: Side, calls: list[dict], cluster_name: str | None, sel: dict) -> dict[str, Any]:
    """``configure_<fn>`` for every call; ``each_queue`` calls run once per queue of the selected cluster."""
    context = {"selection": sel, "cluster_name": cluster_name}
    expanded: list[dict] = []
    for c in calls:
        if not c.get("each_queue"):
            expanded.append(c)
            continue
        try:
            queues = sorted((side.cluster.get_cluster(cluster_name).queues or {}) if cluster_name else {})
        except Exception:
            queues = []
        for q in queues:
            expanded.append({"name": f"{c['name']}[{q}]", "fn": c["fn"], "kwargs": {**c.get("kwargs", {}), "queue": q}})
    launch: dict[str, Any] = {}
    for c in expanded:
        fn = getattr(side.tools, "configure_" + c["fn"])
        try:
            d = fn(*c.get("args", []), **c.get("kwargs", {}))
        except Exception as e:
            launch[c["name"]] = err(e)
            continue
        entry: dict[str, Any] = {}
        if side.postprocess is not None:
            d = side.postprocess(entry, d, c, context)
        entry["dict"] = to_jsonable(d)
        entry["key_order"] = list(d.keys()) if isinstance(d, dict) else None
        try:
            cfg = side.rhl.Configuration.from_mapping(d)
            entry["evaluated_key"] = cfg.key
            entry["evaluated_command"] = side.rhl._evaluate_template(d["command"], {**cfg.namespace, "status_file": "STATUS"})
        except Exception as e:
            entry["evaluation_error"] = err(e)["error"]
        launch[c["name"]] = entry
    return launch


def legacy_ops(layout: dict) -> list[dict]:
    """The operations of a layout written before ``ops`` existed: stage, substage, load."""
    ops: list[dict] = []
    if layout.get("stage") is not None:
        ops.append({"op": "select", "fn": "select_stage", "args": [layout["stage"]]})
    if layout.get("substage") is not None:
        ops.append({"op": "select", "fn": "select_substage", "args": [layout["substage"]]})
    if layout.get("load", True):
        ops.append({"op": "load"})
    return ops


def op_label(op: dict) -> str:
    return op["fn"] if op["op"] == "select" else op["op"]


def _run_op(op: dict, side: Side, paths: dict[str, str], cluster_calls: list[dict]) -> dict[str, Any]:
    kind = op["op"]
    rec: dict[str, Any] = {"op": op_label(op), "error": None}
    side.events.clear()
    try:
        if kind == "select":
            getattr(side.select, op["fn"])(*op.get("args", []), **op.get("kwargs", {}))
        elif kind == "load":
            side.config_files.load_config_files()
        elif kind == "set_stage":
            side.sc.set_stage(*op.get("args", []))
        elif kind == "set_substage":
            side.sc.set_substage(*op.get("args", []))
        elif kind == "init":
            side.sc.init()
        elif kind == "env":
            if op.get("value") is None:
                os.environ.pop(op["name"], None)
            else:
                os.environ[op["name"]] = _subst(op["value"], paths)
        elif kind == "launch":
            name = None
            try:
                name = side.select.get_selected_cluster()
            except Exception:
                pass
            rec["launch"] = _do_calls(side, op.get("calls") or cluster_calls, name, {})
        else:
            raise ValueError(f"unknown op {kind!r}")
    except Exception as e:
        rec["error"] = err(e)
        if kind in ("set_stage", "set_substage", "init"):
            rec["error_phase"] = "read" if "read_failed" in side.events else "activate"
    if kind in ("set_stage", "set_substage", "init") and side.activation is not None:
        rec["activation"] = side.activation(side, rec["error"] is None)
    side.events.clear()
    rec["selection"] = _getters(side)
    return rec


def dump_layout(layout: dict, paths: dict[str, str], side: Side) -> dict:
    """Run one layout's operations in the (fresh) implementation; dump selection, cluster, launch dicts."""
    _enter(layout, paths, side)
    out: dict[str, Any] = {}
    try:
        side.sc.set_workdir(paths["$WORKDIR"])
        out["set_workdir"] = None
    except Exception as e:
        out["set_workdir"] = err(e)
    ops = layout["ops"] if "ops" in layout else legacy_ops(layout)
    calls = layout.get("calls")
    if calls is None:
        calls = list(DEFAULT_CALLS)
    out["ops"] = [_run_op(op, side, paths, calls) for op in ops]
    sel = _getters(side)
    out["selection"] = sel
    cluster_name = None
    try:
        cluster_name = side.select.get_selected_cluster()
    except Exception:
        pass
    try:
        out["cluster"] = to_jsonable(side.cluster.get_cluster(cluster_name)) if cluster_name else None
    except Exception as e:
        out["cluster"] = err(e)
    out["launch"] = _do_calls(side, calls, cluster_name, sel)
    return out


def resolve_once(layout: dict, paths: dict[str, str], side: Side, argv: list[str]) -> dict:
    """Run the seamless-service-resolve console script in-process (in a fresh child)."""
    _enter(layout, paths, side)
    argv = [_subst(a, paths) for a in argv]
    sys.argv = ["seamless-service-resolve", *argv]
    stdout, stderr = io.StringIO(), io.StringIO()
    rc: Any = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            rc = side.resolve_main()
        except SystemExit as e:
            rc = e.code
        except BaseException:
            traceback.print_exc()
            rc = 1
    rc = 0 if rc is None else rc
    result: dict[str, Any] = {"argv": argv, "rc": rc, "stdout": stdout.getvalue()}
    lines = stderr.getvalue().strip().splitlines()
    result["stderr_last"] = lines[-1] if lines else ""
    try:
        result["json"] = json.loads(stdout.getvalue()) if rc == 0 else None
    except ValueError:
        result["json"] = None
    return result


def _in_child(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` in a forked child; return its JSON-able result (or an error record)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            captured = io.StringIO()
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                res = fn()
            data = json.dumps(res, default=repr).encode()
        except BaseException as e:
            data = json.dumps({"crash": err(e)["error"], "traceback": traceback.format_exc()}).encode()
            code = 1
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    try:
        return json.loads(data)
    except ValueError:
        return {"crash": {"type": "NoOutput", "message": data[:2000].decode(errors="replace")}}


def _normalize(obj: Any, tmp: str) -> Any:
    text = json.dumps(obj)
    real = os.path.realpath(tmp)
    text = text.replace(tmp, "<T>")
    if real != tmp:
        text = text.replace(real, "<T>")
    return json.loads(text)


def run_layout(layout: dict, side: Side) -> dict:
    tmp = tempfile.mkdtemp(prefix="sc-diff-")
    try:
        paths = _prepare(layout, tmp)
        out = {"dump": _in_child(lambda: dump_layout(layout, paths, side))}
        res = []
        for argv in layout.get("resolve") or []:
            res.append(_in_child(lambda argv=argv: resolve_once(layout, paths, side, argv)))
        out["resolve"] = res
        return _normalize(out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(side_factory: Callable[[], Side]) -> None:
    """``<dumper> LAYOUTS.jsonl|layout.json|- [OUT.jsonl]``: one output line per layout; or ``--serve``."""
    src = sys.argv[1] if len(sys.argv) > 1 else "-"
    side = side_factory()
    cwd = os.getcwd()
    env = dict(os.environ)
    if src == "--serve":
        for line in sys.stdin:
            if not line.strip():
                continue
            result = run_layout(json.loads(line), side)
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(env)
            sys.stdout.write(json.dumps(result) + "\n")
            sys.stdout.flush()
        return
    text = sys.stdin.read() if src == "-" else open(src).read()
    text = text.strip()
    if text.startswith("{") and "\n{" not in text:
        layouts = [json.loads(text)]
    else:
        layouts = [json.loads(line) for line in text.splitlines() if line.strip()]
    out = open(sys.argv[2], "w") if len(sys.argv) > 2 else sys.stdout
    for layout in layouts:
        result = run_layout(layout, side)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        out.write(json.dumps(result) + "\n")
        out.flush()
    if out is not sys.stdout:
        out.close()
