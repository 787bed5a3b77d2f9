"""Seeded generator of valid configuration layouts for the differential harness.

``generate(seed)`` returns one layout (the JSON format of ``dump_common.py``);
``generate_many(n, seed0)`` returns ``n`` of them. Only inputs on which 0.3.2
behaves sanely, and on which our deliberate differences do not show, are made:

* every name is ``[a-z][a-z0-9_-]*`` without ``--`` (subprojects may contain ``/``);
* no ``job_script_prologue``, no duplicate keys, walltimes etc. always quoted;
* every ``- cluster:`` names a defined cluster, every ``- queue:`` a queue of the
  cluster selected at that point, every ``default_queue`` an existing queue;
* queues are valid after TEMPLATE expansion (exclusive / cores / job_cores rules);
* inactive stage blocks hold only valid commands, and no command fails at load;
* ``seamless-service-resolve`` is only given ``--stage`` for layouts without stage blocks.

The commands are generated as one sequence in execution order, with the
selection simulated along the way, and then cut into the files of an
``inherit_from_parent`` chain (parent's seamless.yaml, its profile, child's ...).
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

RESERVED = {"yes", "no", "on", "off", "true", "false", "null", "y", "n", "nan", "inf"}
STAGES = ("prod", "dev", "s1", "gpu-run")
SERVICES = ("hashserver", "database", "jobserver", "daskserver")

# ----------------------------------------------------------------------------- YAML text


_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./-]*\Z")


def scalar(v: Any, rng: random.Random | None = None) -> str:
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v)
    plain_ok = bool(_PLAIN.match(s)) and s.lower() not in RESERVED and "--" not in s[:1]
    if plain_ok and (rng is None or rng.random() < 0.7):
        return s
    if rng is not None and "'" not in s and rng.random() < 0.5:
        return "'" + s + "'"
    return json.dumps(s)


def emit(value: Any, indent: int = 0, rng: random.Random | None = None) -> list[str]:
    """Block-style YAML lines for dicts / lists / scalars (no flow style, no anchors)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            key = scalar(k, rng) if not (isinstance(k, str) and k.startswith("stage ")) else k
            if isinstance(v, (dict, list)) and v:
                lines.append(f"{pad}{key}:")
                lines.extend(emit(v, indent + 2, rng))
            elif isinstance(v, (dict, list)):
                raise ValueError("empty collections are not emitted")
            else:
                lines.append(f"{pad}{key}: {scalar(v, rng)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                sub = emit(item, indent + 2, rng)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            elif isinstance(item, list) and item:
                sub = emit(item, indent + 2, rng)
                lines.append(f"{pad}- {sub[0].lstrip()}")
                lines.extend(sub[1:])
            elif isinstance(item, Bare):
                lines.append(f"{pad}- {item.text}")
            else:
                lines.append(f"{pad}- {scalar(item, rng)}")
    else:
        lines.append(pad + scalar(value, rng))
    return lines


class Bare:
    """A bare list item (``- inherit_from_parent``, ``- cluster`` meaning null)."""

    def __init__(self, text: str) -> None:
        self.text = text


def yaml_text(value: Any, rng: random.Random) -> str:
    text = "\n".join(emit(value, 0, rng)) + "\n"
    if rng.random() < 0.2:
        text = "# generated\n" + text
    return text


# ----------------------------------------------------------------------------- names


def name(rng: random.Random, prefix: str = "", length: int | None = None) -> str:
    first = "abcdefghijklmnopqrstuvwxyz"
    rest = "abcdefghijklmnopqrstuvwxyz0123456789_-"
    while True:
        n = length if length is not None else rng.randint(1, 7)
        s = prefix + rng.choice(first) + "".join(rng.choice(rest) for _ in range(n - 1))
        if "--" in s or s.lower() in RESERVED or "STAGE-" in s:
            continue
        return s


def host(rng: random.Random, prefix: str = "") -> str:
    """A hostname label: our implementation validates hostnames / ssh_hostnames (RFC 1123 labels)."""
    s = name(rng, prefix).replace("_", "-").strip("-")
    return s or "h"


def subproject(rng: random.Random) -> str:
    return "/".join(name(rng) for _ in range(rng.choice((1, 1, 2, 3))))


# ----------------------------------------------------------------------------- clusters

OPTIONAL_QUEUE_STR = ("walltime", "memory", "partition", "project", "lifetime", "lifetime_stagger",
                      "unknown_task_duration", "target_duration", "tmpdir", "conda")
OPTIONAL_QUEUE_INT = ("worker_threads", "processes", "maximum_jobs")
HYPHEN = {"unknown_task_duration": "unknown-task-duration", "target_duration": "target-duration"}


def queue_value(rng: random.Random, field: str) -> Any:
    if field == "walltime":
        return rng.choice(("01:00:00", "00:30:00", "12:00:00", "2-00:00:00"))
    if field == "memory":
        return rng.choice(("10GB", "4GB", "500MB", "64GiB"))
    if field in ("lifetime", "lifetime_stagger", "unknown_task_duration", "target_duration"):
        return rng.choice(("1m", "10m", "3m", "40m", "2h"))
    if field == "tmpdir":
        return rng.choice(("/scratch", "/tmp/dask", "/local/scr"))
    if field == "conda":
        return name(rng, "env-")
    if field in OPTIONAL_QUEUE_INT:
        return rng.randint(1, 8)
    if field == "job_extra_directives":
        return [rng.choice(("--qos=normal", "--account=abc", "-C haswell", "--gres=gpu:1"))
                for _ in range(rng.randint(1, 2))]
    if field == "dask_resources":
        return {rng.choice(("GPU", "MEM", "R")): rng.randint(1, 4)}
    if field == "extra_dask_config":
        return {rng.choice(("distributed.worker.memory.target", "x", "scheduler.work-stealing")): rng.choice((0.8, 1, "abc", True))}
    if field == "interactive":
        return rng.choice((True, False))
    return name(rng)


def resolve_queue(own: dict, queues: dict[str, dict]) -> dict:
    base = dict(queues[own["TEMPLATE"]]) if "TEMPLATE" in own else {}
    for k, v in own.items():
        if k != "TEMPLATE":
            base[k] = v
    return {k: v for k, v in base.items() if v is not None}


def queue_ok(q: dict, ctype: str | None) -> bool:
    excl = bool(q.get("exclusive"))
    if excl and q.get("job_cores") is not None:
        return False
    if not excl and q.get("cores") is None and ctype != "local":
        return False
    if ctype == "local" and excl and q.get("cores") is None:
        return False
    return True


def gen_queues(rng: random.Random, ctype: str | None) -> tuple[dict, dict]:
    """(queues as written, resolved queues)"""
    written: dict[str, dict] = {}
    resolved: dict[str, dict] = {}
    for _ in range(rng.choice((1, 1, 2, 2, 3, 4))):
        qn = name(rng, "q")
        if qn in written:
            continue
        own: dict[str, Any] = {}
        if written and rng.random() < 0.4:
            own["TEMPLATE"] = rng.choice(list(written))
        for f in OPTIONAL_QUEUE_STR + OPTIONAL_QUEUE_INT + ("job_extra_directives", "dask_resources", "extra_dask_config", "interactive"):
            if rng.random() < (0.25 if "TEMPLATE" in own else 0.35):
                own[f] = queue_value(rng, f)
        r = rng.random()
        if r < 0.6:
            own["cores"] = rng.randint(1, 16)
        elif r < 0.7 and "TEMPLATE" in own:
            own["cores"] = None  # explicit null: unset the template's cores
        if rng.random() < 0.35:
            own["exclusive"] = rng.choice((True, False))
        if rng.random() < 0.2:
            own["job_cores"] = rng.randint(1, 32)
        if "TEMPLATE" in own:
            # explicit nulls unset template fields
            base = resolved[own["TEMPLATE"]]
            for f in list(base):
                if f not in own and f not in ("cores", "exclusive") and rng.random() < 0.2:
                    own[f] = None
        q = resolve_queue(own, resolved)
        if not queue_ok(q, ctype):
            # repair: the smallest changes that make it valid
            if q.get("exclusive") and q.get("job_cores") is not None:
                own["job_cores"] = None
            q = resolve_queue(own, resolved)
            if not queue_ok(q, ctype):
                own["cores"] = rng.randint(1, 16)
            q = resolve_queue(own, resolved)
        assert queue_ok(q, ctype), (own, q)
        if rng.random() < 0.3:  # hyphenated spellings
            for f, h in HYPHEN.items():
                if f in own:
                    own[h] = own.pop(f)
        written[qn] = own
        resolved[qn] = q
    return written, resolved


def gen_service(rng: random.Random, service: str, tag: str) -> dict:
    d: dict[str, Any] = {}
    if service == "hashserver":
        d["bufferdir"] = rng.choice((f"/data/{tag}/buffers", f"/srv/{tag}/buf/", f"/scratch/{tag}-b"))
    elif service == "database":
        d["database_dir"] = rng.choice((f"/data/{tag}/db", f"/srv/{tag}/database", f"/scratch/{tag}-d/"))
    base = rng.choice((5000, 6000, 7000, 8000, 9000, 60000))
    if service in ("jobserver", "daskserver"):
        if service == "jobserver":
            d["conda"] = name(rng, "env-")
        d["network_interface"] = rng.choice(("0.0.0.0", "10.0.0.1", "localhost", "ib0"))
        d["port_start"] = base
        d["port_end"] = base + rng.choice((10, 100, 999))
    else:
        if rng.random() < 0.4:
            d["conda"] = name(rng, "env-")
        if rng.random() < 0.4:
            d["network_interface"] = rng.choice(("0.0.0.0", "10.0.0.2", "127.0.0.1"))
        if rng.random() < 0.5:
            d["port_start"] = base
            d["port_end"] = base + rng.choice((10, 100))
    return d


def gen_cluster(rng: random.Random, cname: str) -> tuple[dict, dict]:
    """(definition as written, summary {type, queues: resolved, frontends})"""
    ctype = rng.choice(("local", "slurm", "oar", "slurm", "oar", "local", None))
    d: dict[str, Any] = {}
    if ctype is not None:
        d["type"] = ctype
    if rng.random() < 0.4:
        d["tunnel"] = rng.choice((True, False))
    if rng.random() < 0.8:
        d["workers"] = rng.randint(1, 16)
    if rng.random() < 0.25:
        d["memory_per_core_property_name"] = rng.choice(("mem_per_core", "memcore"))
    frontends = []
    hostnames: list[str] = []
    for i in range(rng.choice((1, 1, 1, 2, 3))):
        fe: dict[str, Any] = {}
        hn = rng.choice(("localhost", host(rng, "fe"), host(rng, "node"), f"{host(rng, cname)}-login{i}.example.org"))
        if hostnames and rng.random() < 0.15:
            hn = rng.choice(hostnames)  # duplicate hostname: the first with the service wins
        fe["hostname"] = hn
        hostnames.append(hn)
        if rng.random() < 0.5:
            fe["ssh_hostname"] = rng.choice((host(rng, "ssh-"), f"{hn}-ssh", host(rng) + ".example.org"))
        services = [s for s in SERVICES if rng.random() < 0.7] or [rng.choice(SERVICES)]
        for s in services:
            fe[s] = gen_service(rng, s, cname)
        frontends.append(fe)
    d["frontends"] = frontends
    resolved: dict = {}
    if rng.random() < 0.85:
        written, resolved = gen_queues(rng, ctype)
        d["queues"] = written
        if rng.random() < 0.8:
            d["default_queue"] = rng.choice(list(written))
    return d, {"type": ctype, "queues": resolved, "hostnames": hostnames}


# ----------------------------------------------------------------------------- commands


class Ctx:
    def __init__(self, rng: random.Random, clusters: dict[str, dict]) -> None:
        self.rng = rng
        self.clusters = clusters  # final cluster set (name -> summary)
        self.cur_cluster: str | None = None
        self.project: str | None = None


def simple_command(rng: random.Random) -> dict:
    """A command valid anywhere (used in inactive stage blocks, too)."""
    kind = rng.choice(("project", "subproject", "execution", "persistent", "record", "nparallel", "remote", "node"))
    if kind == "project":
        return {"project": name(rng)}
    if kind == "subproject":
        return {"subproject": subproject(rng)}
    if kind == "execution":
        return {"execution": rng.choice(("process", "spawn", "remote"))}
    if kind in ("persistent", "record"):
        return {kind: rng.choice((True, False))}
    if kind == "nparallel":
        return {"nparallel": rng.randint(1, 64)}
    if kind == "remote":
        return {"remote": rng.choice(("jobserver", "daskserver", None))}
    return {"node": rng.choice((name(rng, "n"), None))}


def command(ctx: Ctx) -> dict | Bare:
    rng = ctx.rng
    r = rng.random()
    if r < 0.22:
        c = rng.choice(sorted(ctx.clusters))
        ctx.cur_cluster = c
        return {"cluster": c}
    if r < 0.24 and ctx.cur_cluster is not None:
        ctx.cur_cluster = None
        return Bare("cluster") if rng.random() < 0.5 else {"cluster": None}
    if r < 0.38 and ctx.cur_cluster is not None and ctx.clusters[ctx.cur_cluster]["queues"]:
        return {"queue": rng.choice(sorted(ctx.clusters[ctx.cur_cluster]["queues"]))}
    if r < 0.5:
        ctx.project = name(rng)
        return {"project": ctx.project}
    return simple_command(rng)


# ----------------------------------------------------------------------------- layouts


DIRS = ("", "l1", "l1/l2", "l1/l2/l3")


def generate(seed: int) -> dict:
    rng = random.Random(seed)
    layout: dict[str, Any] = {"seed": seed, "home_files": {}, "project_files": {}}

    # --- home cluster files -------------------------------------------------------
    names_pool = sorted({name(rng, "c", rng.randint(2, 6)) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))})
    summaries: dict[str, dict] = {}
    main_map: dict[str, Any] = {}
    dir_maps: dict[str, dict] = {}
    for cn in names_pool:
        where = rng.random()
        if where < 0.55:
            main_map[cn] = None
        else:
            fname = rng.choice(("a.yaml", "b.yaml", "site.yaml"))
            dir_maps.setdefault(fname, {})[cn] = None
        if rng.random() < 0.15 and where < 0.55:  # the same cluster again in a directory file (overrides)
            dir_maps.setdefault(rng.choice(("a.yaml", "z.yaml")), {})[cn] = None
    ordered_files = [("clusters.yaml", main_map)] + [(f, dir_maps[f]) for f in sorted(dir_maps, reverse=True)]
    for _fname, mapping in ordered_files:
        for cn in mapping:
            d, summary = gen_cluster(rng, cn)
            mapping[cn] = d
            summaries[cn] = summary  # later files win
    local_cluster = None
    if rng.random() < 0.2:
        _, mapping = rng.choice([fm for fm in ordered_files if fm[1]])
        local_cluster = rng.choice(list(mapping))
        mapping["local_cluster"] = local_cluster
        # a later file must not redefine it differently without it: fine either way
    for fname, mapping in ordered_files:
        if not mapping:
            continue
        rel = ".seamless/clusters.yaml" if fname == "clusters.yaml" else f".seamless/clusters/{fname}"
        layout["home_files"][rel] = yaml_text(mapping, rng)

    # --- SEAMLESS_CACHE mode ------------------------------------------------------
    if rng.random() < 0.06:
        layout["env"] = {"SEAMLESS_CACHE": rng.choice(("$HOME/cache", "relcache", "$PROJ/cache/", "~/c2"))}
        layout["project_files"]["seamless.yaml"] = yaml_text([{"project": name(rng)}], rng)
        layout["calls"] = _calls(rng, {"__SEAMLESS_CACHE__": {"queues": {}, "hostnames": ["localhost"]}}, None)
        layout["resolve"] = [["--service", s, "--workdir", "$WORKDIR"] for s in ("hashserver", "database")]
        return layout

    # --- stage selection ----------------------------------------------------------
    stage = rng.choice((None, None, "prod", "dev", "s1"))
    substage = None
    if stage is not None and rng.random() < 0.4:
        substage = rng.choice(("gpu", "big", "a1"))
    elif stage is None and rng.random() < 0.05:
        substage = "orphan"  # a substage without a stage: not part of any key
    layout["stage"], layout["substage"] = stage, substage

    # --- inline clusters (executed first, wherever they are) -----------------------
    inline: list[dict] = []
    for _ in range(rng.choice((0, 0, 0, 1, 1, 2))):
        cn = rng.choice(names_pool) if rng.random() < 0.3 else name(rng, "i", rng.randint(2, 5))
        if any(cn in m for m in inline):
            continue
        d, summary = gen_cluster(rng, cn)
        mapping = {cn: d}
        inline.append(mapping)
        summaries[cn] = summary
    # local_cluster named inline rarely, naming a cluster of the same mapping
    if inline and rng.random() < 0.15:
        m = rng.choice(inline)
        local_cluster = next(iter(m))
        m["local_cluster"] = local_cluster

    # --- the command sequence, in execution order ---------------------------------
    ctx = Ctx(rng, summaries)
    units: list[Any] = []  # each unit: a command, or ("block", [commands]) for an active stage block
    n = rng.randint(2, 9)
    if rng.random() < 0.9:
        ctx.cur_cluster = rng.choice(sorted(summaries))
        units.append({"cluster": ctx.cur_cluster})
    if rng.random() < 0.9:
        ctx.project = name(rng)
        units.insert(rng.randint(0, len(units)), {"project": ctx.project})
    for _ in range(n):
        if stage is not None and rng.random() < 0.15:
            block = [command(ctx) for _ in range(rng.randint(1, 3))]
            units.append(("block", block))
        else:
            units.append(command(ctx))
    for m in inline:  # position does not matter for execution
        pos = rng.randint(0, len(units))
        if stage is not None and rng.random() < 0.2:
            units.insert(pos, ("block", [{"clusters": m}]))
        else:
            units.insert(pos, {"clusters": m})

    # --- cut into the files of the inheritance chain --------------------------------
    depth = rng.choice((0, 0, 1, 1, 2, 3))
    top = rng.randint(0, depth)  # the top directory that is read (no inherit flag there)
    chain = list(range(top, depth + 1))
    slots = [(DIRS[d], f) for d in chain for f in ("seamless.yaml", "seamless.profile.yaml")]
    cuts = sorted(rng.randint(0, len(units)) for _ in range(len(slots) - 1))
    bounds = [0, *cuts, len(units)]
    files: dict[str, list] = {}
    for i, (d, f) in enumerate(slots):
        chunk = units[bounds[i]:bounds[i + 1]]
        if chunk:
            files[(d + "/" if d else "") + f] = list(chunk)
    # inherit flags in every directory below the top
    for d in chain[1:]:
        prefix = DIRS[d] + "/"
        cands = [p for p in files if p.startswith(prefix) and p.count("/") == prefix.count("/")]
        target = rng.choice(cands) if cands and rng.random() < 0.8 else prefix + rng.choice(("seamless.yaml", "seamless.profile.yaml"))
        lst = files.setdefault(target, [])
        flag: Any = Bare("inherit_from_parent") if rng.random() < 0.8 else {"inherit_from_parent": True}
        lst.insert(rng.randint(0, len(lst)), flag)
    # a decoy in the directory above the top: must not be read
    if top > 0 and rng.random() < 0.7:
        files[(DIRS[top - 1] + "/" if DIRS[top - 1] else "") + "seamless.yaml"] = [{"project": "decoy"}, {"record": True}]
    # inactive stage blocks (valid contents; the reference does not even look at them)
    for _ in range(rng.choice((0, 0, 1, 2))):
        other = rng.choice([s for s in STAGES if s != stage])
        target = rng.choice(sorted(files)) if files else "seamless.yaml"
        lst = files.setdefault(target, [])
        block = [simple_command(rng) for _ in range(rng.randint(1, 3))]
        lst.insert(rng.randint(0, len(lst)), {f"stage {other}": block})
    has_stage_blocks = has_active_blocks = False
    for path, lst in files.items():
        out = []
        for u in lst:
            if isinstance(u, tuple):
                out.append({f"stage {stage}": u[1]})
                has_stage_blocks = has_active_blocks = True
            else:
                if isinstance(u, dict) and any(k.startswith("stage ") for k in u):
                    has_stage_blocks = True
                out.append(u)
        layout["project_files"][path] = yaml_text(out, rng)
    layout["workdir"] = DIRS[depth] or "."

    selected = ctx.cur_cluster
    layout["calls"] = _calls(rng, summaries, selected)
    # our resolve applies `stage X:` blocks for --stage X, 0.3.2 does not: no --stage with stage
    # blocks; and without --stage, active blocks (selected stage) are not applied by either, which
    # may leave a `- cluster:` naming a cluster defined in such a block (an error for us only)
    layout["resolve"] = [] if has_active_blocks else _resolve_args(rng, summaries, selected, has_stage_blocks)
    return layout


