"""Properties of every pure stage."""

from __future__ import annotations

import string
import tempfile

import attrs
import pytest
import strategies as S
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from returns.result import Failure, Success

from effects.parse_cache import ParseCache
from seamless_config.core import launch
from seamless_config.core.commands import Command, Document, StageBlock, parse_document
from seamless_config.core.errors import DEFAULT_ORIGIN, Origin
from seamless_config.core.layout import gather, parse_bytes
from seamless_config.core.resolve import resolve
from seamless_config.core.selection import (
    active_items,
    load,
    select_cluster,
    select_queue_unchecked,
)
from seamless_config.core.sources import DirFiles, Snapshot, SourceBytes
from seamless_config.core.yamltree import from_json, parse_yaml, to_json

remote_http_launcher = pytest.importorskip("remote_http_launcher")

settings.register_profile("default", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile("default")


def values(cmds):
    return [(c.name, c.value) for c in cmds]


# -- inheritance -----------------------------------------------------------------------------


@st.composite
def chains(draw):
    """A directory chain (leaf first) with per-level files, commands and inherit flags."""
    depth = draw(st.integers(min_value=1, max_value=5))
    levels = []
    for i in range(depth):
        path = "/r" + "".join(f"/d{j}" for j in range(depth - 1 - i))
        files = []
        for fname in ("seamless.yaml", "seamless.profile.yaml"):
            if draw(st.booleans()):
                cmds = draw(st.lists(S.commands("project"), max_size=3))
                flag = draw(st.booleans())
                pos = draw(st.integers(0, len(cmds)))
                files.append((f"{path}/{fname}", cmds, flag, pos))
            else:
                files.append(None)
        levels.append((path, files))
    return levels


def _text(cmds, flag, pos):
    lines = [S.command_yaml(c) for c in cmds]
    if flag:
        lines.insert(pos, "- inherit_from_parent")
    return ("\n".join(lines) + "\n") if lines else "[]\n"


@given(chains())
def test_inheritance_prepends_parents_in_order(levels):
    chain = []
    for path, files in levels:
        sbs = [None if f is None else SourceBytes(f[0], _text(f[1], f[2], f[3]).encode()) for f in files]
        chain.append(DirFiles(path, sbs[0], sbs[1]))
    snap = Snapshot(levels[0][0], tuple(chain))
    layout = gather(snap)
    assert layout.errors == ()
    docs = layout.documents
    # by hand: walk up while a level's files carry the flag, then concatenate root-first
    included = []
    for _path, files in levels:
        included.append(files)
        present = [f for f in files if f is not None]
        if not any(f[2] for f in present):
            break
    expected = []
    for files in reversed(included):
        for f in files:
            if f is not None:
                expected += [("project", c.value) for c in f[1]]
    assert values(active_items(docs, None)) == expected


@given(st.integers(min_value=1, max_value=6))
def test_n_level_chain_is_concatenation(n):
    chain = []
    for i in range(n):  # leaf first; all but the top level inherit
        path = "/r" + "".join(f"/d{j}" for j in range(n - 1 - i))
        text = f"- project: p{i}\n" + ("- inherit_from_parent\n" if i < n - 1 else "")
        prof = f"- subproject: s{i}\n"
        chain.append(DirFiles(path, SourceBytes(path + "/seamless.yaml", text.encode()),
                              SourceBytes(path + "/seamless.profile.yaml", prof.encode())))
    # a level above the top that must never be read
    chain.append(DirFiles("/", SourceBytes("/seamless.yaml", b"- project: never\n"), None))
    docs = gather(Snapshot(chain[0].directory, tuple(chain))).documents
    expected = []
    for i in reversed(range(n)):
        expected += [("project", f"p{i}"), ("subproject", f"s{i}")]
    assert values(active_items(docs, None)) == expected


# -- stage filtering -------------------------------------------------------------------------


def _hand_filter(items, stage):
    out = []
    for item in items:
        if isinstance(item, StageBlock):
            if item.stage == stage:
                out += _hand_filter(item.items, stage)
        else:
            out.append(item)
    return out


@given(st.lists(S.documents, max_size=3), st.none() | S.stages)
def test_stage_filtering_idempotent_and_equals_hand_filtering(docs, stage):
    once = active_items(docs, stage)
    assert once == [c for d in docs for c in _hand_filter(d.items, stage)]
    again = active_items([Document("/x", tuple(once), False)], stage)
    assert again == once
    assert all(isinstance(c, Command) for c in once)


@given(S.documents, S.stages)
def test_stage_filtering_equals_writing_the_active_commands_out(doc, stage):
    parsed = parse_document(doc.path, parse_yaml(doc.path, S.document_yaml(doc)).unwrap()).unwrap()
    flat = Document(doc.path, tuple(_hand_filter(doc.items, stage)), doc.inherits)
    flat_parsed = parse_document(doc.path, parse_yaml(doc.path, S.document_yaml(flat)).unwrap()).unwrap()
    assert values(active_items([parsed], stage)) == values(active_items([flat_parsed], stage))
    assert values(active_items([parsed], stage)) == values(_hand_filter(doc.items, stage))


# -- TEMPLATE expansion ----------------------------------------------------------------------


@given(
    st.sampled_from(["local", "slurm", "oar"]),
    S.queue_fields(),
    S.queue_fields(nulls=True),
    st.booleans(),
)
def test_template_expansion_equals_writing_fields_out(ctype, base, child, middle):
    flat = S.canonical(base)
    for k, v in S.canonical(child).items():
        if v is None:
            flat.pop(k, None)
        else:
            flat[k] = v
    fe = [{"hostname": "localhost"}]
    queues = {"base": base}
    if middle:  # an empty link in the chain changes nothing
        queues["mid"] = {"TEMPLATE": "base"}
        queues["child"] = {"TEMPLATE": "mid", **child}
    else:
        queues["child"] = {"TEMPLATE": "base", **child}
    templated, err_t = S.parse_cluster("c", {"type": ctype, "frontends": fe, "queues": queues})
    written, err_w = S.parse_cluster("c", {"type": ctype, "frontends": fe, "queues": {"base": base, "child": flat}})
    assert (templated is None) == (written is None), (err_t, err_w)
    if templated is not None:
        assert templated.queue("child").as_dict() == written.queue("child").as_dict()
        assert templated.queue("child").chain == (("mid", "base") if middle else ("base",))
        # the base queue itself is untouched by its child
        assert templated.queue("base").as_dict() == written.queue("base").as_dict()


@given(S.queue_definitions())
def test_parsed_queue_fields_are_canonical(q):
    from seamless_config.core.clusters import QUEUE_FIELDS

    assert all(k in QUEUE_FIELDS for k in q.fields)
    assert all(v is not None for v in q.fields.values())


# -- selection: queue reset on cluster change ------------------------------------------------


@given(S.selections, S.names, st.none() | S.names)
def test_queue_reset_on_cluster_change(sel, queue, new_cluster):
    sel = select_cluster(sel, sel.cluster, DEFAULT_ORIGIN)
    with_queue = select_queue_unchecked(sel, queue, DEFAULT_ORIGIN)
    after = select_cluster(with_queue, new_cluster, DEFAULT_ORIGIN)
    if new_cluster is not None and new_cluster == with_queue.cluster:
        assert after.queue == queue and after.effective_queue() == queue
    else:
        assert after.queue is None and after.effective_queue() is None
        assert after.source("queue") is None
    # nothing else moves
    for f in ("project", "subproject", "stage", "substage", "execution", "persistent", "record", "remote", "node", "nparallel"):
        assert getattr(after, f) == getattr(with_queue, f)
    assert after.cluster == new_cluster


@given(S.selections)
def test_selection_is_frozen_and_evolve_only(sel):
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        sel.cluster = "x"  # type: ignore[misc]


# -- launch dicts ----------------------------------------------------------------------------


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}


