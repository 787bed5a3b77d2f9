"""The warm lane of ``seamless-init`` (effects.warm): its key covers every input of a resolution,
and it reuses services only as the launcher's first step would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from _http import http_server as serve

from effects import statefiles, warm
from seamless_config.core.clients import storage_clients


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    home, top = tmp_path / "home", tmp_path / "top"
    proj = top / "proj"
    (home / ".seamless" / "clusters").mkdir(parents=True)
    proj.mkdir(parents=True)
    (proj / "seamless.yaml").write_text("- project: p\n- inherit_from_parent\n")
    (top / "seamless.yaml").write_text("- cluster: lab\n")
    (home / ".seamless" / "clusters.yaml").write_text("lab:\n  type: local\n")
    monkeypatch.setenv("SEAMLESS_CONFIG_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("REMOTE_HTTP_LAUNCHER_DIR", str(tmp_path / "rhl"))
    monkeypatch.delenv("SEAMLESS_CACHE", raising=False)
    return {"home": home, "top": top, "proj": proj}


def key(layout: dict[str, Path], stage: str | None = None, substage: str | None = None) -> str:
    return warm.memo_key(str(layout["proj"]), stage, substage, home=str(layout["home"]))


CHANGES = {
    "project file edited": lambda L: (L["proj"] / "seamless.yaml").write_text("- project: q\n- inherit_from_parent\n"),
    "profile added": lambda L: (L["proj"] / "seamless.profile.yaml").write_text("- execution: spawn\n"),
    "parent file edited": lambda L: (L["top"] / "seamless.yaml").write_text("- cluster: other\n"),
    "grandparent file added": lambda L: (L["top"].parent / "seamless.profile.yaml").write_text("- project: x\n"),
    "home clusters edited": lambda L: (L["home"] / ".seamless" / "clusters.yaml").write_text("lab:\n  type: slurm\n"),
    "home cluster file added": lambda L: (L["home"] / ".seamless" / "clusters" / "more.yaml").write_text("x:\n  type: local\n"),
    "home clusters removed": lambda L: (L["home"] / ".seamless" / "clusters.yaml").unlink(),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_any_input_change_is_a_new_key(layout: dict[str, Path], change: str) -> None:
    before = key(layout)
    assert key(layout) == before, "same inputs, same key"
    CHANGES[change](layout)
    assert key(layout) != before


def test_stage_substage_and_seamless_cache_are_in_the_key(layout: dict[str, Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    keys = {key(layout), key(layout, "prod"), key(layout, "prod", "gpu"), key(layout, "test")}
    monkeypatch.setenv("SEAMLESS_CACHE", "/somewhere")
    keys.add(key(layout))
    assert len(keys) == 5


def test_a_relative_seamless_cache_is_keyed_as_the_directory_it_names(
        layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """init() reads the project of its caller's directory, whatever the current one: a relative
    SEAMLESS_CACHE names another directory from another current directory, so another key."""
    monkeypatch.setenv("SEAMLESS_CACHE", "cache")
    monkeypatch.chdir(layout["proj"])
    here = key(layout)
    monkeypatch.chdir(layout["top"])
    from_top = key(layout)
    assert from_top != here
    monkeypatch.setenv("SEAMLESS_CACHE", str(layout["top"] / "cache"))
    assert key(layout) == from_top, "the directory it names, written absolute: the same key"
    monkeypatch.setenv("SEAMLESS_CACHE", "  ")
    blank = key(layout)
    monkeypatch.delenv("SEAMLESS_CACHE")
    assert key(layout) == blank, "a blank SEAMLESS_CACHE is none"


def test_caching_off_means_no_lane(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEAMLESS_CONFIG_CACHE", "off")
    assert warm.memo_dir() is None
    assert warm.reuse_all("0" * 64) is None


@pytest.fixture
def server() -> Iterator[int]:
    with serve({"/healthcheck": 200}) as (port, _seen):
        yield port


def memo_entry(role: str, key: str, parameters: dict | None = None) -> dict:
    return {"role": role, "key": key, "host": "localhost", "port_field": "port", "check_path": "healthcheck",
            "parameters": parameters,
            "facts": {"role": role, "readonly": False, "launch_hostname": "127.0.0.1", "workdir": f"/data/{key}",
                      "ssh_host": None}}


def write_client(key: str, port: int, **extra: object) -> None:
    """A client file as the launcher writes it (with the service's storage, ``workdir``)."""
    statefiles.write_json_atomic(statefiles.client_json(key),
                                 {"hostname": "127.0.0.1", "port": port, "workdir": f"/data/{key}", **extra})


def test_reuse_all_checks_every_service_like_the_launcher(layout: dict[str, Path], server: int) -> None:
    k = key(layout)
    services = [memo_entry("hashserver", "h"), memo_entry("database", "d"), memo_entry("jobserver", "j", {"record": False})]
    assert warm.reuse_all(k) is None, "no memo yet"
    warm.store(k, services)
    write_client("h", server)
    write_client("d", server)
    facts = [{**s["facts"], "hostname": "127.0.0.1", "port": server, "client": {"hostname": "127.0.0.1", "port": server}}
             for s in services[:2]]
    wanted = {"record": False, **storage_clients(facts)}
    write_client("j", server, parameters=wanted)
    rows = warm.reuse_all(k)
    assert rows is not None
    assert [(r["role"], r["key"], r["port"]) for r in rows] == [("hashserver", "h", server), ("database", "d", server),
                                                                ("jobserver", "j", server)]
    # the jobserver was started for other storage clients (a relaunched hashserver): not reused
    write_client("j", server, parameters={**wanted, "buffer": []})
    assert warm.reuse_all(k) is None
    write_client("j", server, parameters=wanted)
    # a service that serves other storage (bufferdir changed since): not reused
    write_client("h", server, workdir="/data/elsewhere")
    assert warm.reuse_all(k) is None
    write_client("h", server)
    assert warm.reuse_all(k) is not None
    # a client file marked stale (the service was stopped), or missing
    write_client("d", server, status="stale")
    assert warm.reuse_all(k) is None
    statefiles.client_json("d").unlink()
    assert warm.reuse_all(k) is None


def test_service_that_does_not_answer_is_not_reused(layout: dict[str, Path], server: int) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    k = key(layout)
    warm.store(k, [memo_entry("hashserver", "h")])
    write_client("h", dead)
    assert warm.reuse_all(k) is None
    write_client("h", server)
    assert warm.reuse_all(k) is not None


@pytest.mark.parametrize("content", ["not json", "[]", '{"services": 3}', '{"services": [{"role": "x"}]}'])
@pytest.mark.parametrize("sealed", [False, True])
def test_corrupt_memo_means_full_path(layout: dict[str, Path], content: str, sealed: bool) -> None:
    """A memo not as this version writes it (edited: its seal no longer matches; or sealed but of
    the wrong shape) is no memo."""
    k = key(layout)
    warm.store(k, [])
    path = Path(warm.memo_dir() or "") / k[:2] / (k[2:] + ".json")
    if sealed:
        statefiles.write_sealed(path, content)
    else:
        path.write_text(content)
    assert warm.reuse_all(k) is None


def test_memo_is_written_whole(layout: dict[str, Path]) -> None:
    k = key(layout)
    warm.store(k, [memo_entry("hashserver", "h")])
    path = Path(warm.memo_dir() or "") / k[:2] / (k[2:] + ".json")
    seal, text = path.read_text().split("\n", 1)  # a hash of the memo, then the memo
    assert json.loads(text)["services"][0]["key"] == "h" and len(seal) == 64
    assert [p.name for p in path.parent.iterdir()] == [path.name], "no temporary file left behind"


def test_session_key_covers_the_api_choices_and_the_services_switched_off(
        layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm init() reuses the memo of the session's plan: what the API chose after the files were
    read, and the services the runtime switched off, make other plans, so other keys."""
    from seamless_config import session as S
    from seamless_config.core.errors import Origin
    from seamless_config.core.selection import select_cluster, with_stage

    monkeypatch.setenv("HOME", str(layout["home"]))
    (layout["home"] / ".seamless" / "clusters.yaml").write_text("lab:\n  type: local\n  frontends:\n"
                                                               "    - hostname: localhost\n")
    s = S.Session()
    monkeypatch.setattr(S, "SESSION", s)
    s.workdir = str(layout["proj"])
    s.load()
    base = S._memo_key()
    assert base is not None and S._memo_key() == base, "same session, same key"
    loaded = s.selection
    s.update(select_cluster(loaded, "other", Origin("(set by select_cluster())")))
    assert S._memo_key() not in (None, base)
    s.update(with_stage(loaded, "prod", None, Origin("(set by set_stage())")))
    assert S._memo_key() not in (None, base)
    s.update(loaded)
    assert S._memo_key() == base
    monkeypatch.setattr(S, "disabled_services", lambda: frozenset({"database"}))
    assert S._memo_key() not in (None, base)
    monkeypatch.setenv("SEAMLESS_CONFIG_CACHE", "off")
    assert S._memo_key() is None


@pytest.mark.parametrize("code", [200, 503])
def test_a_warm_init_connects_early_and_undoes_it_when_a_service_fails(
        layout: dict[str, Path], monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """The first init() of a process connects the runtime while the health answers are on their
    way. A service that then answers with a server error is not reused: the connection is undone
    before the launcher takes over, and the runtime is connected again to what it brought up."""
    from effects import launcher, runtime
    from effects.outcomes import Outcome
    from seamless_config import session as S

    monkeypatch.setenv("HOME", str(layout["home"]))
    (layout["home"] / ".seamless" / "clusters.yaml").write_text(
        "lab:\n  type: local\n  frontends:\n    - hostname: localhost\n"
        "      hashserver: {bufferdir: /data/buffers}\n      database: {database_dir: /data/db}\n")
    s = S.Session()
    monkeypatch.setattr(S, "SESSION", s)
    s.workdir = str(layout["proj"])
    s.load()
    calls: list[tuple[str, object]] = []
    monkeypatch.setattr(runtime, "activate", lambda act, outcomes, clients: calls.append(
        ("activate", [(o.role, o.state) for o in outcomes])))
    monkeypatch.setattr(runtime, "deactivate", lambda: calls.append(("deactivate", None)))
    monkeypatch.setattr(launcher, "bring_up", lambda services, *a, **k: [
        Outcome(sp.role, sp.key, "localhost", "launched", "127.0.0.1", 1, {}, 0.1) for sp in services])
    key = S._memo_key()
    assert key is not None
    activation = {"cluster": "lab", "roles": ["hashserver"], "persistent": True, "spawn_workers": None,
                  "dask_client": None}
    warm.store(key, [memo_entry("hashserver", "h")], activation)
    with serve({"/healthcheck": code}) as (port, _seen):
        write_client("h", port)
        outcomes = S.bring_up()
    if code == 200:
        assert calls == [("activate", [("hashserver", "reused")])], "connected once, while the answer came"
        assert [o.state for o in outcomes] == ["reused"]
    else:
        assert calls[:2] == [("activate", [("hashserver", "reused")]), ("deactivate", None)], calls
        assert calls[2:] == [("activate", [("hashserver", "launched"), ("database", "launched")])], calls
        assert [o.state for o in outcomes] == ["launched", "launched"]
