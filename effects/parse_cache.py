"""A content-addressed cache of parsed (and validated) YAML trees.

A parse costs PyYAML's import (about 13 ms) and a clean file's composition, a
file that is not clean strictyaml's (about 80 ms, then a millisecond per line),
and validating a cluster file more than the first. So every file is parsed and
validated once, and its tree is kept under ``$XDG_CACHE_HOME/seamless-config/trees``
(``~/.cache/...`` by default; ``SEAMLESS_CONFIG_CACHE`` overrides, ``off``
disables). The key hashes the file's bytes together with the parser version
and the source of the validating code, so an entry can never be stale. An
entry also records that a cluster file validated, so that later runs need not
check it again. Entries are written to a temporary file and renamed: two
processes writing one entry at once is harmless.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import types
from collections.abc import Callable
from typing import Any

from returns.result import Result, Success

from seamless_config.core.errors import ConfigError
from seamless_config.core.layout import Prevalidated
from seamless_config.core.yamltree import PARSER_VERSION, Node, from_json, to_json

from . import statefiles
from .digest import hasher, stamp_sources
from .inputs import cache_dir  # noqa: F401 - where the parse cache lives, re-exported

_VALIDATOR: str | None = None


def validator_version() -> str:
    """The parser version plus a hash of the pure stages' source files (name, size and modification
    time: a stat each, not a read): any change there is a new cache."""
    global _VALIDATOR
    if _VALIDATOR is None:
        h = hasher(PARSER_VERSION.encode())
        stamp_sources(h, (os.path.join("seamless_config", "core"),))
        _VALIDATOR = h.hexdigest()[:16]
    return _VALIDATOR


class ParseCache:
    """Memoises ``parse(path, data)`` in memory and on disk."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self._memory: dict[str, dict[str, Any]] = {}
        self.hits = 0
        self.misses = 0

    def digest(self, data: bytes) -> str:
        return hasher(validator_version().encode() + b"\0" + data).hexdigest()

    def parse(
        self,
        path: str,
        data: bytes,
        parse: Callable[[str, bytes], Result[Node | None, ConfigError]],
        *,
        prevalidated: bool = False,
    ) -> Result[Node | Prevalidated | None, ConfigError]:
        """The tree of ``data``; with ``prevalidated``, a :class:`Prevalidated` when it validated before."""
        digest = self.digest(data)
        entry = self._memory.get(digest) or self._load(digest)
        if entry is not None:
            self.hits += 1
            self._memory[digest] = entry
            if prevalidated and entry.get("valid") and _tree(entry) is not None:  # (None: an empty file)
                return Success(Prevalidated(_LazyTree(entry)))
            if "node" not in entry:
                entry["node"] = from_json(_tree(entry))
            return Success(entry["node"])
        self.misses += 1
        _defer_dateutil_parser()
        result = parse(path, data)
        if isinstance(result, Success):
            tree = result.unwrap()
            entry = {"tree": to_json(tree), "valid": False, "node": tree}
            self._memory[digest] = entry
            self._store(digest, entry)
        return result  # type: ignore[return-value]

    def mark_valid(self, data: bytes) -> None:
        """Record that ``data`` (a cluster file) passed validation."""
        digest = self.digest(data)
        entry = self._memory.get(digest) or self._load(digest)
        if entry is None or entry.get("valid"):
            return
        entry["valid"] = True
        entry["tree"] = _tree(entry)
        self._memory[digest] = entry
        self._store(digest, entry)

    def _entry(self, digest: str) -> str | None:
        if self.directory is None:
            return None
        return os.path.join(self.directory, digest[:2], digest[2:] + ".json")

    def _load(self, digest: str) -> dict[str, Any] | None:
        path = self._entry(digest)
        if path is None:
            return None
        text = statefiles.read_sealed(path, _MAX_ENTRY)
        if text is None:
            return None  # missing, cut short, damaged or edited: parse again and rewrite it
        try:
            entry = json.loads(text)
            if "tree" in entry:
                entry["node"] = from_json(entry["tree"])  # (a shape the tree reader refuses raises here)
            else:
                _check_index(entry)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None  # (sealed, but not as this version writes it)
        return entry  # type: ignore[no-any-return]

    def _store(self, digest: str, entry: dict[str, Any]) -> None:
        path = self._entry(digest)
        if path is None:
            return
        try:
            statefiles.write_sealed(path, json.dumps(_stored_form(entry), separators=(",", ":")))
        except OSError:
            pass  # a read-only or full cache directory only costs speed


#: an entry larger than this is not read (the largest cluster file allowed gives well under it)
_MAX_ENTRY = 16 << 20


def _check_index(entry: dict[str, Any]) -> None:
    """Raise unless ``entry`` is a validated file's index as :func:`_stored_form` writes it."""
    if not (entry["valid"] is True and type(entry["line"]) is int and type(entry["index"]) is list):
        raise TypeError("not an index")
    for kline, key, value in entry["index"]:
        if not (type(kline) is int and type(key) is str and type(value) is str):
            raise TypeError("not an index")


class _DeferredModule(types.ModuleType):
    """Stands in for a module until one of its attributes is used; then loads the real one."""

    def __getattr__(self, name: str) -> Any:
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def _defer_dateutil_parser() -> None:
    """strictyaml imports ``dateutil.parser`` (with its time-zone machinery, ~35 ms) for its
    Datetime validator, which this project never uses: until something asks for it, a
    stand-in takes its place. Nothing changes for code that does use it later."""
    if "strictyaml" in sys.modules or "dateutil.parser" in sys.modules:
        return
    try:
        import dateutil
    except ImportError:
        return
    stub = _DeferredModule("dateutil.parser")
    sys.modules["dateutil.parser"] = stub
    dateutil.parser = stub  # type: ignore[attr-defined]


def _stored_form(entry: dict[str, Any]) -> dict[str, Any]:
    """What goes to disk. A validated cluster file is stored as an index of its
    top-level keys, each definition as a JSON string decoded only when used:
    a run needs the names of all clusters but the definition of one or two."""
    tree = _tree(entry)
    if entry.get("valid") and isinstance(tree, list) and len(tree) == 3 and tree[1] == "m":
        index = [[kline, key, json.dumps(value, separators=(",", ":"))] for kline, key, value in tree[2]]
        return {"valid": True, "line": tree[0], "index": index}
    return {"tree": tree, "valid": bool(entry.get("valid"))}


def _tree(entry: dict[str, Any]) -> Any:
    if "tree" in entry:
        return entry["tree"]
    return [entry["line"], "m", [[kline, key, json.loads(value)] for kline, key, value in entry["index"]]]


class _LazyTree:
    """The JSON form of a validated cluster file whose definitions decode on demand.

    Quacks like the ``[line, "m", items]`` list that ``prevalidated_clusters`` reads.
    """

    def __init__(self, entry: dict[str, Any]) -> None:
        self._entry = entry

    def __iter__(self):  # type: ignore[no-untyped-def]
        e = self._entry
        if "index" in e:
            items = [[kline, key, _Deferred(value)] for kline, key, value in e["index"]]
            return iter((e["line"], "m", items))
        return iter(e["tree"])


class _Deferred:
    """One definition's JSON text, decoded when first indexed."""

    __slots__ = ("_text", "_value")

    def __init__(self, text: str) -> None:
        self._text = text
        self._value: Any = None

    def _get(self) -> Any:
        if self._value is None:
            self._value = json.loads(self._text)
        return self._value

    def __getitem__(self, i: int) -> Any:
        return self._get()[i]

    def __len__(self) -> int:
        return len(self._get())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._get())
