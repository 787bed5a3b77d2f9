"""The hash of the caches' keys (the parse cache, the warm lane's memos): BLAKE2b, 32 bytes.

Taken from the interpreter's ``_blake2`` module when it has one: ``hashlib``
loads OpenSSL first, which costs a short command (a warm ``seamless-init``, a
``seamless-service-resolve``) about 5 ms.
"""

from __future__ import annotations

try:
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - an interpreter built without it
    from hashlib import blake2b


def hasher(data: bytes = b"") -> blake2b:
    """A new hash object, fed ``data``."""
    return blake2b(data, digest_size=32)
