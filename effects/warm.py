"""The warm lane of ``seamless-init`` and ``init()``: nothing changed and everything answers, so
there is nothing to do.

A resolution is a pure function of the configuration files (every candidate
:mod:`effects.inputs` lists, read as bytes), the work directory, the stage and
substage, ``SEAMLESS_CACHE`` and the code that resolves. After a successful
bring-up, what its plan asks of each service (key, health check, parameters)
and the plan's activation are stored under a hash of all of those: by
``seamless-init`` before it reads anything (:func:`memo_key`), and by the
session once the files are read, with the resolved selection in the hash
(``seamless_config.session._memo_key``; ``seamless-init`` keeps its memo under
both). The next run with the same hash takes, for every service, exactly the
launcher's first step (:func:`effects.reuse.probe_target`: client file
present, same parameters, health check answered) without loading the pure
stages or building the plan; if any service fails that step, the full path
runs instead and does whatever is needed. A memo is never stale: any change to
an input is a new hash, and a stopped service fails its step.

The memos live in ``plans/`` beside the parse cache (``SEAMLESS_CONFIG_CACHE=off``
disables both).
"""

from __future__ import annotations

import os
import time

from seamless_config.core.clients import CHECK_TIMEOUT, storage_clients

from . import statefiles
from .digest import hasher, stamp_sources
from .inputs import PROFILE_FILE, PROJECT_FILE, cache_dir, chain_dirs, cluster_paths, home_dir, read

TYPE_CHECKING = False  # (typing is not imported at run time: see statefiles)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from seamless_config.core.plan import ServicePlan

    from .outcomes import Outcome

MEMO_VERSION = b"seamless-config warm lane 5"
#: a memo larger than this is not read (a plan's memo is a few kilobytes)
_MAX_MEMO = 1 << 20
_CODE_DIRS = ("seamless_config", *(os.path.join("seamless_config", d) for d in ("core", "inspect", "cli")), "effects")


def memo_dir(environ: dict[str, str] | None = None) -> str | None:
    d = cache_dir(environ)
    return None if d is None else os.path.join(d, "plans")


def _feed(h: Any, path: str) -> None:
    r = read(path)
    h.update(path.encode("utf-8", "surrogateescape") + b"\0")
    if r is None:
        h.update(b"missing\n")
        return
    data, error = r
    if data is None:
        h.update(b"error\0" + error.encode("utf-8", "replace") + b"\n")
    else:
        h.update(b"%d\0" % len(data) + data + b"\n")


def memo_key(workdir: str, stage: str | None, substage: str | None,
             environ: dict[str, str] | None = None, home: str | None = None, request: object = None) -> str:
    """A hash of everything the resolution of ``workdir`` for this stage reads (``request``: what else
    the result depends on, such as a command's arguments)."""
    env = os.environ if environ is None else environ
    h = hasher(MEMO_VERSION + b"\n")
    stamp_sources(h, _CODE_DIRS)  # edited code, new memos
    # (repr, not json: plain strings, numbers, lists and dicts print the same every time)
    # SEAMLESS_CACHE made absolute, as the session makes it: a relative one names another directory
    # from another current directory
    given = (env.get("SEAMLESS_CACHE") or "").strip()
    cache = os.path.abspath(os.path.expanduser(given)) if given else None
    h.update(repr([os.path.abspath(workdir), stage, substage, cache,
                   home_dir(home), request]).encode() + b"\n")
    for d in chain_dirs(workdir):
        _feed(h, os.path.join(d, PROJECT_FILE))
        _feed(h, os.path.join(d, PROFILE_FILE))
    for p in cluster_paths(home_dir(home)):
        _feed(h, p)
    return h.hexdigest()


def _memo_path(key: str, environ: dict[str, str] | None = None) -> str | None:
    d = memo_dir(environ)
    return None if d is None else os.path.join(d, key[:2], key[2:] + ".json")


