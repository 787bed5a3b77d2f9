"""Every kind of user mistake, with its exact rendered message ``file:line: message (hint)``.

Messages name project files relative to the current directory and home files as ``~/...``.
A failed load is atomic: the selection stays as it was.
"""

from __future__ import annotations

import pytest

from seamless_config import ConfigurationError, config_files, tools
from seamless_config import select as sel
from seamless_config.core.errors import ConfigError, ConfigErrors, Origin, did_you_mean, render

FE = "  frontends:\n  - hostname: h\n"


def load_error(project, text, filename="seamless.yaml"):
    project({f"proj/{filename}": text})
    with pytest.raises(ConfigurationError) as exc:
        config_files.load_config_files()
    return str(exc.value)


def cluster_error(project, write_clusters, text):
    write_clusters(text)
    project({})
    with pytest.raises(ConfigurationError) as exc:
        config_files.load_config_files()
    return str(exc.value)


NAME_HINT = "(use letters, digits, '_', '.' and '-', starting with a letter, digit or '_')"

# -- project files ---------------------------------------------------------------------------

PROJECT_FILE_ERRORS = [
    ("- projct: a\n", "seamless.yaml:1: unknown command 'projct' (did you mean 'project'?)"),
    ("- project: a\n- clustr: x\n", "seamless.yaml:2: unknown command 'clustr' (did you mean 'cluster'?)"),
    ("- foo\n", "seamless.yaml:1: unknown command 'foo'"),
    ("- stage prod\n", "seamless.yaml:1: unknown command 'stage prod' (a stage block is a mapping: write '- stage prod:' followed by an indented list of commands)"),
    ("- project: [a]\n", "seamless.yaml:1: 'project' command must be a string, not a list"),
    ("- project: {a: 1}\n", "seamless.yaml:1: 'project' command must be a string, not a mapping"),
    ("- project\n", "seamless.yaml:1: 'project' command needs a value (write '- project: <value>')"),
    ("- project:\n", "seamless.yaml:1: 'project' command needs a value (write 'project: <value>')"),
    ("- execution: remot\n", "seamless.yaml:1: invalid execution mode 'remot' (did you mean 'remote'?)"),
    ("- remote: JOBSERVER\n", "seamless.yaml:1: invalid remote 'JOBSERVER' (expected one of 'daskserver', 'jobserver')"),
    ("- persistent: 1\n", "seamless.yaml:1: 'persistent' command must be true or false, not '1' (write 'persistent: true' or 'persistent: false')"),
    ("- record: maybe\n", "seamless.yaml:1: 'record' command must be true or false, not 'maybe' (write 'record: true' or 'record: false')"),
    ("- nparallel: 0\n", "seamless.yaml:1: 'nparallel' command must be at least 1, not 0"),
    ("- nparallel: four\n", "seamless.yaml:1: 'nparallel' command must be a whole number, not 'four'"),
    ("- nparallel: 1.5\n", "seamless.yaml:1: 'nparallel' command must be a whole number, not '1.5'"),
    ("- node: [a]\n", "seamless.yaml:1: 'node' command must be a string, not a list"),
    ("- clusters:\n", "seamless.yaml:1: 'clusters' command needs a mapping of cluster names to definitions (write 'clusters:' followed by indented cluster definitions)"),
    ("- clusters: [a]\n", "seamless.yaml:1: cluster definitions must be a mapping of cluster names to definitions (write 'NAME:' followed by the indented definition)"),
    # not a list
    ("project: a\n", "seamless.yaml:1: expected a YAML list of commands, found a mapping (write one command per line, starting with '- ', e.g. '- project: myproject')"),
    ("just text\n", "seamless.yaml:1: expected a YAML list of commands, found 'just text' (write one command per line, starting with '- ', e.g. '- project: myproject')"),
    ("# nothing\n", "seamless.yaml:1: expected a YAML list of commands, found an empty file (write one command per line, starting with '- ', e.g. '- project: myproject')"),
    ("- {project: a, cluster: b}\n", "seamless.yaml:1: each command must be a name or a mapping with one key, found a mapping with several keys (write one command per list item, e.g. '- project: myproject')"),
    ("- [a]\n", "seamless.yaml:1: each command must be a name or a mapping with one key, found a list (write one command per list item, e.g. '- project: myproject')"),
    # stage blocks
    ("- stage prod: x\n", "seamless.yaml:1: 'stage prod' must hold a list of commands, not 'x' (indent the commands under '- stage prod:', each starting with '- ')"),
    ("- stage prod:\n  - projct: a\n", "seamless.yaml:2: unknown command 'projct' (did you mean 'project'?)"),
    ("- stage:\n  - project: a\n", "seamless.yaml:1: a stage block needs a stage name (write '- stage prod:' followed by an indented list)"),
    # YAML itself
    ("- project: [a\n", "seamless.yaml:1: invalid YAML: expected ',' or ']', but got '<stream end>' (check the YAML syntax near this line)"),
    ("- project: a\n  project: b\n", "seamless.yaml:2: duplicate key 'project' (each key may appear once in a mapping; keep one)"),
    ("- project: &p a\n- subproject: *p\n", "seamless.yaml:1: YAML anchors and aliases are not allowed (write the values out in full)"),
    ("- !!str x\n", "seamless.yaml:1: YAML tags are not allowed (remove the '!' tag)"),
]


