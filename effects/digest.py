"""The hash of the caches' keys (the parse cache, the warm lane's memos): BLAKE2b, 32 bytes.

Taken from the interpreter's ``_blake2`` module when it has one: ``hashlib``
loads OpenSSL first, which costs a short command (a warm ``seamless-init``, a
``seamless-service-resolve``) about 5 ms.
"""

from __future__ import annotations

import os

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b


def hasher(data: bytes = b"") -> blake2b:
    """A new hash object, fed ``data``."""
    return blake2b(data, digest_size=32)


#: this project's root (the directory holding ``seamless_config`` and ``effects``)
ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))


def stamp_sources(h: blake2b, subdirs: tuple[str, ...]) -> None:
    """Feed ``h`` the name, size and modification time of every module in ``subdirs`` (of
    :data:`ROOT`): a stat each, not a read, so that edited code makes new cache keys."""
    for sub in subdirs:
        try:
            entries = sorted((e.name, e.stat()) for e in os.scandir(os.path.join(ROOT, sub)) if e.name.endswith(".py"))
        except OSError:
            continue
        for name, st in entries:
            h.update(f"{sub}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
