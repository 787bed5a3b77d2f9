"""``seamless-service-resolve``: which service instance a set of Seamless arguments names.

Prints one JSON object: the launcher ``key``, the host (``ssh_hostname``), the
service's ``workdir``, its ``log_path``, and the scope (service, cluster, mode,
project, subproject, stage, substage, queue). No side effects: nothing is
launched, no state or log is written (only the parse cache and its memos may be).

The answer is a pure function of the arguments and the files read, so it is
remembered under a hash of both (as ``seamless-init``'s warm lane does): the
same question with unchanged files is answered without resolving again.
"""

from __future__ import annotations

import sys

from seamless_config.core.names import SERVICE_NAMES as SERVICES  # noqa: E402

from ._common import option, read_args, run, split_stage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._parser import ArgumentParser


def scope_options(*, service_required: bool) -> tuple[dict[str, Any], ...]:
    """The options that name a service instance (``seamless-service-resolve`` and the service commands)."""
    return (
        option("--service", choices=SERVICES, required=service_required, help="which service"),
        option("--cluster", help="cluster name (default: the selected cluster)"),
        option("--project", help="project name; SEAMLESS_CACHE means the $SEAMLESS_CACHE project"),
        option("--subproject", help="subproject (may contain '/')"),
        option("--stage", help="stage, or STAGE:SUBSTAGE"),
        option("--substage", help="substage (jobserver and daskserver only)"),
        option("--mode", choices=("ro", "rw"), default="rw", help="read-only or read-write (default rw)"),
        option("--queue", help="queue (daskserver)"),
        option("--frontend-name", help="frontend hostname, when the cluster has several"),
        option("--workdir", help="read the project files (seamless.yaml, seamless.profile.yaml) of this "
               "directory (default: the current one; seamless-service-resolve reads none without it)"),
    )


OPTIONS = scope_options(service_required=True)


def add_scope_arguments(parser: ArgumentParser, *, service_required: bool) -> None:
    from ._parser import add_options

    add_options(parser, scope_options(service_required=service_required))


def build_parser() -> ArgumentParser:
    from ._parser import ArgumentParser

    parser = ArgumentParser(
        prog="seamless-service-resolve",
        description="Translate Seamless-level arguments into the launcher key, host, workdir and log path of a "
        "service, as JSON. Reads the configuration; launches and writes nothing.",
    )
    add_scope_arguments(parser, service_required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = read_args(argv, OPTIONS, build_parser)
    return run("seamless-service-resolve", lambda: _main(args))


def _memo(args, stage: str | None, substage: str | None) -> str | None:
    """The key of this resolution's memo (see effects.warm), or ``None`` when there is none: the parse
    cache is off, or the result depends on running services (``--project SEAMLESS_CACHE``, or
    ``SEAMLESS_CACHE`` mode)."""
    import os

    from effects import warm
    from seamless_config.core.names import SEAMLESS_CACHE_PROJECT_ALIAS

    if warm.memo_dir() is None or args.project == SEAMLESS_CACHE_PROJECT_ALIAS or os.environ.get("SEAMLESS_CACHE"):
        return None
    request = ["seamless-service-resolve", args.service, args.cluster, args.project, args.subproject,
               args.substage, args.mode, args.queue, args.frontend_name, args.workdir is not None]
    try:
        return warm.memo_key(args.workdir or os.getcwd(), stage, substage, request=request)
    except OSError:  # (a current directory that no longer exists)
        return None


def _main(args) -> int:
    stage, substage = split_stage(args.stage)
    memo = _memo(args, stage, substage)
    if memo is not None:
        from effects import warm

        known = warm.recall(memo)
        if known is not None and isinstance(known.get("resolved"), str):
            sys.stdout.write(known["resolved"])
            return 0
    from seamless_config.cli._scope import locate_service

    info = locate_service(
        service=args.service,
        cluster=args.cluster,
        project=args.project,
        subproject=args.subproject,
        stage=stage,
        substage=args.substage if args.substage is not None else substage,
        mode=args.mode,
        queue=args.queue,
        frontend_name=args.frontend_name,
        workdir=args.workdir,
        # the contract's agent mode: without --workdir, flags and environment only
        project_files=args.workdir is not None,
    ).info
    import json  # (only on the full path: a warm answer is the remembered text)

    text = json.dumps(info, sort_keys=True) + "\n"
    if memo is not None:
        from effects import warm

        warm.remember(memo, {"resolved": text})
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