@pytest.mark.parametrize("text,message", PROJECT_FILE_ERRORS, ids=[t for t, _ in PROJECT_FILE_ERRORS])
def test_project_file_errors(project, text, message):
    assert load_error(project, text) == message


def test_errors_in_the_profile_name_the_profile(project):
    assert load_error(project, "\n\n- projct: a\n", "seamless.profile.yaml") == (
        "seamless.profile.yaml:3: unknown command 'projct' (did you mean 'project'?)")


def test_not_utf8(project, tmp_path):
    wd = project({})
    (wd / "seamless.yaml").write_bytes(b"- project: a\n- project: \xff\n")
    with pytest.raises(ConfigurationError) as exc:
        config_files.load_config_files()
    assert str(exc.value) == "seamless.yaml:2: the file is not valid UTF-8 (byte 0xff at column 12) (save it as UTF-8)"


def test_several_mistakes_are_reported_together(project):
    message = load_error(project, "- projct: a\n- nparallel: 0\n- execution: remot\n")
    assert message.splitlines() == [
        "seamless.yaml:1: unknown command 'projct' (did you mean 'project'?)",
        "seamless.yaml:2: 'nparallel' command must be at least 1, not 0",
        "seamless.yaml:3: invalid execution mode 'remot' (did you mean 'remote'?)",
    ]


def test_parent_file_errors_name_the_parent(project):
    project({"seamless.yaml": "- projct: a\n", "proj/seamless.yaml": "- inherit_from_parent\n"})
    with pytest.raises(ConfigurationError) as exc:
        config_files.load_config_files()
    assert str(exc.value).endswith("/seamless.yaml:1: unknown command 'projct' (did you mean 'project'?)")
    assert str(exc.value).startswith("/")  # outside the current directory: absolute


# -- unsafe names ----------------------------------------------------------------------------

UNSAFE = [
    ("project", "a b", f"invalid project name 'a b' {NAME_HINT}"),
    ("project", "x--y", "invalid project name 'x--y': '--' separates parts of service keys (use a single '-')"),
    ("project", "STAGE-x", "invalid project name 'STAGE-x': 'STAGE-' marks stages in storage paths and keys (choose another name)"),
    ("project", "..", f"invalid project name '..' {NAME_HINT}"),
    ("project", ";rm", f"invalid project name ';rm' {NAME_HINT}"),
    ("project", "$(x)", f"invalid project name '$(x)' {NAME_HINT}"),
    ("project", "a/b", f"invalid project name 'a/b' {NAME_HINT}"),
    ("subproject", "a/../b", "invalid subproject name 'a/../b' (use letters, digits, '_', '.' and '-', with '/' between parts, starting with a letter, digit or '_')"),
    ("subproject", "a--b/c", "invalid subproject name 'a--b/c': '--' separates parts of service keys (use a single '-')"),
    ("cluster", "x--y", "invalid cluster name 'x--y': '--' separates parts of service keys (use a single '-')"),
    ("node", "a b", f"invalid node name 'a b' {NAME_HINT}"),
]


