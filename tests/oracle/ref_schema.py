#!/usr/bin/env python
"""Introspect the REFERENCE (seamless-config 0.3.2): the input space of the differential generator.

Run with the oracle venv's python; prints one JSON object::

    $SEAMLESS_ORACLE_PYTHON tests/oracle/ref_schema.py

``layouts.py`` generates its layouts from this, so that the fields, types,
optionality, defaults and value domains come from the reference itself, not
from our schema. Nothing is copied into our repository: the schema is derived
again on every run (``layouts.load_schema``).

What it reports:

* ``classes``: every dataclass of ``seamless_config.cluster`` (where it is defined:
  file and line) with its fields: name, type (a small descriptor, see ``describe``),
  ``required`` (no default), ``default``;
* ``structure``: how the YAML maps onto the classes (which class a field's value is,
  which class a mapping of named entries is read with: ``ClusterQueueWithTemplate``
  for ``queues``, since ``from_dict`` reads the written queue with it);
* ``probes``: behaviour found by calling the reference's constructors with one field
  left out, per cluster type (a required field the reference fills in itself, such as
  ``ClusterFrontend.hostname`` for ``type: local``, shows up here);
* ``commands``: the command names of ``config_files.COMMAND_SPECS`` (with the
  priority flag), the inherit command, the stage-block prefix, the file names;
* ``select``: value domains (``EXECUTION_MODES``, ``REMOTE_TARGETS``, ...), and the
  signatures of the ``select_*`` / ``get_*`` functions;
* ``tools``: the ``configure_*`` signatures and the tools of ``tools.yaml``.

Imports nothing at module level but the standard library (pytest's doctest
collection imports this file in our venv).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import sys
import typing
from typing import Any


def describe(tp: Any) -> dict:
    """A JSON descriptor of a (resolved) type annotation.

    ``{"kind": "str"|"int"|"bool"|"float"|"any"|"list"|"dict"|"literal"|"class",
    "optional": bool, ...}`` with ``item`` (list), ``key``/``value`` (dict),
    ``values`` (literal) and ``name`` (class).
    """
    optional = False
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or (origin is not None and getattr(origin, "__name__", "") == "UnionType") \
            or type(tp).__name__ == "UnionType":
        rest = [a for a in args if a is not type(None)]
        optional = len(rest) != len(args)
        if len(rest) == 1:
            d = describe(rest[0])
            d["optional"] = d["optional"] or optional
            return d
        return {"kind": "union", "options": [describe(a) for a in rest], "optional": optional}
    if origin is typing.Literal:
        return {"kind": "literal", "values": list(args), "optional": None in args}
    if origin in (list, typing.List):  # noqa: UP006
        return {"kind": "list", "item": describe(args[0]) if args else {"kind": "any", "optional": False},
                "optional": False}
    if origin in (dict, typing.Dict):  # noqa: UP006
        return {"kind": "dict",
                "key": describe(args[0]) if args else {"kind": "any", "optional": False},
                "value": describe(args[1]) if len(args) > 1 else {"kind": "any", "optional": False},
                "optional": False}
    if tp is str:
        return {"kind": "str", "optional": False}
    if tp is bool:
        return {"kind": "bool", "optional": False}
    if tp is int:
        return {"kind": "int", "optional": False}
    if tp is float:
        return {"kind": "float", "optional": False}
    if tp is dict:
        return {"kind": "dict", "key": {"kind": "any", "optional": False},
                "value": {"kind": "any", "optional": False}, "optional": False}
    if tp is list:
        return {"kind": "list", "item": {"kind": "any", "optional": False}, "optional": False}
    if dataclasses.is_dataclass(tp):
        return {"kind": "class", "name": tp.__name__, "optional": False}
    return {"kind": "any", "repr": repr(tp), "optional": False}


def _jsonable(v: Any) -> Any:
    try:
        json.dumps(v)
        return v
    except TypeError:
        return repr(v)


def classes_of(module: Any) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name, obj in vars(module).items():
        if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj) and obj.__module__ == module.__name__):
            continue
        hints = typing.get_type_hints(obj, vars(module))
        try:
            line = inspect.getsourcelines(obj)[1]
        except (OSError, TypeError):
            line = None
        fields = []
        for f in dataclasses.fields(obj):
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            default = None if required else (f.default if f.default is not dataclasses.MISSING else f.default_factory())
            fields.append({"name": f.name, "type": describe(hints.get(f.name, Any)),
                           "type_text": str(f.type), "required": required, "default": _jsonable(default)})
        out[name] = {"file": inspect.getsourcefile(obj), "line": line, "fields": fields,
                     "has_from_dict": hasattr(obj, "from_dict"),
                     "post_init": hasattr(obj, "__post_init__")}
    return out


def _minimal(classes: dict[str, dict], cname: str) -> dict[str, Any]:
    """The smallest mapping with every required field of ``cname`` (plausible values)."""
    sample = {"str": "/x", "int": 1, "bool": False, "float": 1.0}
    out: dict[str, Any] = {}
    for f in classes[cname]["fields"]:
        if not f["required"] or f["name"] == "name":
            continue
        t = f["type"]
        if t["kind"] in sample:
            out[f["name"]] = sample[t["kind"]]
        elif t["kind"] == "list" and t["item"]["kind"] == "class":
            out[f["name"]] = [_minimal(classes, t["item"]["name"])]
        elif t["kind"] == "literal":
            out[f["name"]] = t["values"][0]
        else:
            out[f["name"]] = None
    return out


def probe(cluster_mod: Any, classes: dict[str, dict]) -> dict:
    """Leave each required field of a frontend / service out, per cluster type: accepted, and as what?"""
    results: dict[str, dict] = {}
    types = [None]
    for f in classes["Cluster"]["fields"]:
        if f["name"] == "type":
            types = [None, *[v for v in f["type"].get("values", []) if v is not None]]
    fe_fields = {f["name"]: f for f in classes["ClusterFrontend"]["fields"]}
    services = [n for n, f in fe_fields.items() if f["type"]["kind"] == "class"]
    for ctype in types:
        base_fe: dict[str, Any] = _minimal(classes, "ClusterFrontend")
        # frontend: each required field left out
        for fname, f in fe_fields.items():
            if not f["required"]:
                continue
            fe = {k: v for k, v in base_fe.items() if k != fname}
            dic: dict[str, Any] = {"frontends": [fe]}
            if ctype is not None:
                dic["type"] = ctype
            key = f"ClusterFrontend.{fname}"
            try:
                c = cluster_mod.Cluster.from_dict("probe", dic)
                results.setdefault(key, {})[str(ctype)] = {"accepted": True, "value": _jsonable(getattr(c.frontends[0], fname))}
            except Exception as e:  # noqa: BLE001 - the probe records every refusal
                results.setdefault(key, {})[str(ctype)] = {"accepted": False, "error": type(e).__name__}
        # services: each required field left out
        for sname in services:
            scls = fe_fields[sname]["type"]["name"]
            full = _minimal(classes, scls)
            for f in classes[scls]["fields"]:
                if not f["required"]:
                    continue
                svc = {k: v for k, v in full.items() if k != f["name"]}
                dic = {"frontends": [{**base_fe, sname: svc}]}
                if ctype is not None:
                    dic["type"] = ctype
                key = f"{scls}.{f['name']}"
                try:
                    c = cluster_mod.Cluster.from_dict("probe", dic)
                    results.setdefault(key, {})[str(ctype)] = {
                        "accepted": True, "value": _jsonable(getattr(getattr(c.frontends[0], sname), f["name"]))}
                except Exception as e:  # noqa: BLE001
                    results.setdefault(key, {})[str(ctype)] = {"accepted": False, "error": type(e).__name__}
    return results


def signatures(module: Any, prefixes: tuple[str, ...]) -> dict[str, dict]:
    out = {}
    for name, fn in sorted(vars(module).items()):
        if not (callable(fn) and name.startswith(prefixes) and inspect.isfunction(fn)):
            continue
        params = []
        for p in inspect.signature(fn).parameters.values():
            params.append({"name": p.name, "kind": p.kind.name,
                           "default": None if p.default is inspect.Parameter.empty else _jsonable(p.default),
                           "required": p.default is inspect.Parameter.empty})
        out[name] = {"params": params}
    return out


def main() -> None:
    import importlib.metadata

    import yaml

    import seamless_config
    import seamless_config.cluster as cluster
    import seamless_config.config_files as config_files
    import seamless_config.select as select
    import seamless_config.tools as tools

    classes = classes_of(cluster)
    # how the YAML maps onto the classes: a ``dict[str, X]`` of named entries is written as
    # ``XWithTemplate`` when the reference has such a class (from_dict reads queues with it)
    structure: dict[str, dict] = {}
    for cname, c in classes.items():
        for f in c["fields"]:
            t = f["type"]
            if t["kind"] == "list" and t["item"]["kind"] == "class":
                structure[f"{cname}.{f['name']}"] = {"list_of": t["item"]["name"]}
            elif t["kind"] == "class":
                structure[f"{cname}.{f['name']}"] = {"class": t["name"]}
            elif t["kind"] == "dict" and t["value"]["kind"] == "class":
                written = t["value"]["name"] + "WithTemplate"
                structure[f"{cname}.{f['name']}"] = {
                    "named_mapping_of": t["value"]["name"],
                    "written_as": written if written in classes else t["value"]["name"]}
    with open(os.path.join(os.path.dirname(tools.__file__), "tools.yaml")) as fh:
        tools_yaml = yaml.safe_load(fh)
    schema = {
        "version": importlib.metadata.version("seamless-config"),
        "package_dir": os.path.dirname(seamless_config.__file__),
        "classes": classes,
        "structure": structure,
        "top_class": "Cluster",
        "probes": probe(cluster, classes),
        "commands": {
            "specs": {n: {"priority": bool(s.priority)} for n, s in config_files.COMMAND_SPECS.items()},
            "inherit": config_files.INHERIT_COMMAND,
            "stage_prefix": "stage",
            "config_filenames": list(config_files.CONFIG_FILENAMES),
            "seamless_cache_cluster": config_files.SEAMLESS_CACHE_CLUSTER,
        },
        "select": {
            "execution_modes": list(select.EXECUTION_MODES),
            "remote_targets": list(select.REMOTE_TARGETS),
            "project_toplevel": select.PROJECT_TOPLEVEL,
            "functions": signatures(select, ("select_", "get_")),
        },
        "api": signatures(seamless_config, ("init", "set_", "get_", "change_")),
        "tools": {
            "functions": signatures(tools, ("configure_",)),
            "yaml": {n: {"ADDED": t.get("ADDED", []), "INJECTED": t.get("INJECTED", [])} for n, t in tools_yaml.items()},
        },
    }
    json.dump(schema, sys.stdout, indent=1, default=repr)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