def _calls(rng: random.Random, summaries: dict, selected: str | None) -> list[dict]:
    from dump_common import DEFAULT_CALLS  # noqa: PLC0415

    calls = [dict(c) for c in DEFAULT_CALLS]
    if selected is not None and selected in summaries:
        for q in summaries[selected]["queues"]:
            calls.append({"name": f"pure_daskserver[{q}]", "fn": "pure_daskserver", "kwargs": {"queue": q}})
    # calls with explicit arguments
    for i in range(rng.choice((0, 1, 2, 3))):
        fn = rng.choice(("hashserver", "database", "jobserver", "daskserver", "pure_daskserver"))
        kw: dict[str, Any] = {}
        cl = rng.choice(sorted(summaries)) if rng.random() < 0.5 else None
        if cl is not None:
            kw["cluster"] = cl
        target = cl or selected
        if fn != "pure_daskserver":
            if rng.random() < 0.5:
                kw["project"] = name(rng)
            if rng.random() < 0.4:
                kw["subproject"] = subproject(rng)
            if rng.random() < 0.4:
                kw["stage"] = rng.choice(STAGES)
            if fn in ("jobserver", "daskserver") and rng.random() < 0.4:
                kw["substage"] = rng.choice(("x", "gpu"))
        elif target in summaries and summaries[target]["queues"] and rng.random() < 0.7:
            kw["queue"] = rng.choice(sorted(summaries[target]["queues"]))
        if target in summaries and rng.random() < 0.4:
            kw["frontend_name"] = rng.choice(summaries[target]["hostnames"] + ["nosuchhost"])
        args = [rng.choice(("rw", "ro"))] if fn in ("hashserver", "database") else []
        calls.append({"name": f"extra{i}:{fn}", "fn": fn, "args": args, "kwargs": kw})
    return calls