@pytest.mark.parametrize("command,value,message", UNSAFE, ids=[f"{c}={v}" for c, v, _ in UNSAFE])
def test_unsafe_names_in_files(project, command, value, message):
    quoted = "'" + value + "'"
    assert load_error(project, f"- {command}: {quoted}\n") == f"seamless.yaml:1: {message}"


@pytest.mark.parametrize("command,value,message", UNSAFE, ids=[f"{c}={v}" for c, v, _ in UNSAFE])
def test_unsafe_names_through_the_api(command, value, message):
    with pytest.raises(ConfigurationError) as exc:
        getattr(sel, f"select_{command}")(value)
    assert str(exc.value) == message


def test_unsafe_stage_names(project):
    assert load_error(project, "- stage x--y:\n  - project: a\n") == (
        "seamless.yaml:1: invalid stage name 'x--y': '--' separates parts of service keys (use a single '-')")
    with pytest.raises(ConfigurationError, match=r"^invalid stage name 'STAGE-x': 'STAGE-' marks"):
        sel.select_stage("STAGE-x")


def test_name_longer_than_200(project):
    assert load_error(project, f"- project: {'a' * 201}\n") == (
        "seamless.yaml:1: project name is longer than 200 characters (use a shorter name)")


# -- cluster files ---------------------------------------------------------------------------

