"""``seamless-init``: read the configuration, bring up every service of the plan, check each answers.

Exit 0 when all answer (or at once when ``SEAMLESS_REMOTE_CLIENTS`` is set:
this process is a worker that gets its clients from its parent); 2 for a
configuration mistake; 1 when a service could not be brought up.
"""

from __future__ import annotations

import _thread  # (threading, for one lock, would cost a warm run a couple of milliseconds)
import os
import sys

from ._common import option, read_args, run, split_stage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._parser import ArgumentParser

EXIT_SERVICE = 1


#: the options; argparse and the quick reading of a plain command line (no argparse: the warm lane)
#: are both built from them
OPTIONS = (
    option("--stage", metavar="STAGE[:SUBSTAGE]", help="stage (and substage); each stage has its own storage"),
    option("--json", switch=True, exclusive=True, help="print a JSON summary of the services"),
    option("--quiet", "-q", switch=True, exclusive=True, help="print nothing on success"),
)


def build_parser() -> ArgumentParser:
    from ._parser import ArgumentParser, add_options

    parser = ArgumentParser(
        prog="seamless-init",
        description="Bring up and verify the services that the Seamless configuration of the current "
        "directory selects (hashserver, database, jobserver or daskserver).",
    )
    add_options(parser, OPTIONS)
    return parser


def main(argv: list[str] | None = None) -> int:
    if "SEAMLESS_REMOTE_CLIENTS" in os.environ:
        return 0
    args = read_args(argv, OPTIONS, build_parser)
    return run("seamless-init", lambda: _main(args))


class _LineReporter:
    def __init__(self, stream, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet
        self.lock = _thread.allocate_lock()

    def starting(self, sp) -> None:
        pass

    def done(self, outcome) -> None:
        # called from the bring-up's threads: one write per line, so lines never interleave
        if not self.quiet:
            line = (f"{outcome.role:<16} {outcome.state:<9} {outcome.hostname}:{outcome.port}  {outcome.key}"
                    f"  ({outcome.seconds:.1f} s)\n")
            with self.lock:
                self.stream.write(line)
                self.stream.flush()

    def failed(self, sp, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        with self.lock:
            print(f"seamless-init: warning: {message}", file=sys.stderr, flush=True)


def _print_outcomes(rows: list[dict], args) -> None:
    if args.json:
        keep = ("service", "key", "host", "hostname", "port", "state", "timeline")
        import json

        print(json.dumps({"services": [{k: r[k] for k in keep} for r in rows]}, indent=1, sort_keys=True))
    elif not rows and not args.quiet:
        print("no services needed (no cluster selected, or persistence and remote execution are off)")


def _warm(args, stage: str | None, substage: str | None, workdir: str) -> tuple[str | None, bool]:
    """The warm lane (:mod:`effects.warm`): ``(memo key, done)``; done when every service answered."""
    from effects import warm

    if warm.memo_dir() is None:
        return None, False
    key = warm.memo_key(workdir, stage, substage)
    rows = warm.reuse_all(key)
    if rows is None:
        return key, False
    reporter = _LineReporter(sys.stdout, args.quiet or args.json)
    for r in rows:
        reporter.done(_Row(r["role"], "reused", r["hostname"], r["port"], r["key"], r["seconds"]))
    _print_outcomes([{**r, "service": r["role"], "state": "reused"} for r in rows], args)
    return key, True


class _Row:
    def __init__(self, role: str, state: str, hostname: str, port: int, key: str, seconds: float) -> None:
        self.role, self.state, self.hostname, self.port, self.key, self.seconds = role, state, hostname, port, key, seconds


def _main(args) -> int:
    stage, substage = split_stage(args.stage)
    workdir = os.getcwd()
    memo, done = _warm(args, stage, substage, workdir)
    if done:
        return 0
    from seamless_config.session import ServiceFailure, bring_up_current

    reporter = _LineReporter(sys.stdout, args.quiet or args.json)
    try:
        outcomes = bring_up_current(stage, substage, workdir=workdir, reporter=reporter, activate=False)
    except ServiceFailure as exc:
        print(f"seamless-init: {exc}", file=sys.stderr)
        return EXIT_SERVICE
    from seamless_config.session import SESSION

    if memo is not None and SESSION.memo is not None:  # (the session kept it under its own key too)
        from effects import warm

        warm.store(memo, SESSION.memo["services"], SESSION.memo["activation"])
    rows = [{"service": o.role, "key": o.key, "host": o.host, "hostname": o.hostname, "port": o.port,
             "state": o.state, "timeline": dict(o.timeline)} for o in outcomes]
    _print_outcomes(rows, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
