"""The selection API: manual vs file values, sticky vs reset-on-reload, queue reset, get_current, SEAMLESS_CACHE."""

from __future__ import annotations

from pathlib import Path

import pytest

import seamless_config
from seamless_config import ConfigurationError, config_files, tools
from seamless_config import select as sel
from seamless_config.cluster import get_cluster


def load():
    config_files.load_config_files()


def rewrite(text):
    Path("seamless.yaml").write_text(text)


def test_module_constants():
    assert sel.PROJECT_TOPLEVEL == config_files.PROJECT_TOPLEVEL == "__TOPLEVEL__"
    assert sel.EXECUTION_MODES == ("process", "spawn", "remote")
    assert sel.REMOTE_TARGETS == (None, "daskserver", "jobserver")
    assert config_files.CONFIG_FILENAMES == ("seamless.yaml", "seamless.profile.yaml")
    assert config_files.INHERIT_COMMAND == "inherit_from_parent"
    assert config_files.SEAMLESS_CACHE_CLUSTER == "__SEAMLESS_CACHE__"
    assert issubclass(ConfigurationError, RuntimeError)
    for name in ("init", "set_stage", "set_substage", "set_workdir", "collect_remote_clients", "set_remote_clients",
                 "select_record", "set_nparallel", "get_nparallel"):
        assert name in seamless_config.__all__


def test_initial_state():
    assert (sel.get_selected_cluster(), sel.get_selected_project(), sel.get_stage()) == (None, None, None)
    assert sel.get_execution() == "process"
    assert sel.get_persistent() is False and sel.get_persistent("there") is True
    assert (sel.get_queue(), sel.get_remote(), sel.get_record(), sel.get_node()) == (None, None, False, None)
    assert not sel.execution_was_set_explicitly() and not sel.persistent_was_set_explicitly()


def test_get_current_errors():
    with pytest.raises(ConfigurationError) as exc:
        sel.get_current()
    assert str(exc.value) == "No cluster defined"
    sel.select_cluster("here")
    with pytest.raises(ConfigurationError) as exc:
        sel.get_current()
    assert str(exc.value) == "No project defined"
    # the cluster is checked first
    sel.select_cluster(None)
    with pytest.raises(ConfigurationError, match="^No cluster defined$"):
        sel.get_current(project="p")


def test_get_current_overrides():
    sel.select_cluster("here")
    sel.select_project("p")
    assert sel.get_current() == ("here", "p", None, None, None)
    assert sel.get_current("there", "P2", "S2", "ST2", "SS2") == ("there", "P2", "S2", "ST2", "SS2")
    sel.select_project(sel.PROJECT_TOPLEVEL)
    assert sel.get_current() == ("here", "__TOPLEVEL__", None, None, None)


def test_get_nparallel_unset():
    with pytest.raises(ConfigurationError) as exc:
        sel.get_nparallel()
    assert str(exc.value) == (
        "nparallel is not set. Add 'nparallel: <N>' to seamless.profile.yaml or call seamless_config.set_nparallel(N).")
    seamless_config.set_nparallel(3)
    assert sel.get_nparallel() == seamless_config.get_nparallel() == 3


@pytest.mark.parametrize("bad", [0, -1, None, "3", 2.0, True, False])
def test_nparallel_must_be_positive_int(bad):
    with pytest.raises(ConfigurationError, match=r"^nparallel must be a positive integer"):
        seamless_config.set_nparallel(bad)


@pytest.mark.parametrize("fn,bad,message", [
    ("select_execution", "bogus", "execution must be one of: process, spawn, remote"),
    ("select_remote", "JOBSERVER", "remote must be one of: None, daskserver, jobserver"),
    ("select_persistent", 1, "persistent must be a boolean"),
    ("select_record", "true", "record must be a boolean"),
    ("select_node", 5, "node must be a string or null"),
])
def test_api_value_errors(fn, bad, message):
    with pytest.raises(ConfigurationError) as exc:
        getattr(sel, fn)(bad)
    assert str(exc.value).startswith(message)


def test_select_queue_errors(standard_clusters, project):
    project({})
    with pytest.raises(ConfigurationError, match="^cannot select a queue without selecting a cluster first"):
        sel.select_queue("q1")
    sel.select_cluster("here")
    # as in 0.3.2, nothing is read before the first load: no cluster is known yet
    with pytest.raises(ValueError, match="^unknown cluster 'here'"):
        sel.select_queue("q1")
    load()
    with pytest.raises(ConfigurationError, match="^cluster 'here' has no queues"):
        sel.select_queue("q1")
    sel.select_cluster("there")
    with pytest.raises(ConfigurationError, match="^cluster 'there' has no queue 'q9'"):
        sel.select_queue("q9")
    sel.select_cluster("nowhere")
    with pytest.raises(ConfigurationError, match="^unknown cluster 'nowhere'"):
        sel.select_queue("q1")
    with pytest.raises(ConfigurationError, match="^queue must be a string"):
        sel.select_queue(None)


