"""Every record a run writes has its kind's layout (trace.SCHEMA + trace.TYPES).

The per-packet kinds are appended as raw tuples by one writer each (trace.RAW; a call per
record costs the ESP path ~3,900 instructions per packet), so nothing but this test holds them
to the schema: a set of runs that between them write every kind still written, each record
checked by :func:`ipsecsim.trace.check`, and a scan of the source for raw appends outside the
writers :data:`~ipsecsim.trace.RAW` names.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ipsecsim.sim.runner import Simulation
from ipsecsim.trace import RAW, SCHEMA, TYPES, HeaderPatch, Trace, check
from tests.helpers.sim_topos import manual_site_to_site, plain_chain

ROOT = Path(__file__).resolve().parents[2]
LEGACY = {"link_rx", "forward"}  # kept in SCHEMA to read older traces, no longer written


def test_types_give_one_type_per_schema_field():
    assert set(TYPES) == set(SCHEMA)
    for kind, names in SCHEMA.items():
        assert len(TYPES[kind]) == len(names), kind
    assert set(RAW) <= set(SCHEMA) - LEGACY


@pytest.mark.parametrize("rec, why", [
    ((1, 0.5, "drop", "gw", 3, "no_sa"), "has 2 fields, not 3"),
    ((1, 0.5, "drop", "gw", 3, "no_sa", "", "x"), "has 4 fields"),
    ((1, 0.5, "drop", "gw", "3", "no_sa", ""), "drop.pkt_id is str"),
    ((1, 0.5, "drop", "gw", True, "no_sa", ""), "drop.pkt_id is bool"),
    ((1, "0.5", "drop", "gw", 3, "no_sa", ""), "drop.time is str"),
    ((1, 0.5, "dorp", "gw", 3, "no_sa", ""), "unknown kind 'dorp'"),
    ((1, 0.5, "link_tx", "a", "l", 1, "a", "b", 20, bytearray(20), 1.0), "link_tx.data is bytearray"),
    ([1, 0.5, "note", "n", "text"], "not a record"),
])
def test_check_names_what_is_wrong(rec, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        check(rec)


def test_check_accepts_the_shapes_writers_use():
    check((1, 0, "link_tx", "a", "l", 1, "a", "b", 20, HeaderPatch(bytes(20), bytes(20)), None))
    check((2, 0.5, "ike_msg", "gw", "out", "1.2.3.4:500", "IKE_SA_INIT", 0, False, "SA KE No",
           "00ff", "0000", 300, 0))
    check((3, 1.5, "sa", "gw", "installed", "esp", 0x1000, "in", "1.2.3.4", "c", None, "tunnel"))


def _runs() -> list[tuple[str, Simulation]]:
    lossy = manual_site_to_site(traffic={
        "u": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "count": 40, "rate": 100, "size": 1400}})
    lossy["links"]["wan-b"]["loss"] = 0.2
    frag = plain_chain({
        "frag": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "count": 2, "size": 1400},
        "df": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "count": 2, "size": 1400, "df": True},
        "ping": {"type": "ping", "from": "h1", "to": "10.0.2.10", "count": 2}}, mtu=1000)
    bulk = manual_site_to_site(duration=2, traffic={
        "bulk": {"type": "bulk", "from": "host-a", "to": "10.2.0.10", "count": 50, "window": 8}})
    return [
        ("nat-traversal", Simulation.from_file(ROOT / "topologies" / "nat-traversal.yaml").run(3)),
        ("road-warriors", Simulation.from_file(ROOT / "topologies" / "road-warriors.yaml").run(3)),
        ("attackers", Simulation.from_file(ROOT / "topologies" / "attacks.yaml").run(5)),
        ("lossy tunnel", Simulation.from_dict(lossy).run()),
        ("fragments and PMTU", Simulation.from_dict(frag).run()),
        ("bulk", Simulation.from_dict(bulk).run()),
        ("no bytes kept", Simulation.from_dict(manual_site_to_site(), trace=Trace(True, False)).run()),
    ]


def test_every_record_of_the_runs_has_its_kinds_layout():
    seen: dict[str, set[type]] = {}
    for name, sim in _runs():
        for rec in sim.trace.records:
            try:
                check(rec)
            except ValueError as exc:
                pytest.fail(f"{name}: {exc}")
            if rec[2] == "link_tx":
                seen.setdefault("link_tx data", set()).add(type(rec[9]))
                seen.setdefault("link_tx arrive", set()).add(type(rec[10]))
            seen.setdefault(rec[2], set())
    assert set(seen) - {"link_tx data", "link_tx arrive"} == set(SCHEMA) - LEGACY  # every kind written
    assert seen["link_tx data"] == {bytes, HeaderPatch, type(None)}
    assert seen["link_tx arrive"] == {float, type(None)}


# what a raw append looks like: a tuple whose first element is the next sequence number
RAW_APPEND = re.compile(r"\(\(next\([^)]*\),\s*[\w.]+,\s*(?:\"(\w+)\"|(\w+))")


def test_only_the_writers_trace_raw_names_append_raw_records():
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "ipsecsim").rglob("*.py")):
        if path.name == "trace.py":
            continue
        text = path.read_text()
        for m in RAW_APPEND.finditer(text):
            found.setdefault(str(path.relative_to(ROOT)), set()).add(m.group(1) or m.group(2))
    writers = {w.split(" ")[0] for w in RAW.values()}
    assert set(found) == writers
    literal = {k for kinds in found.values() for k in kinds if k in SCHEMA}
    assert literal == {k for k, w in RAW.items() if k in literal}
    assert {k for kinds in found.values() for k in kinds} - set(SCHEMA) == {"kind"}  # gateway's
    for kind, writer in RAW.items():
        path = writer.split(" ")[0]
        assert f'"{kind}"' in (ROOT / path).read_text(), (kind, path)
