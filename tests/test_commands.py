"""One example per command of seamless.yaml / seamless.profile.yaml, through load_config_files()."""

from __future__ import annotations

import pytest

from seamless_config import ConfigurationError, config_files
from seamless_config import select as sel
from seamless_config.core.commands import Command, StageBlock, parse_document
from seamless_config.core.errors import Origin
from seamless_config.core.yamltree import parse_yaml


def load():
    config_files.load_config_files()


def current():
    return (sel.get_selected_cluster(), sel.get_selected_project(), sel.get_selected_subproject(),
            sel.get_stage(), sel.get_substage())


def doc(text, path="seamless.yaml"):
    return parse_document(path, parse_yaml(path, text).unwrap()).unwrap()


def test_project(project):
    project({"proj/seamless.yaml": "- project: myproject\n"})
    load()
    assert sel.get_selected_project() == "myproject"


def test_subproject_may_have_parts(project):
    project({"proj/seamless.yaml": "- project: p\n- subproject: a/b\n"})
    load()
    assert current() == (None, "p", "a/b", None, None)


def test_cluster(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n"})
    load()
    assert sel.get_selected_cluster() == "there"
    # a cluster makes 'remote' the default execution and persistence the default
    assert sel.get_execution() == "remote"
    assert sel.get_persistent() is True


def test_bare_cluster_deselects(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n- cluster\n"})
    load()
    assert sel.get_selected_cluster() is None
    assert sel.get_execution() == "process"


@pytest.mark.parametrize("mode", ["process", "spawn", "remote"])
def test_execution(project, mode):
    project({"proj/seamless.yaml": f"- execution: {mode}\n"})
    load()
    assert sel.get_execution() == mode
    assert sel.execution_was_set_explicitly() and sel.execution_command_seen()


def test_queue(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n- queue: q2\n"})
    load()
    assert sel.get_queue() == "q2"
    assert sel.get_queue("here") is None


def test_no_queue_command_does_not_report_default_queue(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n"})
    load()
    assert sel.get_queue() is None


@pytest.mark.parametrize("text,expected", [("jobserver", "jobserver"), ("daskserver", "daskserver"), ("null", None)])
def test_remote(project, text, expected):
    project({"proj/seamless.yaml": f"- remote: {text}\n"})
    load()
    assert sel.get_remote() == expected


def test_bare_remote_is_null(project):
    project({"proj/seamless.yaml": "- remote\n"})
    load()
    assert sel.get_remote() is None


@pytest.mark.parametrize("text,expected", [("true", True), ("false", False), ("yes", True), ("no", False), ("on", True), ("off", False), ("True", True)])
def test_persistent_yaml_booleans(project, text, expected):
    project({"proj/seamless.yaml": f"- persistent: {text}\n"})
    load()
    assert sel.get_persistent() is expected
    assert sel.persistent_was_set_explicitly()


@pytest.mark.parametrize("text,expected", [("true", True), ("false", False)])
def test_record(project, text, expected):
    project({"proj/seamless.yaml": f"- record: {text}\n"})
    load()
    assert sel.get_record() is expected


def test_node(project):
    project({"proj/seamless.yaml": "- node: n1\n"})
    load()
    assert sel.get_node() == "n1"


def test_bare_node_is_null(project):
    project({"proj/seamless.yaml": "- node: n1\n- node\n"})
    load()
    assert sel.get_node() is None


def test_nparallel(project):
    project({"proj/seamless.yaml": "- nparallel: 4\n"})
    load()
    assert sel.get_nparallel() == 4
    import seamless_config

    assert seamless_config.get_nparallel() == 4


def test_inline_clusters_command(project):
    project({"proj/seamless.yaml": """\
        - cluster: mine
        - clusters:
            mine:
              type: local
              frontends:
              - hostname: localhost
                hashserver: {bufferdir: /b}
        """})
    load()
    # clusters commands run before the others, so 'cluster: mine' above them works
    assert sel.get_selected_cluster() == "mine"
    from seamless_config.cluster import get_cluster

    assert get_cluster("mine").frontends[0].hashserver.bufferdir == "/b"


def test_later_commands_override_and_profile_comes_after_yaml(project):
    project({
        "proj/seamless.yaml": "- project: a\n- subproject: s\n- project: b\n",
        "proj/seamless.profile.yaml": "- project: c\n",
    })
    load()
    assert current()[1:3] == ("c", "s")


def test_only_exact_file_names_count(project):
    project({"proj/seamless.yml": "- project: x\n", "proj/seamless.profile.yml": "- project: y\n"})
    load()
    assert sel.get_selected_project() is None


def test_no_files_selects_nothing(project):
    project({})
    load()
    assert current() == (None, None, None, None, None)


def test_empty_list_is_fine(project):
    project({"proj/seamless.yaml": "[]\n"})
    load()
    assert sel.get_selected_project() is None


# -- inherit_from_parent ---------------------------------------------------------------------


def test_inherit_from_parent_prepends_parent_files(project):
    project({
        "seamless.yaml": "- project: parent\n- cluster\n",
        "seamless.profile.yaml": "- subproject: fromparentprofile\n",
        "proj/seamless.yaml": "- project: child\n- inherit_from_parent\n",
    })
    load()
    # position of the flag does not matter; the child's command still wins
    assert current()[1:3] == ("child", "fromparentprofile")


@pytest.mark.parametrize("flag", ["- inherit_from_parent: true\n", "- inherit_from_parent:\n", "- inherit_from_parent\n- inherit_from_parent\n"])
def test_inherit_flag_forms(project, flag):
    project({"seamless.yaml": "- project: parent\n", "proj/seamless.profile.yaml": flag})
    load()
    assert sel.get_selected_project() == "parent"


def test_inherit_multi_level_and_stops_without_flag(project):
    project({
        "seamless.yaml": "- project: never\n",
        "gp/seamless.yaml": "- project: gp\n- execution: spawn\n",
        "gp/mid/seamless.yaml": "- inherit_from_parent\n- subproject: mid\n",
        "gp/mid/proj/seamless.yaml": "- inherit_from_parent\n",
    }, workdir="gp/mid/proj")
    load()
    assert current()[1:3] == ("gp", "mid")
    assert sel.get_execution() == "spawn"


def test_inherit_stops_at_parent_without_files(project):
    project({"seamless.yaml": "- project: grandparent\n", "a/b/seamless.yaml": "- inherit_from_parent\n"}, workdir="a/b")
    load()
    assert sel.get_selected_project() is None


def test_inherit_inside_stage_block_is_ignored(project):
    project({
        "seamless.yaml": "- project: parent\n",
        "proj/seamless.yaml": "- stage prod:\n  - inherit_from_parent\n",
    })
    sel.select_stage("prod")
    load()
    assert sel.get_selected_project() is None


# -- stage blocks ----------------------------------------------------------------------------


STAGED = """\
- project: a
- stage prod:
  - subproject: sp
  - execution: spawn
  - stage dev:
    - project: never
- stage dev: [project: d, {node: n2}]
- stage test: []
"""


def test_stage_block_applies_only_in_its_stage(project):
    project({"proj/seamless.yaml": STAGED})
    load()
    assert current()[1:3] == ("a", None)
    sel.select_stage("prod")
    load()
    assert current()[1:4] == ("a", "sp", "prod")
    assert sel.get_execution() == "spawn"


def test_leaving_a_stage_restores_what_the_files_select_without_it(project):
    """The stage's subproject does not stay behind (0.3.2 kept it: listed in docs/differences.md)."""
    project({"proj/seamless.yaml": STAGED})
    sel.select_stage("prod")
    load()
    assert current()[1:3] == ("a", "sp")
    sel.select_stage(None)
    load()
    assert current()[1:3] == ("a", None)
    assert sel.get_execution() == "process"  # execution came from a command: reset


def test_values_set_through_the_api_stay_until_a_file_sets_them(project):
    project({"proj/seamless.yaml": STAGED})
    sel.select_subproject("mine")
    load()
    assert current()[2] == "mine"  # no command sets it outside the stage
    sel.select_stage("prod")
    load()
    assert current()[2] == "sp"  # the stage block's command wins, as for every setting
    sel.select_stage(None)
    load()
    assert current()[2] is None  # and leaving the stage leaves what the files select


def test_flow_style_stage_block(project):
    project({"proj/seamless.yaml": STAGED})
    sel.select_stage("dev")
    load()
    assert sel.get_selected_project() == "d"
    assert sel.get_node() == "n2"


def test_nested_stage_block_parses_to_nested_records():
    d = doc(STAGED)
    prod = d.items[1]
    assert isinstance(prod, StageBlock) and prod.stage == "prod"
    assert isinstance(prod.items[2], StageBlock) and prod.items[2].stage == "dev"
    assert prod.items[2].items == (Command("project", "never", Origin("seamless.yaml", 6)),)
    assert d.items[2].items[1] == Command("node", "n2", Origin("seamless.yaml", 7))


def test_stage_block_order_is_preserved(project):
    project({"proj/seamless.yaml": "- stage prod:\n  - project: b\n- project: a\n"})
    sel.select_stage("prod")
    load()
    assert sel.get_selected_project() == "a"


def test_flow_style_mapping_values_in_queues(project):
    project({"proj/seamless.yaml": """\
        - clusters:
            c:
              type: slurm
              frontends: [{hostname: fe, daskserver: {network_interface: 10.0.0.1, port_start: 1, port_end: 2}}]
              queues:
                gpu: {cores: 4, dask_resources: {GPU: 1}, job_extra_directives: [--gres=gpu:1]}
        - cluster: c
        - queue: gpu
        """})
    load()
    from seamless_config.cluster import get_cluster

    q = get_cluster("c").queues["gpu"]
    assert q.dask_resources == {"GPU": 1}
    assert q.job_extra_directives == ["--gres=gpu:1"]


def test_commands_record_their_line():
    d = doc("# header\n- project: p\n\n- nparallel: 3\n- cluster\n")
    assert d.items == (
        Command("project", "p", Origin("seamless.yaml", 2)),
        Command("nparallel", 3, Origin("seamless.yaml", 4)),
        Command("cluster", None, Origin("seamless.yaml", 5)),
    )


def test_stage_blocks_cannot_hold_stage_or_substage_commands(project):
    project({"proj/seamless.yaml": "- substage: x\n"})
    with pytest.raises(ConfigurationError, match=r"^seamless.yaml:1: unknown command 'substage'"):
        load()


def test_empty_subproject_means_none(project, standard_clusters):
    """As in 0.3.2: ``- subproject: ""`` (and select_subproject("")) give the storage of no subproject."""
    from seamless_config import tools

    project({"proj/seamless.yaml": "- cluster: here\n- project: p\n- subproject: ''\n"})
    load()
    assert current() == ("here", "p", "", None, None)
    d = tools.configure_hashserver("rw")
    assert d["key"] == "hashserver-here-rw-p" and d["workdir"] == "/data/buffers/p"
    assert d["meta"]["subproject"] is None
    sel.select_subproject("")
    assert tools.configure_database("ro")["key"] == "database-here-ro-p"


def test_empty_project_is_refused_at_its_line(project):
    """0.3.2 would store at the storage root (docs/differences.md: an empty project name)."""
    project({"proj/seamless.yaml": "- project: x\n- project: ''\n"})
    with pytest.raises(ConfigurationError, match=r"seamless.yaml:2: invalid project name ''"):
        load()
    with pytest.raises(ValueError, match="invalid project name ''"):
        sel.select_project("")
