"""``seamless-config doctor``: can the plan of this selection come up here, and what is in the way?

For the plan ``--stage`` selects, checks without starting or changing anything: the SSH
frontends (batch mode, host key, port forwarding for tunnels), remote-http-launcher's helpers,
the service programs and conda environments, a free port in each range, the storage directories
and their free space, the batch queue against its batch system, and the services of the plan
already running or stale. The checks and their verdicts are decided in
``seamless_config.inspect.doctor``; the observing is ``effects.doctor``.

One line per check (✔ passed, ! warning, ✘ failed, with the fix); ``--json``: one object per
check. Exit 0 when nothing failed, 1 when a check failed, 2 for a mistake in the arguments or
the configuration.
"""

from __future__ import annotations

import json
import sys
from typing import Any

HELP = "check that the selected plan can come up: SSH, remote tools, ports, storage, batch queue, running services"


def add_arguments(p: Any) -> None:
    p.add_argument("--stage", metavar="STAGE[:SUBSTAGE]", help="resolve with the blocks of this stage active")
    p.add_argument("--json", action="store_true", help="print stable JSON instead of text")
    p.add_argument("--workdir", metavar="DIR", help="read the configuration of DIR (default: the current directory)")


def run(args: Any, resolved: Any, cwd: str | None, home: str) -> int:
    """Observe what the stage's plan needs and print the verdicts; ``resolved`` is a ``StageResult``."""
    from effects import ssh
    from effects.doctor import observe
    from seamless_config.core.selection import purge_notes, remote_target_note
    from seamless_config.inspect import doctor

    from .render import fmt_origin, render_doctor

    try:
        seen = observe(doctor.needs(resolved.plan))
    finally:
        ssh.close_all()
    target = remote_target_note(resolved.resolution)
    checks = doctor.verdicts(resolved.plan, seen, purge_notes(resolved.resolution), () if target is None else (target,))
    if args.json:
        sys.stdout.write(json.dumps(doctor.as_json(checks), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    else:
        print(render_doctor(checks, lambda o: fmt_origin(o, cwd, home)))
    return doctor.exit_code(checks)