def _launch_dicts(cluster, scope, node, record, local):
    for service in ("hashserver", "database"):
        for mode in ("rw", "ro"):
            yield launch.storage_launch_dict(cluster, service, mode, scope, local=local)
    yield launch.jobserver_launch_dict(cluster, scope, record, local=local)
    queue = cluster.queue_names()[0] if cluster.queues else None
    yield launch.daskserver_launch_dict(cluster, scope, queue, node, record, local=local)
    yield launch.daskserver_launch_dict(cluster, None, queue, node, record, pure=True, local=local)


@given(S.clusters(wild=True), S.scopes, st.none() | S.names, st.booleans(), st.booleans())
@settings(max_examples=150)
def test_launch_dicts_accepted_by_remote_http_launcher(cluster, scope, node, record, local):
    Configuration = remote_http_launcher.Configuration
    produced = 0
    for result in _launch_dicts(cluster, scope, node, record, local):
        if isinstance(result, Failure):
            continue
        produced += 1
        ld = result.unwrap()
        d = ld.as_dict()
        cfg = Configuration.from_mapping(d)  # raises LauncherError when the launcher refuses it
        # the key is literal and the command's only placeholder is {status_file}
        assert _placeholders(d["key"]) == set()
        assert "{" not in d["key"] and "}" not in d["key"]
        assert _placeholders(d["command"]) == {"status_file"}
        assert cfg.key == ld.key == d["key"]
        ns = dict(cfg.namespace, status_file="/state/STATUS.json")
        evaluated = remote_http_launcher._evaluate_template(cfg.command_template, ns)
        assert evaluated == d["command"].replace("{status_file}", "/state/STATUS.json")
        assert "\n" not in evaluated
        assert d["meta"]["cluster"] == cluster.name
    assume(produced)


