"""``seamless-service-resolve``: which service instance a set of Seamless arguments names.

Prints one JSON object: the launcher ``key``, the host (``ssh_hostname``), the
service's ``workdir``, its ``log_path``, and the scope (service, cluster, mode,
project, subproject, stage, substage, queue). No side effects: nothing is
launched, no state or log is written (only the parse cache may be).
"""

from __future__ import annotations

import json
import sys

from seamless_config.core.names import SERVICE_NAMES as SERVICES  # noqa: E402

from ._common import ArgumentParser, run, split_stage


def add_scope_arguments(parser: ArgumentParser, *, service_required: bool) -> None:
    parser.add_argument("--service", choices=SERVICES, required=service_required, help="which service")
    parser.add_argument("--cluster", help="cluster name (default: the selected cluster)")
    parser.add_argument("--project", help="project name; SEAMLESS_CACHE means the $SEAMLESS_CACHE project")
    parser.add_argument("--subproject", help="subproject (may contain '/')")
    parser.add_argument("--stage", help="stage, or STAGE:SUBSTAGE")
    parser.add_argument("--substage", help="substage (jobserver and daskserver only)")
    parser.add_argument("--mode", choices=("ro", "rw"), default="rw", help="read-only or read-write (default rw)")
    parser.add_argument("--queue", help="queue (daskserver)")
    parser.add_argument("--frontend-name", help="frontend hostname, when the cluster has several")
    parser.add_argument("--workdir", help="read the project files (seamless.yaml, seamless.profile.yaml) of this "
                        "directory (default: the current one; seamless-service-resolve reads none without it)")


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="seamless-service-resolve",
        description="Translate Seamless-level arguments into the launcher key, host, workdir and log path of a "
        "service, as JSON. Reads the configuration; launches and writes nothing.",
    )
    add_scope_arguments(parser, service_required=True)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run("seamless-service-resolve", lambda: _main(args))


def _main(args) -> int:
    from seamless_config.service_scope import resolve_service

    stage, substage = split_stage(args.stage)
    info = resolve_service(
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
    )
    sys.stdout.write(json.dumps(info, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
