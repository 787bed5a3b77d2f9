"""From the session's selection to running services and a connected runtime."""

from __future__ import annotations

from typing import Any

from .core.errors import Origin
from .core.plan import Plan, ServicePlan, build_plan, plan_notes
from .core.selection import Resolution, with_stage
from .errors import ConfigurationError
from .session import SESSION, rendered, settled


class ServiceFailure(RuntimeError):
    """A service could not be brought up (not a configuration mistake)."""


#: the seamless-remote module whose ``DISABLED`` flag switches each service off
DISABLE_FLAGS = {
    "hashserver": "seamless_remote.buffer_remote",
    "database": "seamless_remote.database_remote",
    "jobserver": "seamless_remote.jobserver_remote",
    "daskserver": "seamless_remote.daskserver_remote",
    "pure-daskserver": "seamless_remote.daskserver_remote",
}


def disabled_services() -> frozenset[str]:
    """The services the runtime switched off (only modules already imported are asked)."""
    from effects.runtime import imported

    return frozenset(role for role, module in DISABLE_FLAGS.items()
                     if getattr(imported(module), "DISABLED", False) is True)


def current_plan() -> Plan:
    res = Resolution(SESSION.selection, SESSION.clusters)
    return settled(build_plan(res, disabled_services()))


def _host_for(sp: ServicePlan):
    from effects.services import host_for

    return host_for(sp.ssh_host, None if sp.ssh_host is None else _where(sp))


def _where(sp: ServicePlan) -> str:
    """How messages name the frontend of a service: ``frontend 'h' of cluster 'c' (file:line)``."""
    ld = sp.launch
    frontend = ld.get("hostname") or sp.ssh_host
    via = f" (ssh {sp.ssh_host})" if sp.ssh_host != frontend else ""
    where = f"frontend {frontend!r}{via} of cluster {ld.cluster!r}"
    return where + (f" ({sp.origin})" if sp.origin is not None else "")


def _idle(plan: Plan) -> bool:
    return not plan.services and plan.spawn_workers is None


def bring_up(reporter: Any = None, activate: bool = True) -> list[Any]:
    """Launch or reuse the current plan's services; then connect the runtime to them."""
    from effects.outcomes import LaunchError, all_answering
    from effects.statefiles import StateError

    plan = current_plan()
    if _idle(plan) and (SESSION.plan is None or _idle(SESSION.plan)):
        SESSION.plan = plan  # nothing to launch, nothing connected before: leave the runtime as it is
        SESSION.outcomes = []
        return []
    try:
        # a warm init(): every service answers as it is, without loading the launch protocol
        warm = all_answering(plan.services) if reporter is None else None
        if warm is not None:
            outcomes = warm
        else:
            from effects import launcher

            outcomes = launcher.bring_up(plan.services, _host_for, reporter)
    except StateError as exc:
        import errno

        if exc.errno == errno.EINVAL:  # the state directory's variable is a configuration mistake
            raise ConfigurationError(str(exc)) from None
        raise ServiceFailure(str(exc).replace("\n", " ")) from None
    except LaunchError as exc:  # a state directory that cannot be written: full, read-only
        if exc.mistake is not None:  # a queue its batch system cannot serve
            raise ConfigurationError(rendered(exc.mistake)) from None
        raise ServiceFailure(str(exc)) from None
    SESSION.plan = plan
    SESSION.outcomes = outcomes
    if activate:
        from effects import runtime

        runtime.activate(plan, outcomes)
    return outcomes


def activate() -> None:
    """Bring up what the current selection's plan needs (maybe nothing) and connect the runtime; a
    service that cannot come up is a :class:`ConfigurationError` for the API's callers."""
    try:
        bring_up()
    except ServiceFailure as exc:
        raise ConfigurationError(str(exc)) from None


def bring_up_current(stage: str | None, substage: str | None, *, workdir: str, reporter: Any = None,
                     activate: bool = True) -> list[Any]:
    """What ``seamless-init`` does: load the configuration of ``workdir`` for a stage, bring it up."""
    import os

    SESSION.workdir = os.path.abspath(workdir)
    SESSION.workdir_set = True
    SESSION.update(with_stage(SESSION.selection, stage, substage, Origin("(command line)")))
    SESSION.load()
    if reporter is not None:  # what init() warns of (storage only; storage that OAR deletes)
        for note in plan_notes(Resolution(SESSION.selection, SESSION.clusters)):
            reporter.warning(rendered(note))
    return bring_up(reporter, activate=activate)


__all__ = ["activate", "bring_up", "bring_up_current", "current_plan", "ServiceFailure", "ConfigurationError"]