@given(S.clusters(), S.scopes)
def test_storage_keys_follow_the_documented_shape(cluster, scope):
    for service in ("hashserver", "database"):
        r = launch.storage_launch_dict(cluster, service, "ro", scope)
        if isinstance(r, Success):
            d = r.unwrap().as_dict()
            suffix = scope.storage_path().strip("/").replace("/", "--")
            assert d["key"] == f"{service}-{cluster.name}-ro-{suffix}"
            assert d["workdir"].endswith(scope.storage_path())


# -- YAML trees ------------------------------------------------------------------------------


@given(S.trees)
def test_yamltree_json_round_trip(tree):
    assert from_json(to_json(tree)) == tree


@given(S.documents)
def test_yamltree_json_round_trip_of_parsed_text(doc):
    tree = parse_yaml(doc.path, S.document_yaml(doc)).unwrap()
    assert from_json(to_json(tree)) == tree
    import json

    assert from_json(json.loads(json.dumps(to_json(tree)))) == tree


def test_round_trip_of_none():
    assert from_json(to_json(None)) is None


# -- resolution ------------------------------------------------------------------------------


@st.composite
def snapshots(draw):
    cdefs = draw(st.dictionaries(S.names, S.cluster_definitions(), max_size=2))
    cluster_text = S.to_yaml(cdefs) if cdefs else ""
    doc = draw(S.documents)
    if cdefs and draw(st.booleans()):
        doc = attrs.evolve(doc, items=(Command("cluster", draw(st.sampled_from(sorted(cdefs))), Origin("x")),) + doc.items)
    project = SourceBytes("/p/seamless.yaml", S.document_yaml(doc).encode())
    broken = draw(st.sampled_from([None, b"- projct: x\n", b"- [\n", b"- project: a b\n"]))
    profile = SourceBytes("/p/seamless.profile.yaml", broken) if broken else None
    files = (SourceBytes("/h/.seamless/clusters.yaml", cluster_text.encode()),) if cluster_text else ()
    return Snapshot("/p", (DirFiles("/p", project, profile),), files)


@given(snapshots(), S.selections)
@settings(max_examples=40)
def test_resolution_is_deterministic(snap, sel):
    a = resolve(snap, sel)
    b = resolve(snap, sel)
    assert type(a) is type(b)
    if isinstance(a, Success):
        assert a.unwrap() == b.unwrap()
    else:
        assert str(a.failure()) == str(b.failure())


@given(snapshots(), S.selections)
@settings(max_examples=40)
def test_failed_resolution_leaves_selection_alone(snap, sel):
    r = resolve(snap, sel)
    if isinstance(r, Success):
        assert r.unwrap().selection.stage == sel.stage
    else:
        assert str(r.failure())  # renders; the input selection is a frozen value
    assert sel == attrs.evolve(sel)


@given(st.lists(S.documents, max_size=3), S.selections)
def test_load_never_touches_stage(docs, sel):
    r = load(sel, docs, ())
    if isinstance(r, Success):
        assert (r.unwrap().selection.stage, r.unwrap().selection.substage) == (sel.stage, sel.substage)


# -- parse cache -----------------------------------------------------------------------------

yaml_texts = st.one_of(
    S.documents.map(S.document_yaml),
    st.text(alphabet="- :[]{}ab\n#&*!'\"", max_size=30),
    st.sampled_from(["", "# only a comment\n", "- a: 1\n  a: 2\n", "\xff"]),
)


@given(yaml_texts)
@settings(max_examples=60)
def test_parse_cache_equals_direct_parse(text):
    data = text.encode("utf-8", "surrogateescape") if text != "\xff" else b"\xff"
    direct = parse_bytes("/p/seamless.yaml", data)
    with tempfile.TemporaryDirectory() as d:
        first = ParseCache(d).parse("/p/seamless.yaml", data, parse_bytes)
        second = ParseCache(d).parse("/p/seamless.yaml", data, parse_bytes)  # from disk when valid
        for r in (first, second):
            assert type(r) is type(direct)
            if isinstance(direct, Success):
                assert r.unwrap() == direct.unwrap()
            else:
                assert str(r.failure()) == str(direct.failure())
