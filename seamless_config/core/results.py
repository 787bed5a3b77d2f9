"""How the stages combine ``returns.Result`` values: one helper per way.

- :func:`sequence`: every value, or the first failure (a plan needs each of its services);
- :func:`gather`: every value that succeeded, by name, and every mistake of the others
  (a file reports all its mistakes at once);
- :func:`split`: one result as ``(value, mistakes)``, where a loop goes on after a mistake.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from returns.result import Failure, Result, Success

T = TypeVar("T")
E = TypeVar("E")


def sequence(results: Iterable[Result[T, E]]) -> Result[tuple[T, ...], E]:
    """Every value, in order, or the first failure.

    >>> sequence([Success(1), Success(2)]), sequence([Success(1), Failure("x"), Failure("y")])
    (<Success: (1, 2)>, <Failure: x>)
    """
    values: list[T] = []
    for r in results:
        if not isinstance(r, Success):
            return r  # type: ignore[return-value]
        values.append(r.unwrap())
    return Success(tuple(values))


def gather(results: Iterable[tuple[str, Result[Any, tuple[E, ...]]]]) -> tuple[dict[str, Any], tuple[E, ...]]:
    """The values of the results that succeeded, by name, and the mistakes of all the others, in order.

    >>> gather([("a", Success(1)), ("b", Failure(("x",))), ("c", Failure(("y", "z")))])
    ({'a': 1}, ('x', 'y', 'z'))
    """
    values: dict[str, Any] = {}
    errors: list[E] = []
    for name, r in results:
        if isinstance(r, Success):
            values[name] = r.unwrap()
        else:
            errors.extend(r.failure())
    return values, tuple(errors)


def split(r: Result[T, tuple[E, ...]]) -> tuple[T | None, tuple[E, ...]]:
    """A result as ``(value, ())`` or ``(None, mistakes)``."""
    return (r.unwrap(), ()) if isinstance(r, Success) else (None, r.failure())


__all__ = ["sequence", "gather", "split", "Failure", "Success", "Result"]
