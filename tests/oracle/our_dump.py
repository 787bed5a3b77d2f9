#!/usr/bin/env python
"""Dump OUR implementation (seamless-config 0.4.0) for layouts, in ``ref_dump.py``'s format.

    /work/main/.venv/bin/python tests/oracle/our_dump.py layouts.jsonl [out.jsonl]

Uses only the runtime-compatible modules (``seamless_config.select``,
``.config_files``, ``.tools``, ``.cluster``, ``seamless_config.set_workdir``)
and the ``seamless-service-resolve`` entry point.

On top of the reference's format, every launch entry records
``template_problems`` (our raw ``key`` must contain no brace and our raw
``command`` no placeholder except ``{status_file}``) and ``meta_problems`` (the
``meta`` block must equal {service, cluster, mode, project, subproject, stage,
substage, queue} of the call). ``meta`` itself is removed from ``dict`` and
``key_order``, since the reference has no such key.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dump_common  # noqa: E402

SERVICE = {
    "hashserver": "hashserver",
    "database": "database",
    "jobserver": "jobserver",
    "daskserver": "daskserver",
    "pure_daskserver": "pure-daskserver",
}
META_KEYS = ("service", "cluster", "mode", "project", "subproject", "stage", "substage", "queue")


def expected_meta(select, cluster_mod, call: dict) -> tuple[dict, set]:
    """The ``meta`` block a call must carry, and the fields for which None is also accepted."""
    fn = call["fn"]
    kw = dict(call.get("kwargs", {}))
    lenient: set = set()
    meta = dict.fromkeys(META_KEYS)
    meta["service"] = SERVICE[fn]
    meta["mode"] = call["args"][0] if fn in ("hashserver", "database") else "rw"
    if fn == "pure_daskserver":
        meta["cluster"] = kw.get("cluster") or select.get_selected_cluster()
    else:
        c, p, sp, st, sst = select.get_current(
            kw.get("cluster"), kw.get("project"), kw.get("subproject"), kw.get("stage"), kw.get("substage")
        )
        # an empty subproject, stage or substage is none (0.3.2's launch dicts treat it so)
        meta.update(cluster=c, project=p, subproject=sp or None, stage=st or None)
        if fn in ("jobserver", "daskserver"):
            meta["substage"] = sst or None
            if st is None:  # a substage without a stage is not part of the key
                lenient.add("substage")
    if fn in ("daskserver", "pure_daskserver"):
        q = kw.get("queue") if fn == "pure_daskserver" else None
        if q is None:
            q = select.get_queue(meta["cluster"])
        if q is None:
            q = cluster_mod.get_cluster(meta["cluster"]).default_queue
        meta["queue"] = q
    return meta, lenient


def make_postprocess(select, cluster_mod):
    def postprocess(entry: dict, d: dict, call: dict, context: dict) -> dict:
        problems = []
        key, command = d.get("key"), d.get("command")
        if not isinstance(key, str) or "{" in key or "}" in key:
            problems.append(f"raw key contains template code: {key!r}")
        try:
            fields = dump_common.template_fields(command)
            if any(f != "status_file" for f in fields):
                problems.append(f"raw command has placeholders other than {{status_file}}: {fields}")
        except Exception as e:  # unbalanced braces
            problems.append(f"raw command is not a valid template: {e}")
        entry["template_problems"] = problems
        d = dict(d)
        meta = d.pop("meta", None)
        mp = []
        try:
            exp, lenient = expected_meta(select, cluster_mod, call)
            if not isinstance(meta, dict):
                mp.append(f"no meta block: {meta!r}")
            else:
                if list(meta) != list(META_KEYS):
                    mp.append(f"meta keys {list(meta)} != {list(META_KEYS)}")
                for k in META_KEYS:
                    got = meta.get(k)
                    if got != exp[k] and not (k in lenient and got is None):
                        mp.append(f"meta[{k!r}] = {got!r}, expected {exp[k]!r}")
        except Exception as e:
            mp.append(f"could not compute expected meta: {type(e).__name__}: {e}")
        entry["meta_problems"] = mp
        return d

    return postprocess


def _preimport() -> None:
    """Import, once in the parent, what every layout's child would import again (speed only:
    an imported module is in its initial state, as in a fresh process)."""
    import importlib
    import pkgutil

    import seamless_config.core

    names = ["yaml", "strictyaml", "seamless_config.session", "seamless_config.cli.resolve", "effects.parse_cache",
             "effects.snapshot", "dateutil.parser"]
    names += [f"seamless_config.core.{m.name}" for m in pkgutil.iter_modules(seamless_config.core.__path__)]
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def install_recorders(side: dump_common.Side) -> None:
    """Replace the launching and runtime-connecting parts (effects layer) by recorders.

    ``effects.launcher.bring_up`` starts the plan's services: it returns no outcome
    here; ``effects.runtime.activate(activation, outcomes, clients)`` connects the
    runtime: it records the plan's services and spawn count in ``side.events``.
    """
    from effects import launcher, runtime

    def bring_up(services, *args, **kwargs):
        return []

    def activate(activation, outcomes, clients):
        side.events.append({"services": sorted(set(activation["roles"])), "spawn": activation["spawn_workers"] or None})

    launcher.bring_up = bring_up
    runtime.activate = activate
    runtime.deactivate = lambda *a, **k: None

    # which phase of init/set_stage refused: reading the files, or activating
    from seamless_config.session import Session

    original_load = Session.load

    def load(self, *args, **kwargs):
        try:
            return original_load(self, *args, **kwargs)
        except BaseException:
            side.events.append("read_failed")
            raise

    Session.load = load


def activation(side: dump_common.Side, ok: bool):
    """What the last init/set_stage activated (nothing recorded: an idle plan)."""
    recs = [e for e in side.events if isinstance(e, dict)]
    if recs:
        return recs[-1]
    return {"services": [], "spawn": None} if ok else None


def side() -> dump_common.Side:
    import remote_http_launcher as rhl

    import seamless_config as sc
    import seamless_config.cluster as cluster
    from seamless_config import config_files, select, tools

    # (installed as a plain script that calls this function: pyproject.toml, script-files)
    from seamless_config.cli.resolve import main as resolve_main
    _preimport()
    s = dump_common.Side(
        name="ours",
        sc=sc,
        select=select,
        config_files=config_files,
        tools=tools,
        cluster=cluster,
        rhl=rhl,
        resolve_main=resolve_main,
        postprocess=make_postprocess(select, cluster),
        extra_env={"SEAMLESS_CONFIG_CACHE": "off"},
        activation=activation,
    )
    install_recorders(s)
    return s


if __name__ == "__main__":
    dump_common.main(side)
