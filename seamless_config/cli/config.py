"""``seamless-config``: the effective configuration, and where every value came from.

Subcommands: ``show``, ``explain NAME``, ``diff STAGE_A STAGE_B``, ``check``,
``job-script``, ``schema`` (the JSON Schema of a file, for editors) and ``doctor``. Reads the
configuration; starts and writes nothing except the parse cache (``doctor`` alone connects, to
look). Exit 0, or 2 for a mistake (in the arguments or the configuration) with one line per
mistake on stderr; ``doctor`` exits 1 when a check failed.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ._common import EXIT_USAGE, run, split_stage
from ._parser import ArgumentParser

PROG = "seamless-config"
NO_STAGE = "-"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Show the effective Seamless configuration of a directory and where each value came from; "
        "compare stages; check every file and stage.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    sub.required = True

    def common(p: ArgumentParser, stage: bool = True) -> None:
        if stage:
            p.add_argument("--stage", metavar="STAGE[:SUBSTAGE]", help="resolve with the blocks of this stage active")
        p.add_argument("--json", action="store_true", help="print stable JSON instead of text")
        p.add_argument("--workdir", metavar="DIR", help="read the configuration of DIR (default: the current directory)")

    p = sub.add_parser("show", help="the effective selection and services, each value with the file:line that set it")
    common(p)
    p.add_argument("--show-secrets", action="store_true", help="do not hide values of fields named like passwords, tokens, keys")
    p = sub.add_parser("explain", help="one value: the file:line that won, and every earlier value it overrode")
    p.add_argument("name", metavar="NAME", help="a setting (cluster, queue, ...), queue.FIELD, cluster.FIELD or SERVICE.FIELD")
    common(p)
    p.add_argument("--show-secrets", action="store_true", help="do not hide secret values")
    p = sub.add_parser("diff", help="what changes between two stages (selection, storage, services)")
    p.add_argument("stage_a", metavar="STAGE_A", help=f"STAGE[:SUBSTAGE], or '{NO_STAGE}' for no stage")
    p.add_argument("stage_b", metavar="STAGE_B", help=f"STAGE[:SUBSTAGE], or '{NO_STAGE}' for no stage")
    common(p, stage=False)
    p = sub.add_parser("check", help="validate every file and every stage named in a stage block; report all mistakes")
    p.add_argument("--strict", action="store_true",
                   help="also flag unused cluster definitions, queues that can never be used, stages that change nothing")
    common(p, stage=False)
    from . import jobscript

    jobscript.add_arguments(sub.add_parser("job-script", help=jobscript.HELP))
    from . import doctor

    doctor.add_arguments(sub.add_parser("doctor", help=doctor.HELP))
    p = sub.add_parser("schema", help="print the JSON Schema of a configuration file, for editors (reads no file)")
    p.add_argument("--file", choices=("project", "profile", "clusters"), default="project",
                   help="seamless.yaml (project, the default), seamless.profile.yaml (profile) or "
                        "~/.seamless/clusters.yaml (clusters)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _main(args))


def _layout(workdir: str | None) -> Any:
    from effects.snapshot import read_snapshot
    from seamless_config.session import SESSION, with_seamless_cache, work_directory

    snapshot = read_snapshot(work_directory(workdir or None))
    if snapshot.seamless_cache is not None:
        snapshot = with_seamless_cache(snapshot)
    return SESSION.gather(snapshot)


def _resolved(layout: Any, stage_arg: str | None) -> Any:
    from seamless_config.core.layout import resolve_checked
    from seamless_config.session import settled

    stage, substage = (None, None) if stage_arg == NO_STAGE else split_stage(stage_arg)
    return settled(resolve_checked(layout, stage, substage))


def _print_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def _main(args: Any) -> int:
    if args.command == "schema":
        from seamless_config.core.schema import json_schema

        sys.stdout.write(json.dumps(json_schema(args.file), indent=2) + "\n")
        return 0
    from seamless_config.session import cwd_home

    cwd, home = cwd_home()
    layout = _layout(args.workdir)
    if args.command == "job-script":
        from . import jobscript

        return jobscript.run(args, _resolved(layout, args.stage))
    if args.command == "doctor":
        from . import doctor

        return doctor.run(args, _resolved(layout, args.stage), cwd, home)
    from seamless_config.inspect import explain, report

    from . import render

    if args.command == "show":
        rep = report.show_report(layout, _resolved(layout, args.stage), args.show_secrets)
        out = report.show_json(rep) if args.json else render.render_show(rep, cwd, home)
    elif args.command == "explain":
        from seamless_config.session import settled

        x = settled(explain.explain(layout, _resolved(layout, args.stage), args.name, args.show_secrets))
        out = explain.explanation_json(x) if args.json else render.render_explanation(x, cwd, home)
    elif args.command == "diff":
        ra, rb = _resolved(layout, args.stage_a), _resolved(layout, args.stage_b)
        d = report.diff_reports(args.stage_a, report.show_report(layout, ra), args.stage_b, report.show_report(layout, rb))
        out = report.diff_json(d) if args.json else render.render_diff(d, cwd, home)
    else:
        checked = report.check_layout(layout, args.strict)
        if checked.daskservers:  # what seamless-dask-wrapper would refuse at start-up, asked of it
            from effects.jobscript import wrapper_refusal

            said = {req: wrapper_refusal(req) for req, _ in checked.daskservers}
            checked = report.with_refusals(checked, {req: text for req, text in said.items() if text})
        if args.json:
            _print_json(report.check_json(checked))
            return 0 if checked.ok else EXIT_USAGE
        for line in render.render_check(checked, cwd, home):
            print(f"{PROG}: {line}", file=sys.stderr)
        if not checked.ok:
            return EXIT_USAGE
        print(render.check_summary(checked))
        return 0
    if args.json:
        _print_json(out)
    else:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