def test_execution_default_is_dynamic():
    sel.select_cluster("zzz")
    assert sel.get_execution() == "remote"
    sel.select_cluster(None)
    assert sel.get_execution() == "process"
    sel.select_execution("spawn", source=None)
    sel.select_cluster("zzz")
    assert sel.get_execution() == "remote"  # source None: not explicit
    assert not sel.execution_was_set_explicitly()


# -- manual vs file --------------------------------------------------------------------------


def test_manual_survives_load_without_command(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n"})
    sel.select_execution("process")
    sel.select_persistent(False)
    sel.select_record(True)
    sel.select_remote("jobserver")
    sel.select_node("n1")
    sel.select_project("m")
    load()
    assert sel.get_execution() == "process"  # manual beats the 'remote' default
    assert sel.get_persistent() is False
    assert (sel.get_record(), sel.get_remote(), sel.get_node(), sel.get_selected_project()) == (True, "jobserver", "n1", "m")


def test_file_command_beats_manual(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n- project: f\n- execution: spawn\n- record: true\n- node: fn\n"})
    sel.select_execution("process")
    sel.select_record(False)
    sel.select_node("mn")
    sel.select_project("m")
    sel.select_cluster("here")
    load()
    assert (sel.get_execution(), sel.get_record(), sel.get_node(), sel.get_selected_project(), sel.get_selected_cluster()) == (
        "spawn", True, "fn", "f", "there")


def test_load_api_reload_file_wins_again(project):
    project({"proj/seamless.yaml": "- execution: spawn\n"})
    load()
    sel.select_execution("remote")
    assert sel.get_execution() == "remote"
    load()
    assert sel.get_execution() == "spawn"


def test_removed_command_resets_tracked_setting_to_default(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n- project: p\n- subproject: s\n- nparallel: 3\n"
                                   "- execution: process\n- persistent: false\n- record: true\n"
                                   "- queue: q2\n- remote: jobserver\n- node: n1\n"})
    load()
    rewrite("[]\n")
    load()
    # set by the files: gone with the command (0.3.2 kept them; docs/differences.md)
    assert (sel.get_selected_cluster(), sel.get_selected_project()) == (None, None)
    with pytest.raises(ConfigurationError, match="nparallel is not set"):
        sel.get_nparallel()
    # tracked: back to defaults, not to anything manual (without a cluster: process, not persistent)
    assert sel.get_execution() == "process" and sel.get_persistent() is False
    assert (sel.get_record(), sel.get_queue(), sel.get_remote(), sel.get_node()) == (False, None, None, None)
    assert not sel.execution_was_set_explicitly()


def test_manual_value_overridden_by_file_is_gone_when_command_disappears(project):
    project({"proj/seamless.yaml": "- record: true\n"})
    sel.select_record(False)
    load()
    assert sel.get_record() is True
    rewrite("[]\n")
    load()
    assert sel.get_record() is False  # the default, not the manual value


def test_source_command_is_reset_by_load_other_sources_are_not(project):
    project({})
    sel.select_remote("jobserver", source="command")
    sel.select_node("n1", source="profile")
    assert sel.execution_command_seen() is False
    sel.select_execution("spawn", source="command")
    assert sel.execution_command_seen() is True
    load()
    assert (sel.get_remote(), sel.get_node(), sel.get_execution()) == (None, "n1", "process")


def test_reset_functions(project):
    sel.select_record(True, source="command")
    sel.select_node("n1")
    sel.reset_record_before_load()
    sel.reset_node_before_load()
    assert sel.get_record() is False and sel.get_node() == "n1"


# -- queue reset -----------------------------------------------------------------------------


def test_queue_reset_on_cluster_change(project, standard_clusters):
    project({})
    load()
    sel.select_cluster("there")
    sel.select_queue("q2")
    sel.select_cluster("there")
    assert sel.get_queue() == "q2"
    assert sel.get_queue("here") is None
    sel.select_cluster("here")
    assert sel.get_queue() is None
    sel.select_cluster("there")
    assert sel.get_queue() is None  # not restored


@pytest.mark.parametrize("text,expected", [
    ("- cluster: there\n- queue: q2\n- cluster: here\n", None),
    ("- cluster: there\n- queue: q2\n- cluster: there\n", "q2"),
    ("- cluster: there\n- queue: q2\n- cluster\n- cluster: there\n", None),
])
def test_queue_reset_inside_files(project, standard_clusters, text, expected):
    project({"proj/seamless.yaml": text})
    load()
    assert sel.get_queue("there") == expected


def test_manual_queue_survives_reload_on_same_cluster(project, standard_clusters):
    project({"proj/seamless.yaml": "- cluster: there\n"})
    load()
    sel.select_queue("q2")
    load()
    assert sel.get_queue() == "q2"
    rewrite("- cluster: here\n")
    load()
    assert sel.get_queue() is None


def test_select_cluster_touches_nothing_else():
    sel.select_node("n1")
    sel.select_remote("daskserver")
    sel.select_record(True)
    sel.select_project("p")
    sel.select_cluster("c")
    assert (sel.get_node(), sel.get_remote(), sel.get_record(), sel.get_selected_project()) == ("n1", "daskserver", True, "p")


# -- check_remote_redundancy -----------------------------------------------------------------


def test_check_remote_redundancy(project, write_clusters):
    write_clusters("""\
both:
  frontends:
  - hostname: localhost
    jobserver: {conda: e, network_interface: 127.0.0.1, port_start: 1, port_end: 2}
    daskserver: {network_interface: 127.0.0.1, port_start: 3, port_end: 4}
job:
  frontends:
  - hostname: localhost
    jobserver: {conda: e, network_interface: 127.0.0.1, port_start: 1, port_end: 2}
none:
  frontends: []
""")
    project({})
    load()
    assert sel.check_remote_redundancy("job") == "jobserver"
    assert sel.check_remote_redundancy("none") is None
    with pytest.raises(ConfigurationError, match="offers both a jobserver and a daskserver"):
        sel.check_remote_redundancy("both")
    sel.select_remote("daskserver")
    assert sel.check_remote_redundancy("both") == "daskserver"


# -- SEAMLESS_CACHE --------------------------------------------------------------------------


def test_seamless_cache_mode(project, standard_clusters, monkeypatch, tmp_path):
    project({"proj/seamless.yaml": "- cluster: there\n- project: p\n", "proj/seamless.profile.yaml": "- projct: broken\n"})
    monkeypatch.setenv("SEAMLESS_CACHE", str(tmp_path / "cache"))
    sel.select_execution("spawn")
    sel.select_persistent(False)
    load()  # no project file and no cluster file is read: the broken profile does not matter
    assert sel.get_current() == ("__SEAMLESS_CACHE__", "__TOPLEVEL__", None, None, None)
    assert sel.get_execution() == "process" and sel.get_persistent() is True
    c = get_cluster("__SEAMLESS_CACHE__")
    assert (c.type, c.tunnel, c.workers, c.queues, c.default_queue) == ("local", False, None, None, None)
    fe = c.frontends[0]
    assert fe.hostname == "localhost" and fe.hashserver.bufferdir == fe.database.database_dir == str(tmp_path / "cache")
    with pytest.raises(ConfigurationError):
        get_cluster("there")
    d = tools.configure_hashserver("rw")
    assert d["workdir"] == str(tmp_path / "cache" / "__TOPLEVEL__")
    assert d["key"] == "hashserver-__SEAMLESS_CACHE__-rw-__TOPLEVEL__"
    assert "hostname" not in d and "tunnel" not in d
    with pytest.raises(ConfigurationError, match="No frontend of cluster '__SEAMLESS_CACHE__' can support a jobserver"):
        tools.configure_jobserver()


def test_seamless_cache_keeps_a_manual_project(project, monkeypatch, tmp_path):
    project({})
    monkeypatch.setenv("SEAMLESS_CACHE", str(tmp_path))
    sel.select_project("m")
    load()
    assert sel.get_current()[:2] == ("__SEAMLESS_CACHE__", "m")


@pytest.mark.parametrize("value,expected", [("", None), ("   ", None), ("~/cache", "{home}/cache"), ("rel", "{cwd}/rel")])
def test_get_seamless_cache(home, monkeypatch, tmp_path, value, expected):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEAMLESS_CACHE", value)
    want = None if expected is None else expected.format(home=home, cwd=tmp_path)
    assert seamless_config.get_seamless_cache() == want


def test_get_seamless_cache_unset(home):
    assert seamless_config.get_seamless_cache() is None




def test_set_stage_activates_again_when_only_the_substage_changes(project, monkeypatch):
    """docs/differences.md: 0.3.2 activates nothing when set_stage()/set_substage() keep the stage; here each
    call activates its selection (a substage has its own jobserver/daskserver keys)."""
    from seamless_config import session

    project({"proj/seamless.yaml": "- project: p\n- execution: process\n"})
    calls = []
    monkeypatch.setattr(session, "activate", lambda: calls.append(seamless_config.select.get_substage()))
    seamless_config.init()
    seamless_config.set_stage("s", "a")
    seamless_config.set_substage("b")
    seamless_config.set_stage("s", "b")
    assert calls == [None, "a", "b", "b"]
