"""An immutable, ordered, hashable mapping for the records of the pure stages.

The records (launch dicts, queues, selections, cluster definitions) are frozen
``attrs`` classes; their mappings are :class:`FrozenDict`, whose nested values are
frozen too (dicts become FrozenDicts, lists tuples), so a record can be shared and
hashed and nothing can change it. :func:`thaw` turns a value back into plain
dicts and lists, which happens only at the boundary: a launch dict for the
runtime, a state file, JSON output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any


class FrozenDict(Mapping[str, Any]):
    """A read-only dict: insertion order kept, hashable when its values are.

    >>> d = FrozenDict({"a": [1, {"b": 2}]})
    >>> d["a"], d == {"a": (1, {"b": 2})}, thaw(d)
    ((1, FrozenDict({'b': 2})), True, {'a': [1, {'b': 2}]})
    >>> hash(d) == hash(FrozenDict([("a", (1, FrozenDict(b=2)))]))
    True
    """

    __slots__ = ("_d", "_hash")

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), **kw: Any) -> None:
        if type(items) is FrozenDict and not kw:
            self._d: dict[str, Any] = items._d  # frozen already (and never changed)
        else:
            pairs = items.items() if type(items) is dict or isinstance(items, Mapping) else items
            how = _HOW.get
            # (inline: a value of a type seen to need nothing is taken as it is, without a call)
            self._d = {k: v if how(type(v)) == 0 else freeze(v) for k, v in pairs}
            for k, v in kw.items():
                self._d[k] = freeze(v)
        self._hash: int | None = None

    @classmethod
    def of(cls, value: FrozenDict | Mapping[str, Any] | Iterable[tuple[str, Any]]) -> FrozenDict:
        """``value`` as a FrozenDict (as it is, when it is one already): the attrs converter."""
        return value if isinstance(value, FrozenDict) else cls(value)

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def get(self, key: str, default: Any = None) -> Any:
        return self._d.get(key, default)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(self._d.items()))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenDict({self._d!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (tuple(self._d.items()),))


def frozen_map(value: FrozenDict | Mapping[str, Any] | Iterable[tuple[str, Any]]) -> FrozenDict:
    """``value`` as a FrozenDict (as it is, when it is one already): the attrs converter."""
    return FrozenDict.of(value)


#: how :func:`freeze` treats each type it met: 0 as it is, 1 a mapping, 2 a sequence (records are
#: built by the thousand: the ABC check of ``isinstance(x, Mapping)`` is made once per type)
_HOW: dict[type, int] = {str: 0, int: 0, float: 0, bool: 0, type(None): 0, dict: 1, list: 2, tuple: 2}


def freeze(value: Any) -> Any:
    """``value`` with every dict made a :class:`FrozenDict` and every list a tuple."""
    t = type(value)
    how = _HOW.get(t)
    if how is None:
        how = _HOW[t] = 0 if t is FrozenDict else 1 if isinstance(value, Mapping) else 0
    if how == 0:
        return value
    if how == 1:
        return FrozenDict(value)
    return tuple(freeze(v) for v in value)


def thaw(value: Any) -> Any:
    """``value`` as plain data: every mapping a new ``dict``, every tuple or list a new ``list``."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


EMPTY = FrozenDict()

__all__ = ["FrozenDict", "frozen_map", "freeze", "thaw", "EMPTY"]