CLUSTER_ERRORS = [
    ("c:\n  typo: slurm\n" + FE, "~/.seamless/clusters.yaml:2: unknown field 'typo' in cluster 'c' (did you mean 'type'?)"),
    ("c:\n  type: pbs\n" + FE, "~/.seamless/clusters.yaml:2: unknown cluster type 'pbs' in cluster 'c' (expected one of 'local', 'oar', 'slurm')"),
    ("c:\n  type: slurm\n", "~/.seamless/clusters.yaml:1: cluster 'c' has no 'frontends' (add 'frontends:' with at least one '- hostname: ...' entry)"),
    ("c:\n  frontends: {hostname: h}\n", "~/.seamless/clusters.yaml:2: 'frontends' of cluster 'c' must be a list, not a mapping (start each frontend with '- hostname: ...')"),
    ("c:\n  workers: x\n" + FE, "~/.seamless/clusters.yaml:2: field 'workers' of cluster 'c' must be a whole number, not 'x'"),
    ("c:\n  workers: 0\n" + FE, "~/.seamless/clusters.yaml:2: field 'workers' of cluster 'c' must be at least 1, not 0"),
    ("c:\n  tunnel: maybe\n" + FE, "~/.seamless/clusters.yaml:2: field 'tunnel' of cluster 'c' must be true or false, not 'maybe' (write 'tunnel: true' or 'tunnel: false')"),
    ("c:\n  frontends: []\n  memory_per_core_property_name: [x]\n", "~/.seamless/clusters.yaml:3: field 'memory_per_core_property_name' of cluster 'c' must be a string, not a list"),
    ("c: 5\n", "~/.seamless/clusters.yaml:1: cluster 'c' must be a mapping of fields, not '5' (give at least 'type' and 'frontends')"),
    ("- c\n", "~/.seamless/clusters.yaml:1: a cluster file must be a mapping of cluster names to definitions (write 'NAME:' at the start of a line, the definition indented below it)"),
    ("a b:\n" + FE, f"~/.seamless/clusters.yaml:1: invalid cluster name 'a b' {NAME_HINT}"),
    # frontends
    ("c:\n  frontends:\n  - hostname: h\n    hashservr: {bufferdir: /b}\n",
     "~/.seamless/clusters.yaml:4: unknown field 'hashservr' in frontend 1 of cluster 'c' (did you mean 'hashserver'?)"),
    ("c:\n  frontends:\n  - ssh_hostname: h\n",
     "~/.seamless/clusters.yaml:3: frontend 1 of cluster 'c' has no 'hostname' (add 'hostname: <where the services listen>', e.g. 'hostname: localhost')"),
    ("c:\n  frontends:\n  - hostname: a b\n", "~/.seamless/clusters.yaml:3: invalid hostname 'a b' (use an IP address, or a hostname or ~/.ssh/config alias made of letters, digits, '-' and '.', as remote-http-launcher requires)"),
    ("c:\n  frontends:\n  - hostname: h\n    ssh_hostname: a_b\n", "~/.seamless/clusters.yaml:4: invalid ssh_hostname 'a_b' (use an IP address, or a hostname or ~/.ssh/config alias made of letters, digits, '-' and '.', as remote-http-launcher requires)"),
    ("c:\n  frontends:\n  - hostname: h\n    jobserver: {conda: e, network_interface: 'x;y', port_start: 1, port_end: 2}\n",
     "~/.seamless/clusters.yaml:4: invalid network_interface 'x;y' (use an IP address, or a hostname or ~/.ssh/config alias made of letters, digits, '-' and '.', as remote-http-launcher requires)"),
    ("c:\n  frontends:\n  - hostname: h\n    daskserver: {network_interface: '', port_start: 1, port_end: 2}\n",
     "~/.seamless/clusters.yaml:4: invalid network_interface '' (use an IP address, or a hostname or ~/.ssh/config alias made of letters, digits, '-' and '.', as remote-http-launcher requires)"),
    # services: required fields, ports
    ("c:\n  frontends:\n  - hostname: h\n    hashserver: {}\n",
     "~/.seamless/clusters.yaml:4: hashserver of frontend 1 of cluster 'c' needs 'bufferdir' (add 'bufferdir: /data/seamless/buffers' under 'hashserver:')"),
    ("c:\n  frontends:\n  - hostname: h\n    database:\n      conda: e\n",
     "~/.seamless/clusters.yaml:5: database of frontend 1 of cluster 'c' needs 'database_dir' (add 'database_dir: /data/seamless/db' under 'database:')"),
    ("c:\n  frontends:\n  - hostname: h\n    hashserver: {bufferdir: rel/dir}\n",
     "~/.seamless/clusters.yaml:4: invalid bufferdir 'rel/dir' (use an absolute path (or one starting with '~/') without spaces, quotes, '..' or shell characters)"),
    ("c:\n  frontends:\n  - hostname: h\n    database: {database_dir: /a/../b}\n",
     "~/.seamless/clusters.yaml:4: invalid database_dir '/a/../b' (use an absolute path (or one starting with '~/') without spaces, quotes, '..' or shell characters)"),
    ("c:\n  frontends:\n  - hostname: h\n    hashserver: {bufferdir: /b, port_start: 5000}\n",
     "~/.seamless/clusters.yaml:4: hashserver of frontend 1 of cluster 'c' sets 'port_start' without 'port_end' (set both 'port_start' and 'port_end', or neither)"),
    ("c:\n  frontends:\n  - hostname: h\n    database: {database_dir: /b, port_end: 5000}\n",
     "~/.seamless/clusters.yaml:4: database of frontend 1 of cluster 'c' sets 'port_end' without 'port_start' (set both 'port_end' and 'port_start', or neither)"),
    ("c:\n  frontends:\n  - hostname: h\n    hashserver: {bufferdir: /b, port_start: 9000, port_end: 5000}\n",
     "~/.seamless/clusters.yaml:4: hashserver of frontend 1 of cluster 'c' has port_start 9000 above port_end 5000 (swap them)"),
    ("c:\n  frontends:\n  - hostname: h\n    hashserver: {bufferdir: /b, port_start: 1, port_end: 70000}\n",
     "~/.seamless/clusters.yaml:4: 'port_end' of hashserver of frontend 1 of cluster 'c' must be at most 65535, not 70000"),
    ("c:\n  frontends:\n  - hostname: h\n    daskserver: {network_interface: h, port_start: 1, port_end: 2, conda: e}\n",
     "~/.seamless/clusters.yaml:4: unknown field 'conda' in daskserver of frontend 1 of cluster 'c' (expected one of 'network_interface', 'port_end', 'port_start')"),
    ("c:\n  frontends:\n  - hostname: h\n    hashserver: {bufferdir: /b, conda: 'a b'}\n",
     "~/.seamless/clusters.yaml:4: invalid conda environment name 'a b' (use letters, digits, '_', '.', '-' and '+')"),
    # queues
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {walltme: 1}\n",
     "~/.seamless/clusters.yaml:6: unknown queue field 'walltme' in cluster 'c', queue 'q' (did you mean 'walltime'?)"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {cores: x}\n",
     "~/.seamless/clusters.yaml:6: queue field 'cores' in cluster 'c', queue 'q' must be a whole number, not 'x'"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {cores: 1, dask_resources: 1}\n",
     "~/.seamless/clusters.yaml:6: queue field 'dask_resources' in cluster 'c', queue 'q' must be a mapping, not '1' (write e.g. 'dask_resources: {GPU: 1}')"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {}\n",
     "~/.seamless/clusters.yaml:6: 'cores' is required when 'exclusive' is not set (cluster 'c', queue 'q') (add 'cores: N', or 'exclusive: true' for whole-node jobs)"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {exclusive: true, job_cores: 2}\n",
     "~/.seamless/clusters.yaml:6: 'job_cores' must not be set in exclusive mode (cluster 'c', queue 'q') (remove 'job_cores': an exclusive job takes the whole node, or 'cores' of it)"),
    ("c:\n  type: local\n" + FE + "  queues:\n    q: {exclusive: true}\n",
     "~/.seamless/clusters.yaml:6: 'cores' is required for an exclusive queue of a local cluster (cluster 'c', queue 'q') (add 'cores: N')"),
    ("c:\n  type: slurm\n" + FE + "  queues: [a]\n",
     "~/.seamless/clusters.yaml:5: 'queues' of cluster 'c' must be a mapping of queue names to fields, not a list"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {TEMPLATE: base, cores: 1}\n",
     "~/.seamless/clusters.yaml:6: unknown TEMPLATE 'base' for queue 'q' of cluster 'c' (name a queue defined above it in the same cluster)"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    base: {cores: 1}\n    q: {TEMPLATE: bse}\n",
     "~/.seamless/clusters.yaml:7: unknown TEMPLATE 'bse' for queue 'q' of cluster 'c' (did you mean 'base'?)"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {TEMPLATE: later, cores: 1}\n    later: {cores: 2}\n",
     "~/.seamless/clusters.yaml:6: unknown TEMPLATE 'later' for queue 'q' of cluster 'c' (define queue 'later' above 'q')"),
    # a template with a mistake of its own: that mistake, once, not "unknown TEMPLATE" for each user
    ("c:\n  type: slurm\n" + FE + "  queues:\n    base: {cores: x}\n    q: {TEMPLATE: base}\n    r: {TEMPLATE: q}\n",
     "~/.seamless/clusters.yaml:6: queue field 'cores' in cluster 'c', queue 'base' must be a whole number, not 'x'"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    base: {cores: x}\n    q: {TEMPLATE: bse}\n",
     "~/.seamless/clusters.yaml:6: queue field 'cores' in cluster 'c', queue 'base' must be a whole number, not 'x'\n"
     "~/.seamless/clusters.yaml:7: unknown TEMPLATE 'bse' for queue 'q' of cluster 'c' (did you mean 'base'?)"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    q: {TEMPLATE: q, cores: 1}\n",
     "~/.seamless/clusters.yaml:6: queue 'q' of cluster 'c' names itself as TEMPLATE (name a queue defined above it)"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    b: {cores: 1}\n  default_queue: x\n",
     "~/.seamless/clusters.yaml:7: default_queue 'x' of cluster 'c' is not one of its queues (expected one of 'b')"),
    ("c:\n  type: slurm\n" + FE + "  queues:\n    'a b': {cores: 1}\n",
     f"~/.seamless/clusters.yaml:6: invalid queue name 'a b' {NAME_HINT}"),
    # YAML
    ("c:\n  type: slurm\n  type: oar\n" + FE, "~/.seamless/clusters.yaml:3: duplicate key 'type' (each key may appear once in a mapping; keep one)"),
    ("base: &b\n  frontends: []\nc: *b\n", "~/.seamless/clusters.yaml:1: YAML anchors and aliases are not allowed (write the values out in full)"),
]