def recall(key: str) -> dict[str, Any] | None:
    """The memo stored under ``key`` (see :func:`remember`), or ``None``."""
    path = _memo_path(key)
    if path is None:
        return None
    text = statefiles.read_sealed(path, _MAX_MEMO)
    try:
        memo = None if text is None else statefiles.loads(text)
    except ValueError:
        return None
    return memo if isinstance(memo, dict) else None


def remember(key: str, memo: dict[str, Any]) -> None:
    """Keep ``memo`` under ``key`` (best effort: a cache; a failed write is no error)."""
    path = _memo_path(key)
    if path is None:
        return
    import json  # (a memo is written after a full run, which has imported json anyway)

    try:
        statefiles.write_sealed(path, json.dumps(memo))
    except OSError:
        pass


def memo_services(services: Sequence[ServicePlan], outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """What :mod:`effects.warm` needs to take the first step again for each service, in the
    order :func:`effects.launcher.bring_up` returns them (storage first)."""
    from .outcomes import service_facts  # (after a full bring-up, which loaded it)

    plans = {sp.key: sp for sp in services}
    out = []
    for o in outcomes:
        sp = plans[o.key]
        facts = service_facts(sp, o)
        out.append({
            "role": sp.role, "key": sp.key, "host": o.host, "port_field": sp.check_port_field,
            "check_path": sp.check_path, "parameters": sp.launch.get("file_parameters"),
            "facts": {k: facts[k] for k in ("role", "readonly", "launch_hostname", "workdir", "ssh_host")},
        })
    return out


def store(key: str, services: list[dict[str, Any]], activation: dict[str, Any] | None = None) -> None:
    """Remember what a successful bring-up's plan asked of each service, and its ``activation``
    (:meth:`seamless_config.core.plan.Plan.activation`; best effort: a cache)."""
    remember(key, {"services": services, "activation": activation})


def reuse_all(key: str) -> list[dict[str, Any]] | None:
    """:func:`reuse_memo` of the memo under ``key``."""
    return reuse_memo(recall(key))


def reuse_memo(memo: dict[str, Any] | None, meanwhile: Callable[[list[dict[str, Any]]], object] | None = None
               ) -> list[dict[str, Any]] | None:
    """Each service of ``memo`` as an outcome row (``role``, ``key``, ``host``, ``hostname``, ``port``,
    ``client``, ``seconds``, ``timeline``, and the ``facts`` its storage clients are made of), when
    every one of them is up as its plan wants; else ``None``.

    The client files are read first, in the memo's order (storage, then the job service, whose
    parameters hold the storage clients as they are now); then every service is health-checked
    (:func:`effects.http_probe.all_answer`: every request sent before any answer is read), and
    ``meanwhile`` runs with the rows while they answer."""
    if memo is None or not isinstance(memo.get("services"), list):
        return None
    # (imported here: seamless-service-resolve keeps its memos through this module, and probes nothing)
    from . import http_probe, reuse

    began = time.monotonic()
    rows: list[dict[str, Any]] = []
    targets: list[tuple[str, int, str]] = []
    try:
        for s in memo["services"]:
            wanted = s["parameters"]
            if s["role"] == "jobserver":  # its parameters hold the storage clients, as they are now
                wanted = {**(wanted or {}), **storage_clients(r["facts"] for r in rows)}
            with statefiles.key_lock(s["key"]):
                existing = statefiles.read_client(s["key"])
            target = reuse.probe_target(existing, wanted, s["port_field"], s["check_path"], s["facts"].get("workdir"))
            if target is None or existing is None:
                return None
            targets.append(target)
            port = int(existing["port"])
            rows.append({"role": s["role"], "key": s["key"], "host": s["host"], "hostname": existing["hostname"],
                         "port": port, "client": existing,
                         "facts": {**s["facts"], "hostname": existing["hostname"], "port": port, "client": existing}})
    except (KeyError, TypeError, ValueError, OSError):
        return None
    if not http_probe.all_answer(targets, CHECK_TIMEOUT, None if meanwhile is None else lambda: meanwhile(rows)):
        return None
    t = round(time.monotonic() - began, 3)
    for r in rows:
        r["seconds"], r["timeline"] = t, {"queued": 0.0, "answering": t}
    return rows
