"""The pure pipeline, stage by stage (no I/O; see docs/architecture.md).

In order, each name loaded from its module on first use, so that importing one
small module of the core (the warm lane imports :mod:`.clients`) loads no other:

======================  ==========================================================
``gather``              discover, parse, inherit: a Snapshot to a Layout
``select``              stage filtering, clusters, selection: to a Resolution
``launch_dict``         one service's launch dict (the one dispatch)
``build_plan``          a Resolution to a Plan (every service to bring up)
``protocol``            bringing one service of the Plan up, as requests and answers
======================  ==========================================================

The one entry from files to a Resolution is :func:`.resolve.resolve`
(``gather`` then ``select``); it is not re-exported here, where the name would
be the module's once the module is imported.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing is not imported at run time: the warm seamless-init lane loads this module
if TYPE_CHECKING:
    from typing import Any


#: each exported name and the module that defines it, in pipeline order
STAGES = {
    "gather": "layout",
    "select": "layout",
    "launch_dict": "launch",
    "build_plan": "plan",
    "protocol": "bringup",
}

__all__ = list(STAGES)


def __getattr__(name: str) -> Any:
    module = STAGES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    full = f"{__name__}.{module}"
    __import__(full)  # (not importlib, which imports warnings: the warm lane loads this package)
    return getattr(sys.modules[full], name)
