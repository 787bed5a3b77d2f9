"""A content-addressed cache of parsed YAML trees.

Parsing with strictyaml costs about a millisecond per line, so every file is
parsed once and its tree is kept under ``$XDG_CACHE_HOME/seamless-config/trees``
(``~/.cache/...`` by default; ``SEAMLESS_CONFIG_CACHE`` overrides, ``off``
disables). The key is a hash of the parser version and the file's bytes, so an
entry can never be stale; entries are written to a temporary file and renamed,
so two processes writing the same entry at once is harmless.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable

from returns.result import Failure, Result, Success

from seamless_config.core.errors import ConfigError
from seamless_config.core.yamltree import PARSER_VERSION, Node, from_json, to_json


def cache_dir(environ: dict[str, str] | None = None) -> str | None:
    env = os.environ if environ is None else environ
    explicit = env.get("SEAMLESS_CONFIG_CACHE")
    if explicit:
        return None if explicit == "off" else explicit
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "seamless-config", "trees")


class ParseCache:
    """Memoises ``parse(path, text)`` in memory and on disk."""

    def __init__(self, directory: str | None) -> None:
        self.directory = directory
        self._memory: dict[str, Node | None] = {}
        self.hits = 0
        self.misses = 0

    def parse(
        self,
        path: str,
        data: bytes,
        parse: Callable[[str, bytes], Result[Node | None, ConfigError]],
    ) -> Result[Node | None, ConfigError]:
        digest = hashlib.sha256(PARSER_VERSION.encode() + b"\0" + data).hexdigest()
        if digest in self._memory:
            self.hits += 1
            return Success(self._memory[digest])
        entry = self._entry(digest)
        if entry is not None:
            try:
                with open(entry, encoding="utf-8") as f:
                    tree = from_json(json.load(f))
                self._memory[digest] = tree
                self.hits += 1
                return Success(tree)
            except (OSError, ValueError, TypeError, AssertionError):
                pass  # missing or damaged entry: parse again and rewrite it
        self.misses += 1
        result = parse(path, data)
        if isinstance(result, Success):
            tree = result.unwrap()
            self._memory[digest] = tree
            if entry is not None:
                self._store(entry, tree)
        return result if not isinstance(result, Failure) else result

    def _entry(self, digest: str) -> str | None:
        if self.directory is None:
            return None
        return os.path.join(self.directory, digest[:2], digest[2:] + ".json")

    @staticmethod
    def _store(entry: str, tree: Node | None) -> None:
        try:
            os.makedirs(os.path.dirname(entry), exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(entry), prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(to_json(tree), f, separators=(",", ":"))
                os.replace(tmp, entry)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        except OSError:
            pass  # a read-only or full cache directory only costs speed
