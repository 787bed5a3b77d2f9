"""``seamless-init``'s warm lane: nothing changed and everything answers, so there is nothing to do.

A resolution is a pure function of the configuration files (every candidate
:mod:`effects.inputs` lists, read as bytes), the work directory, the stage and
substage, ``SEAMLESS_CACHE`` and the code that resolves. After a successful
bring-up, ``seamless-init`` stores what its plan asks of each service (key,
health check, parameters) under a hash of all of those. The next
``seamless-init`` with the same hash takes, for every service, exactly the
launcher's first step (:func:`effects.reuse.answering_client`: client file
present, same parameters, health check answered) without loading the pure
stages; if any service fails that step, the full path runs instead and does
whatever is needed. A memo is never stale: any change to an input is a new
hash, and a stopped service fails its step.

The memos live in ``plans/`` beside the parse cache (``SEAMLESS_CONFIG_CACHE=off``
disables both).
"""

from __future__ import annotations

import os
import time

from seamless_config.core.clients import storage_clients

from . import reuse, statefiles
from .digest import hasher, stamp_sources
from .inputs import PROFILE_FILE, PROJECT_FILE, cache_dir, chain_dirs, cluster_paths, home_dir, read

TYPE_CHECKING = False  # (typing is not imported at run time: see statefiles)
if TYPE_CHECKING:
    from typing import Any

MEMO_VERSION = b"seamless-config warm lane 4"
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
    h.update(repr([os.path.abspath(workdir), stage, substage, env.get("SEAMLESS_CACHE") or None,
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


def store(key: str, services: list[dict[str, Any]]) -> None:
    """Remember what a successful bring-up's plan asked of each service (best effort: a cache)."""
    remember(key, {"services": services})


def reuse_all(key: str) -> list[dict[str, Any]] | None:
    """Each service of the memo under ``key`` as an outcome row (``role``, ``key``, ``hostname``,
    ``port``, ``seconds``), when every one of them is up as its plan wants; else ``None``."""
    memo = recall(key)
    if memo is None or not isinstance(memo.get("services"), list):
        return None
    began = time.monotonic()
    rows: list[dict[str, Any]] = []
    facts: list[dict[str, Any]] = []
    try:
        for s in memo["services"]:
            t0 = time.monotonic()
            wanted = s["parameters"]
            if s["role"] == "jobserver":  # its parameters hold the storage clients, as they are now
                wanted = {**(wanted or {}), **storage_clients(facts)}
            with statefiles.key_lock(s["key"]):
                existing = statefiles.read_client(s["key"])
                ok = reuse.answering_client(existing, wanted, s["port_field"], s["check_path"],
                                            s["facts"].get("workdir"))
            if not ok or existing is None:
                return None
            now = time.monotonic()
            rows.append({"role": s["role"], "key": s["key"], "host": s["host"], "hostname": existing["hostname"],
                         "port": int(existing["port"]), "seconds": now - t0,
                         "timeline": {"queued": round(t0 - began, 3), "answering": round(now - began, 3)}})
            facts.append({**s["facts"], "hostname": existing["hostname"], "port": int(existing["port"]),
                          "client": existing})
    except (KeyError, TypeError, ValueError, OSError):
        return None
    return rows
