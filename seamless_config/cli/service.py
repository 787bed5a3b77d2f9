"""``seamless-service-ps``, ``-logs``, ``-inspect``, ``-stop``, ``-rm`` and ``-clear``.

Each takes the arguments of ``seamless-service-resolve`` (``--service
--cluster --project --subproject --stage --substage --mode --queue
--frontend-name --workdir``). With ``--service`` a command acts on the one
service those arguments name, on the host the plan would run it on; with
``--cluster C`` and no ``--service`` (stop, rm; ps reads them so too) it acts on
every service of cluster C found on C's hosts, narrowed by the other flags
given. What the rows mean and which ones are targeted is decided in
``seamless_config.core.services``; what is done, in ``effects.services``.

Exit codes: 0 done; 1 a host could not be reached or refused (one line each
on standard error); 2 a mistake in the arguments or the configuration.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from ..core.clients import LIVE, MODES, STORAGE
from ..core.errors import printable
from ._common import EXIT_USAGE, run, split_stage
from ._parser import ArgumentParser
from .resolve import add_scope_arguments

EXIT_FAILED = 1


# -- shared ----------------------------------------------------------------------------------

def _parser(prog: str, description: str) -> ArgumentParser:
    parser = ArgumentParser(prog=prog, description=description)
    add_scope_arguments(parser, service_required=False)
    # no --mode: every mode (cluster-wide), rw for one service
    parser.set_defaults(mode=None)
    return parser


def _main(parser: ArgumentParser, argv: list[str] | None, body: Callable[[Any], int],
          check: Callable[[ArgumentParser, Any], None] | None = None) -> int:
    """What every command does: parse ``argv``, ``check`` the arguments (``parser.error`` on a
    mistake), then :func:`run` ``body(args)`` under the parser's program name, where a host that
    cannot be reached or refuses is one line and exit 1."""
    args = parser.parse_args(argv)
    if check is not None:
        check(parser, args)

    def guarded() -> int:
        from effects.outcomes import LaunchError
        from effects.statefiles import base_path

        base_path()  # a relative REMOTE_HTTP_LAUNCHER_DIR is a mistake (exit 2), found before anything is shown
        try:
            return body(args)
        except (LaunchError, OSError) as exc:
            print(f"{parser.prog}: {_one_line(exc)}", file=sys.stderr)
            return EXIT_FAILED

    return run(parser.prog, guarded)


def _finish(failures: list[str]) -> int:
    """One line per failure on standard error; the exit code."""
    for line in failures:
        print(printable(line), file=sys.stderr)
    return EXIT_FAILED if failures else 0


def _emit(lines: list[str]) -> None:
    """One line each on standard output (keys come from file names: a newline or ESC in one is escaped)."""
    sys.stdout.write("".join(printable(line) + "\n" for line in lines))


def _on_host(destination: str | None, fn: Callable[[Any], Any]) -> Any:
    """``fn(host)`` with a connection to the host of ``destination``, closed after."""
    from effects.services import close_host, host_for

    host = host_for(destination)
    try:
        return fn(host)
    finally:
        close_host(host)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split("\n"))


def _where(destination: str | None) -> str:
    return "this machine" if destination is None else destination


def _stages(args) -> tuple[str | None, str | None]:
    stage, substage = split_stage(args.stage)
    return stage, args.substage if args.substage is not None else substage


def _locate(args, service: str | None = None, mode: str | None = None):
    from seamless_config.cli._scope import locate_service

    stage, substage = _stages(args)
    return locate_service(
        service=service or args.service, cluster=args.cluster, project=args.project,
        subproject=args.subproject, stage=stage, substage=substage, mode=mode or args.mode or "rw",
        queue=args.queue, frontend_name=args.frontend_name, workdir=args.workdir,
    )


def _row_filter(args, *, cluster: str | None, status: str | None = None):
    from seamless_config.inspect.ps import RowFilter

    stage, substage = _stages(args)
    from seamless_config.core.names import (
        PROJECT_TOPLEVEL,
        SEAMLESS_CACHE_CLUSTER,
        SEAMLESS_CACHE_PROJECT_ALIAS,
    )

    project = args.project
    if project == SEAMLESS_CACHE_PROJECT_ALIAS:  # the project of SEAMLESS_CACHE mode, as ps shows it
        project = PROJECT_TOPLEVEL
        cluster = cluster if cluster is not None else SEAMLESS_CACHE_CLUSTER
    return RowFilter(project, args.subproject, stage, substage, service=args.service, cluster=cluster, mode=args.mode,
                     queue=args.queue, status=status)


def _server_rows(destinations, known: tuple[str, ...], prog: str) -> tuple[list[Any], list[str]]:
    """Every server state on those hosts as rows; and one message per host that failed."""
    from effects.outcomes import LaunchError
    from seamless_config.inspect.ps import server_row

    def one(dest: str | None) -> tuple[list[Any], str | None]:
        try:
            return _on_host(dest, lambda host: [server_row(state, dest, known) for state in host.list_states()]), None
        except (LaunchError, OSError) as exc:
            return [], f"{prog}: {_where(dest)}: {_one_line(exc)}"

    from effects.services import parallel

    results = parallel(list(destinations), one)
    return [row for rows, _ in results for row in rows], [f for _, f in results if f is not None]


def _targets(args, prog: str) -> tuple[list[tuple[str | None, str]], list[str]]:
    """``(destination, key)`` of the one ``--service``, or (cluster-wide) of every service of
    ``--cluster`` found on its hosts, filtered; and one message per host that failed."""
    if args.service is not None:
        loc = _locate(args)
        return [(loc.destination, loc.key)], []
    from seamless_config.cli._scope import cluster_destinations, read_clusters
    from seamless_config.inspect.ps import select_rows

    res = read_clusters(args.workdir)
    dests = cluster_destinations(res, args.cluster, args.frontend_name)
    rows, failures = _server_rows(dests, (args.cluster,), prog)
    return [(r.host, r.key) for r in select_rows(rows, _row_filter(args, cluster=args.cluster))], failures


def _per_target(targets: list[tuple[str | None, str]], act: Callable[[Any, str], Any], prog: str,
                failures: list[str]) -> list[Any]:
    """``act(host, key)`` for each ``(destination, key)``, in parallel, one connection per host; a
    host that fails or refuses is one line in ``failures`` and ``None`` in the results."""
    from effects.outcomes import LaunchError
    from effects.services import close_host, host_for, parallel

    hosts = {d: host_for(d) for d in {d for d, _ in targets}}

    def one(target: tuple[str | None, str]) -> Any:
        dest, key = target
        try:
            return act(hosts[dest], key)
        except (LaunchError, OSError) as exc:
            failures.append(f"{prog}: {key} on {_where(dest)}: {_one_line(exc)}")
            return None

    try:
        return parallel(targets, one)
    finally:
        for h in hosts.values():
            close_host(h)


def _need_target(parser: ArgumentParser, args) -> None:
    if args.service is None and args.cluster is None:
        parser.error("--service or --cluster is required")


def _need_service(parser: ArgumentParser, args) -> None:
    if args.service is None:
        parser.error("--service is required")


# -- ps --------------------------------------------------------------------------------------

def build_ps_parser() -> ArgumentParser:
    parser = _parser(
        "seamless-service-ps",
        "List Seamless services: the client connection files of this machine (default), or the server "
        "state on the hosts of a cluster (--cluster C, --server) or of every cluster (--all-clusters).",
    )
    view = parser.add_mutually_exclusive_group()
    view.add_argument("--client", action="store_true", help="client connection files on this machine (default)")
    view.add_argument("--server", action="store_true",
                      help="server state on the hosts of --cluster (default: the selected cluster)")
    view.add_argument("--all-clusters", action="store_true", help="server state on the hosts of every cluster")
    parser.add_argument("--status", metavar="S", help="only rows whose PROCESS is S (running, stale, client, ...)")
    parser.add_argument("--persistent", action="store_true",
                        help="also the state of the hashserver buffers and database directories")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    return parser


def ps_main(argv: list[str] | None = None) -> int:
    return _main(build_ps_parser(), argv, _ps)


def _ps(args) -> int:
    from seamless_config.inspect.ps import client_row, select_rows

    from .table import render_table

    prog = "seamless-service-ps"
    failures: list[str] = []
    res = None
    server_view = args.server or args.all_clusters or (args.cluster is not None and not args.client)
    if not server_view:
        from effects.services import client_files, local_server_rows

        files = client_files()
        states = local_server_rows([k for k, _ in files])
        known = (args.cluster,) if args.cluster else ()
        rows = [client_row(k, d, states.get(k), known) for k, d in files]
        rows = select_rows(rows, _row_filter(args, cluster=args.cluster, status=args.status))
    else:
        from seamless_config.cli._scope import cluster_destinations, read_clusters
        from seamless_config.errors import ConfigurationError

        res = read_clusters(args.workdir)
        if args.all_clusters:
            names = tuple(res.clusters.names())
            dests: list[str | None] = [None]
            for name in names:
                try:
                    found = cluster_destinations(res, name, args.frontend_name)
                except ConfigurationError:
                    if args.frontend_name is None:
                        raise
                    continue  # --frontend-name: the clusters that have it
                dests += [d for d in found if d not in dests]
            rows, failures = _server_rows(dests, names, prog)
            rows = select_rows(rows, _row_filter(args, cluster=args.cluster, status=args.status))
        else:
            cluster = args.cluster if args.cluster is not None else res.selection.cluster
            if cluster is None:
                raise ConfigurationError(
                    "No cluster defined (pass --cluster, or add '- cluster: NAME' to seamless.profile.yaml)")
            dests = list(cluster_destinations(res, cluster, args.frontend_name))
            rows, failures = _server_rows(dests, (cluster,), prog)
            rows = select_rows(rows, _row_filter(args, cluster=cluster, status=args.status))
    if args.persistent:
        rows, more = _with_storage(args, rows, res, prog)
        failures += more
    code = _finish(failures)
    if args.json:
        out = "".join(json.dumps(r.as_json(), sort_keys=True) + "\n" for r in rows)
    else:
        out = render_table(rows) + "\n"
    sys.stdout.write(out)
    return code


def _with_storage(args, rows: list[Any], res, prog: str) -> tuple[list[Any], list[str]]:
    """Fill PERSISTENT and SIZE of hashserver and database rows; add rows for the storage of the
    selected (or given) project that no service row shows (:func:`~seamless_config.inspect.ps.storage_places`)."""
    from effects.outcomes import LaunchError
    from effects.services import usage
    from seamless_config.cli._scope import read_clusters
    from seamless_config.core.names import SEAMLESS_CACHE_PROJECT_ALIAS
    from seamless_config.core.services import ServiceScope
    from seamless_config.inspect.ps import storage_places, usage_asks, with_usage

    if res is None:
        res = read_clusters(args.workdir)
    sel = res.selection
    project = args.project if args.project is not None else sel.project
    selected = None
    if args.status is None and not args.all_clusters and project not in (None, SEAMLESS_CACHE_PROJECT_ALIAS):
        selected = ServiceScope(project, args.subproject if args.subproject is not None else sel.subproject,
                                _stages(args)[0], service=args.service,
                                cluster=args.cluster if args.cluster is not None else sel.cluster)
    located = storage_places(rows, res, selected, args.frontend_name)
    found: dict[tuple[str | None, str], dict[str, Any]] = {}
    failures = []
    for dest, asks in usage_asks(located).items():

        def measure(host, dest=dest, asks=asks) -> None:
            for marker, paths in asks.items():
                found.update({(dest, path): u for path, u in usage(host, paths, marker=marker).items()})

        try:
            _on_host(dest, measure)
        except (LaunchError, OSError) as exc:
            failures.append(f"{prog}: {_where(dest)}: {_one_line(exc)}")
    return with_usage(located, found), failures


# -- logs, inspect ---------------------------------------------------------------------------

def build_logs_parser() -> ArgumentParser:
    parser = _parser("seamless-service-logs", "Print the server log of one Seamless service.")
    parser.add_argument("--tail", type=int, metavar="N", help="only the last N lines")
    return parser


def logs_main(argv: list[str] | None = None) -> int:
    def check(parser: ArgumentParser, args) -> None:
        _need_service(parser, args)
        if args.tail is not None and args.tail < 0:
            parser.error("--tail must be 0 or more")

    return _main(build_logs_parser(), argv, _logs, check)


def _show_one(args, prog: str, what: str, read: Callable[[Any, str], Any], shown: Callable[[Any], str]) -> int:
    """Print ``shown(read(host, key))`` of the one service the arguments name; exit 1 when there is none."""
    loc = _locate(args)
    found = _on_host(loc.destination, lambda host: read(host, loc.key))
    if found is None:
        print(f"{prog}: no {what} for {loc.key} on {_where(loc.destination)}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.write(shown(found))
    return 0


def _logs(args) -> int:
    # (a service logs what its clients send: escape what a terminal would obey, keep lines and tabs)
    return _show_one(args, "seamless-service-logs", "log", lambda host, key: host.read_log(key, args.tail),
                     lambda text: printable(text + "\n" if text and not text.endswith("\n") else text, "\n\t"))


def build_inspect_parser() -> ArgumentParser:
    return _parser("seamless-service-inspect", "Print the server state (JSON) of one Seamless service.")


def inspect_main(argv: list[str] | None = None) -> int:
    return _main(build_inspect_parser(), argv, _inspect, _need_service)


def _inspect(args) -> int:
    return _show_one(args, "seamless-service-inspect", "state", lambda host, key: host.read_state(key),
                     lambda state: json.dumps(_finite(state), indent=2, sort_keys=True) + "\n")


def _finite(value: Any) -> Any:
    """``value`` with every number JSON cannot hold (``1e999`` read as infinity, NaN) as a string, so
    that what inspect prints is JSON."""
    if isinstance(value, float) and value - value != 0:
        return repr(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# -- stop ------------------------------------------------------------------------------------

_STOPPED = {"stopped": "stopped", "not-running": "already gone", "missing": "not found",
            "not-ours": "not running (the pid its state names is another process, left alone)"}


def build_stop_parser() -> ArgumentParser:
    return _parser(
        "seamless-service-stop",
        "Stop Seamless services: SIGINT, then SIGTERM, then SIGKILL. Their state and logs are kept "
        "(marked stale), buffers and databases untouched. --cluster C without --service stops every "
        "service of cluster C.",
    )


def stop_main(argv: list[str] | None = None) -> int:
    return _main(build_stop_parser(), argv, _stop, _need_target)


def _stop(args) -> int:
    from effects.services import stop

    prog = "seamless-service-stop"
    targets, failures = _targets(args, prog)
    stopped = _per_target(targets, stop, prog, failures)
    lines = [f"{key}: {_STOPPED.get(r['outcome'], r['outcome'])}" + (" (tunnel closed)" if r["tunnel"] else "")
             for (_, key), r in zip(targets, stopped, strict=True) if r is not None]
    _emit(lines)
    if not targets and not failures:
        print(f"no services of cluster {args.cluster!r} found")
    return _finish(failures)


# -- rm --------------------------------------------------------------------------------------

def build_rm_parser() -> ArgumentParser:
    parser = _parser(
        "seamless-service-rm",
        "Remove the state of stopped Seamless services: the server state on the service's host and "
        "the client connection file here (both unless --client or --server). Logs, buffers and "
        "databases are kept. --cluster C without --service acts on every service of cluster C.",
    )
    parser.add_argument("--client", action="store_true", help="only the client connection files")
    parser.add_argument("--server", action="store_true", help="only the server state")
    return parser


def rm_main(argv: list[str] | None = None) -> int:
    return _main(build_rm_parser(), argv, _rm, _need_target)


def _rm(args) -> int:
    from effects.services import client_files, remove_client, remove_server_state
    from seamless_config.inspect.ps import client_row, select_rows

    prog = "seamless-service-rm"
    both = not args.client and not args.server
    do_server, do_client = both or args.server, both or args.client
    targets, failures = _targets(args, prog)
    client_keys = [k for _, k in targets]
    if args.service is None:
        wanted = _row_filter(args, cluster=args.cluster)
        files = select_rows([client_row(k, d, None, (args.cluster,)) for k, d in client_files()], wanted)
        client_keys = [r.key for r in files]
    lines: list[str] = []
    running: set[str] = set()
    if do_server:
        removed = _per_target(targets, remove_server_state, prog, failures)
        dest_of = dict((k, d) for d, k in targets)
        for (_, key), r in zip(targets, removed, strict=True):
            outcome, pid = r if r is not None else ("failed", None)
            if outcome == "removed":
                lines.append(f"{key}: server state removed")
            elif outcome == "missing" and not do_client:
                lines.append(f"{key}: no server state")
            elif outcome == "running":
                running.add(key)
                service_flag = "--service " + args.service if args.service else f"--cluster {args.cluster}"
                failures.append(
                    f"{prog}: {key}: running (pid {pid}) on {_where(dest_of[key])}, not removed; stop it first "
                    f"(seamless-service-stop {service_flag} ...)")
    if do_client:
        for key in sorted(set(client_keys) | ({k for _, k in targets} if do_server else set())):
            if key in running and both:
                continue
            if remove_client(key):
                lines.append(f"{key}: client file removed")
    if not lines and not failures:
        what = targets[0][1] if args.service is not None else f"services of cluster {args.cluster!r}"
        lines.append(f"{what}: not found" if args.service is not None else f"no {what} found")
    _emit(lines)
    return _finish(failures)


# -- clear -----------------------------------------------------------------------------------

def build_clear_parser() -> ArgumentParser:
    parser = _parser(
        "seamless-service-clear",
        "Delete the hashserver buffers or the database of one project/stage: everything inside its "
        "directory under the configured bufferdir / database_dir, which must hold .HASHSERVER_PREFIX "
        "or seamless.db. The service must be stopped. Asks for confirmation on a terminal.",
    )
    parser.add_argument("--yes", "-y", action="store_true", help="do not ask (required when not on a terminal)")
    return parser


def clear_main(argv: list[str] | None = None) -> int:
    def check(parser: ArgumentParser, args) -> None:
        if args.service not in STORAGE:
            parser.error("--service must be hashserver or database")

    return _main(build_clear_parser(), argv, _clear, check)


def _clear(args) -> int:
    from effects.services import close_host, escapes_locally, home, host_for, usage
    from seamless_config.core.services import MARKERS, clear_problem
    from seamless_config.errors import ConfigurationError
    from seamless_config.inspect.ps import human_size

    prog = "seamless-service-clear"
    loc = _locate(args, mode="rw")
    target, base, dest = loc.info["workdir"], loc.base_dir, loc.destination
    what = "hashserver buffers" if args.service == "hashserver" else "database"
    assert base is not None
    problem = clear_problem(target, base, home() if dest is None else None)
    if problem is not None:
        raise ConfigurationError(f"refusing to clear: {problem}")
    marker = MARKERS[args.service]
    host = host_for(dest)
    try:
        if dest is None and escapes_locally(target, base):
            print(f"{prog}: refusing to clear {target}: it resolves (through a symbolic link) to a directory "
                  f"outside {base}", file=sys.stderr)
            return EXIT_FAILED
        u = usage(host, [target], marker=marker if args.service == "hashserver" else None).get(target, {})
        if u.get("state") in ("absent", "empty"):
            print(f"nothing to clear: {target} {'does not exist' if u.get('state') == 'absent' else 'is empty'}")
            return 0
        try:
            m = usage(host, [target], file=marker).get(target, {})
        except TypeError:  # a host whose disk_usage cannot look for a file
            m = {}
        if m.get("state") != "populated":
            print(f"{prog}: refusing to clear {target}: it holds no {marker}, so it is not a {args.service} "
                  "directory", file=sys.stderr)
            return EXIT_FAILED
        for mode in MODES:
            key = loc.key if mode == "rw" else _locate(args, mode="ro").key
            state = host.read_state(key)
            pid = host.running_pid(key, state) if (state or {}).get("status") in LIVE else None
            if pid is not None:
                print(f"{prog}: {key} is running (pid {pid}) on {_where(dest)}: stop it first "
                      f"(seamless-service-stop with the same arguments)", file=sys.stderr)
                return EXIT_FAILED
        size = human_size(u.get("size")) if u.get("size") is not None else "unknown size"
        if not args.yes:
            if not sys.stdin.isatty():
                print(f"{prog}: refusing to clear {target} without confirmation (standard input is not a "
                      "terminal): pass --yes", file=sys.stderr)
                return EXIT_USAGE
            answer = input(f"Delete the {what} in {target} on {_where(dest)} ({size})? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("not cleared")
                return EXIT_FAILED
        host.clear_dir(target)
    finally:
        close_host(host)
    print(f"cleared {target}" + ("" if dest is None else f" on {dest}"))
    return 0


if __name__ == "__main__":
    sys.exit(ps_main())