@pytest.mark.parametrize("text,message", CLUSTER_ERRORS, ids=[m.split(": ", 1)[1][:60] for _, m in CLUSTER_ERRORS])
def test_cluster_file_errors(project, write_clusters, text, message):
    assert cluster_error(project, write_clusters, text) == message


def test_errors_in_clusters_dir_files_name_them(project, write_clusters):
    write_clusters("c:\n  typ: slurm\n" + FE, "site.yaml")
    project({})
    with pytest.raises(ConfigurationError) as exc:
        config_files.load_config_files()
    assert str(exc.value) == "~/.seamless/clusters/site.yaml:2: unknown field 'typ' in cluster 'c' (did you mean 'type'?)"


def test_inline_cluster_errors_name_the_project_file(project):
    assert load_error(project, "- clusters:\n    c:\n      typ: slurm\n      frontends: []\n") == (
        "seamless.yaml:3: unknown field 'typ' in cluster 'c' (did you mean 'type'?)")


# -- selection errors found while loading ----------------------------------------------------


def test_unknown_cluster_command(project, standard_clusters):
    """Loading accepts it (projects are shared between machines with other clusters); a plan that
    uses the cluster refuses it, at the line that selected it."""
    project({"proj/seamless.yaml": "- project: p\n- cluster: ther\n"})
    config_files.load_config_files()
    assert sel.get_selected_cluster() == "ther"
    from seamless_config.session import current_plan

    with pytest.raises(ConfigurationError) as exc:
        current_plan()
    assert str(exc.value) == "seamless.yaml:2: unknown cluster 'ther' (did you mean 'there'?)"


