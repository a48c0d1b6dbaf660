"""The grid x seeds in its fixed order, key paths (list indices, patterns, names with dots)."""

from __future__ import annotations

import pytest

from ipsecsim.sweeps import grid, paths, spec
from tests.sweep.helpers import BASE


def test_points_are_the_grid_in_file_order_first_key_slowest_seeds_innermost() -> None:
    s = spec.load({"base": str(BASE),
                   "grid": {"links.wan-a.loss": [0, 0.1], "traffic.voice.size": [100, 200, 300]},
                   "seeds": [7, 8]})
    pts = grid.points(s)
    expected = [((loss, size), seed) for loss in (0, 0.1) for size in (100, 200, 300)
                for seed in (7, 8)]
    assert [(p.values, p.seed) for p in pts] == expected
    assert [p.index for p in pts] == list(range(12))
    assert [p.combo for p in pts] == [i // 2 for i in range(12)]
    # the keys in the other order: the other order of points
    t = spec.load({"base": str(BASE),
                   "grid": {"traffic.voice.size": [100, 200, 300], "links.wan-a.loss": [0, 0.1]},
                   "seeds": [7, 8]})
    assert [(p.values, p.seed) for p in grid.points(t)] == [
        ((size, loss), seed) for size in (100, 200, 300) for loss in (0, 0.1) for seed in (7, 8)]


def test_seeds_default_to_the_base_topologys_seed() -> None:
    s = spec.load({"base": str(BASE), "grid": {"links.wan-a.loss": [0]}})
    assert s.seeds == (1,)  # site-to-site.yaml: seed: 1
    assert s.name == "sweep"


def test_key_paths_walk_mappings_list_indices_and_patterns() -> None:
    base = spec.load({"base": str(BASE), "grid": {"duration": [1]}}).base
    assert paths.resolve(base, "nodes.gw-a.routes.0.via") == [("nodes", "gw-a", "routes", 0, "via")]
    assert paths.resolve(base, "nodes.gw-a.ipsec.connections.office-link.proposals.0") == [
        ("nodes", "gw-a", "ipsec", "connections", "office-link", "proposals", 0)]
    assert paths.resolve(base, "links.wan-*.mtu") == [("links", "wan-a", "mtu"),
                                                      ("links", "wan-b", "mtu")]
    # hosts and the router have no ipsec: the pattern passes over them
    assert paths.resolve(base, "nodes.*.ipsec.connections.office-link.children.lan-lan.mode") == [
        ("nodes", g, "ipsec", "connections", "office-link", "children", "lan-lan", "mode")
        for g in ("gw-a", "gw-b")]
    # a last key the base leaves out but the schema names: links.wan-a has no loss: in the file
    assert "loss" not in base["links"]["wan-a"]
    assert paths.resolve(base, "links.wan-a.loss") == [("links", "wan-a", "loss")]
    # ... or under the free-form swanctl tree (the validator judges the key once set)
    assert paths.resolve(base, "nodes.gw-a.ipsec.connections.office-link.rekey_time") == [
        ("nodes", "gw-a", "ipsec", "connections", "office-link", "rekey_time")]
    # names with dots in them (the schema allows gw.a as a node name)
    assert paths.resolve({"nodes": {"gw.a": {"x": 1}}}, "nodes.gw.a.x") == [("nodes", "gw.a", "x")]


@pytest.mark.parametrize(("key", "says"), [
    ("links.wan-c.loss", "links: no key 'wan-c'"),
    ("links.wan-a.los", "did you mean 'loss'?"),
    ("nodes.gw-a.routes.1.via", "no item 1; the list has 1"),
    ("nodes.gw-a.routes.first.via", "is a list of 1: give an index"),
    ("links.wan-a.delay.x", "is a value ('10ms')"),
    ("nodes.*.ipsec.connections.office-lnk.mode", "did you mean 'office-link'?"),
    ("links..mtu", "an empty segment"),
])
def test_a_bad_key_path_says_what_is_there(key: str, says: str) -> None:
    base = spec.load({"base": str(BASE), "grid": {"duration": [1]}}).base
    with pytest.raises(paths.PathError) as info:
        paths.resolve(base, key)
    assert says in str(info.value)


def test_a_points_topology_has_every_value_at_every_place_its_key_names() -> None:
    s = spec.load({"base": str(BASE), "set": {"duration": 3},
                   "grid": {"links.wan-*.mtu": [1400],
                            "nodes.gw-a.ipsec.connections.office-link.proposals.0": ["default"],
                            "nodes.gw-a.routes.0.via": ["198.51.100.254"]}})
    (values,) = grid.combinations(s)
    topo = grid.topology(s, values)
    assert topo["duration"] == 3
    assert topo["links"]["wan-a"]["mtu"] == topo["links"]["wan-b"]["mtu"] == 1400
    assert topo["nodes"]["gw-a"]["ipsec"]["connections"]["office-link"]["proposals"] == ["default"]
    assert topo["nodes"]["gw-b"]["ipsec"]["connections"]["office-link"]["proposals"] == [
        "aes256gcm16-prfsha384-ecp384"]  # the other gateway keeps the base's
    assert s.base["links"]["wan-a"]["mtu"] == 1500  # the base itself is not changed
    grid.check(s)  # every point validates


def test_a_list_value_is_labelled_by_its_items() -> None:
    assert grid.label(["aes128gcm16", "aes256gcm16"]) == "aes128gcm16,aes256gcm16"
    assert grid.label(0.05) == 0.05
    assert grid.label({"p": 0.1, "r": 0.5}) == '{"p":0.1,"r":0.5}'
