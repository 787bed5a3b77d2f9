"""``seamless-config job-script``: the batch script one Dask worker job would be submitted with.

Resolves the configuration (``--stage``, ``--workdir``), takes the selected
queue (or ``--queue``), and prints what dask-jobqueue's SLURMCluster /
OARCluster ``job_script()`` gives for it through seamless-dask-wrapper's
settings. Submits nothing and starts no service.
"""

from __future__ import annotations

import sys
from typing import Any

HELP = "the batch script a Dask worker job of the selected queue would be submitted with (nothing is submitted)"


def add_arguments(p: Any) -> None:
    p.add_argument("--stage", metavar="STAGE[:SUBSTAGE]", help="resolve with the blocks of this stage active")
    p.add_argument("--queue", metavar="QUEUE", help="a queue of the selected cluster (default: the selected queue)")
    p.add_argument("--workdir", metavar="DIR", help="read the configuration of DIR (default: the current directory)")


def run(args: Any, resolved: Any) -> int:
    """Print the job script; ``resolved`` is the stage's resolution (a ``StageResult``)."""

    from effects import statefiles
    from effects.jobscript import JobScriptError, render_job_script
    from seamless_config.core.errors import Origin
    from seamless_config.core.jobqueue import job_script_request, refused
    from seamless_config.session import raise_error, settled

    request = settled(job_script_request(resolved.resolution, args.queue, Origin("--queue")))
    if request.runs_here:
        log_path: str | None = str(statefiles.server_log(request.key))
    else:
        log_path = f"~/.remote-http-launcher/server/{request.key}.log"
    try:
        script = render_job_script(request, log_path)
    except JobScriptError as exc:  # (shown at the queue's definition, like every mistake in a file)
        raise_error(refused(request, str(exc)))
    sys.stdout.write(script if script.endswith("\n") else script + "\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point (``python -m seamless_config.cli.jobscript``)."""
    from . import config

    argv = sys.argv[1:] if argv is None else argv
    return config.main(["job-script", *argv])


if __name__ == "__main__":
    sys.exit(main())