def test_unknown_cluster_overridden_later(project, standard_clusters):
    """Only the cluster finally selected matters (the reference's behaviour)."""
    project({"proj/seamless.yaml": "- project: p\n- stage gpu:\n  - cluster: gpu-cluster\n- cluster: nowhere\n",
             "proj/seamless.profile.yaml": "- cluster: there\n- execution: process\n"})
    config_files.load_config_files()
    assert sel.get_selected_cluster() == "there"
    sel.select_stage("gpu")
    config_files.load_config_files()
    assert sel.get_selected_cluster() == "there"


def test_unused_unknown_cluster_is_no_mistake(project, standard_clusters):
    """Selected but not used (execution process, not persistent): nothing to look up."""
    project({"proj/seamless.yaml": "- project: p\n- cluster: demo\n- execution: process\n- persistent: false\n"})
    config_files.load_config_files()
    from seamless_config.session import current_plan

    plan = current_plan()
    assert (plan.cluster, plan.services, plan.persistent) == ("demo", (), False)


def test_load_mistakes_are_value_errors_too(project, standard_clusters):
    """Where the reference raised ValueError (seamless-run catches that type), ours is both."""
    project({"proj/seamless.yaml": "- projct: a\n"})
    with pytest.raises(ValueError) as exc:
        config_files.load_config_files()
    assert isinstance(exc.value, ConfigurationError)
    for call in (lambda: sel.select_execution("remot"), lambda: sel.select_project("a--b"),
                 lambda: sel.select_queue(5), lambda: sel.select_nparallel(0)):
        with pytest.raises(ValueError) as exc:
            call()
        assert isinstance(exc.value, ConfigurationError)


def test_unknown_queue_command(project, standard_clusters):
    assert load_error(project, "- cluster: there\n- queue: q3\n") == (
        "seamless.yaml:2: cluster 'there' has no queue 'q3' (expected one of 'q1', 'q2')")
    assert load_error(project, "- cluster: there\n- queue: qq1\n") == (
        "seamless.yaml:2: cluster 'there' has no queue 'qq1' (did you mean 'q1'?)")


def test_queue_without_cluster(project, standard_clusters):
    assert load_error(project, "- queue: q1\n") == (
        "seamless.yaml:1: cannot select a queue without selecting a cluster first (put '- cluster: NAME' before '- queue: ...')")


def test_queue_on_cluster_without_queues(project, standard_clusters):
    assert load_error(project, "- cluster: here\n- queue: q1\n") == (
        "seamless.yaml:2: cluster 'here' has no queues (define them under 'queues:' in the cluster)")


def test_failed_load_is_atomic(project, standard_clusters):
    project({"proj/seamless.yaml": "- project: good\n- cluster: there\n"})
    config_files.load_config_files()
    from pathlib import Path

    Path("seamless.yaml").write_text("- project: changed\n- cluster: here\n- execution: spawn\n- queue: nope\n")
    with pytest.raises(ConfigurationError):
        config_files.load_config_files()
    assert (sel.get_selected_project(), sel.get_selected_cluster(), sel.get_execution()) == ("good", "there", "remote")


