"""Bringing the current selection to life (the boundary's side of it).

Computes the plan from the session (pure) and hands it to the effects layer.
"""

from __future__ import annotations

from .errors import ConfigurationError
from .session import SESSION


def activate() -> None:
    sel = SESSION.selection
    execution = sel.effective_execution()
    if sel.cluster is None:
        if execution == "remote":
            raise ConfigurationError(
                "Execution is 'remote' but no cluster was defined "
                "(add '- cluster: NAME' to seamless.profile.yaml, or '- execution: process')"
            )
        return
    from .plan_runtime import ServiceFailure, bring_up

    try:
        bring_up()
    except ServiceFailure as exc:
        raise ConfigurationError(str(exc)) from None