def _resolve_args(rng: random.Random, summaries: dict, selected: str | None, has_stage_blocks: bool) -> list[list[str]]:
    out = []
    for _ in range(rng.choice((0, 1, 1, 2))):
        service = rng.choice(("hashserver", "database", "jobserver", "daskserver", "pure-daskserver"))
        argv = ["--service", service, "--workdir", rng.choice(("$WORKDIR", "."))]
        if rng.random() < 0.3:
            argv += ["--cluster", rng.choice(sorted(summaries))]
        if rng.random() < 0.3:
            argv += ["--project", name(rng)]
        if rng.random() < 0.3:
            argv += ["--subproject", subproject(rng)]
        if not has_stage_blocks and rng.random() < 0.4:
            # separate --substage: 0.3.2 takes `--stage prod:b` as the stage name "prod:b"
            argv += ["--stage", rng.choice(STAGES)]
            if rng.random() < 0.4:
                argv += ["--substage", rng.choice(("gpu", "b"))]
        if service in ("hashserver", "database") and rng.random() < 0.4:
            argv += ["--mode", rng.choice(("ro", "rw"))]
        target = selected
        if "--cluster" in argv:
            target = argv[argv.index("--cluster") + 1]
        if service in ("daskserver", "pure-daskserver") and target in summaries and summaries[target]["queues"] and rng.random() < 0.4:
            argv += ["--queue", rng.choice(sorted(summaries[target]["queues"]))]
        if target in summaries and rng.random() < 0.2:
            argv += ["--frontend-name", rng.choice(summaries[target]["hostnames"])]
        out.append(argv)
    return out


def generate_many(count: int, seed0: int = 0) -> list[dict]:
    return [generate(seed0 + i) for i in range(count)]


if __name__ == "__main__":
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    s0 = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    for lay in generate_many(n, s0):
        print(json.dumps(lay))