def test_failed_cluster_file_leaves_selection(project, write_clusters, standard_clusters):
    project({"proj/seamless.yaml": "- project: p\n- cluster: there\n"})
    config_files.load_config_files()
    write_clusters("broken:\n  nonsense: 1\n", "a.yaml")
    with pytest.raises(ConfigurationError):
        config_files.load_config_files()
    assert sel.get_selected_cluster() == "there"
    assert tools.configure_hashserver("rw")["key"] == "hashserver-there-rw-p"


# -- the renderer ----------------------------------------------------------------------------


def test_render_forms():
    e = ConfigError("bad thing", Origin("/w/p/seamless.yaml", 3), "fix it")
    assert render(e) == "/w/p/seamless.yaml:3: bad thing (fix it)"
    assert render(e, cwd="/w/p") == "seamless.yaml:3: bad thing (fix it)"
    assert render(ConfigError("x", Origin("/h/.seamless/clusters.yaml", 2)), cwd="/w", home="/h") == "~/.seamless/clusters.yaml:2: x"
    assert render(ConfigError("no origin")) == "no origin"
    assert render(ConfigError("no line", Origin("f.yaml"))) == "f.yaml: no line"
    assert render(ConfigErrors((ConfigError("a", Origin("f", 1)), ConfigError("b", Origin("f", 2))))) == "f:1: a\nf:2: b"


def test_did_you_mean():
    assert did_you_mean("walltme", ["walltime", "cores"]) == "did you mean 'walltime'?"
    assert did_you_mean("zzz", ["a", "b"]) == "expected one of 'a', 'b'"
    assert did_you_mean("zzz", []) == ""
    assert did_you_mean("zzz", [f"n{i}" for i in range(13)]) == ""


def test_a_default_without_a_remote_target_warns_at_what_made_it(project, write_clusters):
    """The docs' storage-only cluster without an execution command: the cluster selection made
    execution default to remote. As in 0.3.2, storage comes up (seamless-upload needs no more);
    the warning names that line and both fixes."""
    import seamless_config
    from seamless_config.session import current_plan

    write_clusters("lab:\n  type: local\n  frontends:\n  - hashserver: {bufferdir: /b}\n    database: {database_dir: /d}\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: lab\n"})
    config_files.load_config_files()
    with pytest.warns(UserWarning) as record:
        seamless_config._warn_defaults()  # what init() and set_stage() say after their load
    notes = [str(w.message) for w in record]
    assert (
        "seamless.yaml:2: execution defaults to 'remote' because cluster 'lab' is selected here, but it offers "
        "neither a jobserver nor a daskserver: only storage is brought up, and transformations cannot run (for "
        "storage only add '- execution: process' (or spawn) to seamless.profile.yaml; for remote work add a "
        "'jobserver:' or 'daskserver:' section to a frontend)") in notes
    plan = current_plan()
    assert (plan.remote, [s.role for s in plan.services]) == (None, ["hashserver", "database"])


def test_seamless_init_warns_of_a_missing_remote_target(project, write_clusters, monkeypatch):
    """seamless-init's path (bring_up_current) hands the same note to its reporter; the storage services are
    switched off with seamless-remote's own DISABLED flags, as seamless-run --dry-run does, so nothing starts."""
    import os

    import seamless_remote.buffer_remote as buffer_remote
    import seamless_remote.database_remote as database_remote

    from seamless_config.session import bring_up_current

    monkeypatch.setattr(buffer_remote, "DISABLED", True)
    monkeypatch.setattr(database_remote, "DISABLED", True)
    write_clusters("lab:\n  type: local\n  frontends:\n  - hashserver: {bufferdir: /b}\n    database: {database_dir: /d}\n")
    project({"proj/seamless.yaml": "- project: p\n- cluster: lab\n"})

    class Collect:
        def __init__(self):
            self.warnings = []

        def warning(self, message):
            self.warnings.append(message)

    rep = Collect()
    assert bring_up_current(None, None, workdir=os.getcwd(), reporter=rep, activate=False) == []
    assert len(rep.warnings) == 1 and rep.warnings[0].startswith(
        "seamless.yaml:2: execution defaults to 'remote' because cluster 'lab' is selected here")
