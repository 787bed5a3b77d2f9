"""Bringing the current selection to life (the boundary's side of it).

Computes the plan from the session (pure) and hands it to the effects layer.
"""

from __future__ import annotations

from .errors import ConfigurationError


def activate() -> None:
    """Bring up what the current selection's plan needs (maybe nothing) and connect the runtime."""
    from .plan_runtime import ServiceFailure, bring_up

    try:
        bring_up()
    except ServiceFailure as exc:
        raise ConfigurationError(str(exc)) from None
