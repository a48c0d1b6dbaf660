"""``ipsecsim check`` refuses what ``run`` would choke on, each at its own line (issue 15,
findings 7 and 8 -- every case here passed check before and then failed or misled the run:
rate 1e9 grew to 5.8 GB, 0bps raised ZeroDivisionError, a missing PSK sent the LAN's
packets in the clear with "dropped {}" in the summary)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipsecsim.sim.topology import TopologyError, load
from tests.helpers.paths import TOPOLOGIES

S2S = (TOPOLOGIES / "site-to-site.yaml").read_text()

CASES = [
    # (what, old text, new text, the message's start)
    ("a zero bandwidth", "wan-a: {a: gw-a, b: internet, bandwidth: 100Mbps",
     "wan-a: {a: gw-a, b: internet, bandwidth: 0bps", "links.wan-a.bandwidth: '0bps' is no bandwidth"),
    ("a NaN loss", "wan-a: {a: gw-a, b: internet, bandwidth: 100Mbps",
     "wan-a: {a: gw-a, b: internet, loss: .nan, bandwidth: 100Mbps", "links.wan-a.loss: nan is not a finite number"),
    ("a rate no run can keep", "voice: {type: cbr, from: host-a, to: 10.2.0.10, start: 1, stop: 9, rate: 50",
     "voice: {type: cbr, from: host-a, to: 10.2.0.10, start: 1, stop: 9, rate: 1.0e+9", "traffic.voice: 1e+09 packets/s"),
    ("a year-long delay", "delay: 10ms, mtu: 1500}\n  wan-b", "delay: 1.0e+9, mtu: 1500}\n  wan-b",
     "links.wan-a.delay: 1e+09 s is more than 3600 s"),
    ("a run of 31 years", "duration: 10", "duration: 1.0e+9", "duration: 1e+09 s is more than a run may last"),
    ("a second link between the same nodes", "  wan-b: {a: internet",
     "  wan-a2: {a: gw-a, b: internet}\n  wan-b: {a: internet", "links.wan-a2: gw-a and internet are already linked by links.wan-a"),
    ("a 1 ms CHILD_SA rekey", "              esp_proposals: [aes128gcm16]\n              start_action: start",
     "              esp_proposals: [aes128gcm16]\n              rekey_time: 0.001\n              start_action: start",
     "nodes.gw-a.ipsec.connections.office-link.children.lan-lan.rekey_time: 0.001 s is shorter than 1 s"),
    ("a PSK that is a number", 'secret: "a long pre-shared key"}\n  internet',
     'secret: 12345}\n  internet', "nodes.gw-a.ipsec.secrets.ike-1.secret: 12345 is not a string"),
    ("a PSK connection without a secret", '        ike-1: {id-1: gw-a.example, id-2: gw-b.example, secret: "a long pre-shared key"}\n  internet',
     '        ike-1: {id-1: someone.else, secret: "a long pre-shared key"}\n  internet',
     "nodes.gw-a.ipsec.connections.office-link: auth psk, but no secret in secrets names"),
]


@pytest.mark.parametrize("what,old,new,message", CASES, ids=[c[0] for c in CASES])
def test_check_refuses_it_at_its_own_line(tmp_path: Path, what: str, old: str, new: str,
                                          message: str) -> None:
    assert S2S.count(old) == 1, what
    text = S2S.replace(old, new)
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(TopologyError) as err:
        load(path)
    hits = [p for p in err.value.problems if p.message.startswith(message)]
    assert hits, f"{what}: {[str(p) for p in err.value.problems]}"
    # located at the line the edit put the bad value on
    changed = {i for i, (a, b) in enumerate(zip(S2S.splitlines(), text.splitlines(), strict=False), 1)
               if a != b}
    assert hits[0].line in changed or hits[0].line - 1 in changed or what.startswith("a PSK connection"), \
        (hits[0].line, sorted(changed)[:3])


def test_every_shipped_topology_is_within_bounds() -> None:
    for path in sorted(TOPOLOGIES.rglob("*.yaml")):
        load(path)


def test_a_run_says_when_a_failed_ike_left_traffic_in_the_clear(tmp_path: Path) -> None:
    """IKE proposals that match nothing: no IKE_SA, no CHILD_SA, no policy -- every packet is
    delivered in the clear, which the summary used to hide behind 'dropped {}'."""
    import json
    import subprocess
    import sys

    i = S2S.index("proposals: [aes256gcm16-prfsha384-ecp384]", S2S.index("  gw-b:"))
    text = S2S[:i] + "proposals: [aes128-sha256-modp2048]" + S2S[i + len("proposals: [aes256gcm16-prfsha384-ecp384]"):]
    path = tmp_path / "fail.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "ipsecsim", "run", str(path), "--out", str(out)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    gaps = {(g["node"], g["child"]): g["packets"] for g in summary["unprotected"]}
    assert set(gaps) == {("gw-a", "lan-lan"), ("gw-b", "lan-lan")}
    # every LAN packet crossed the WAN in the clear: 401 voice, 158 web, 8 pings and their
    # 8 replies (wan-a's other 2 packets are the refused IKE_SA_INIT and its answer)
    flows = summary["flows"]
    assert sum(gaps.values()) == flows["voice"]["sent"] + flows["web"]["sent"] + 2 * flows["ping"]["sent"]
    assert summary["links"]["wan-a"]["packets"] == sum(gaps.values()) + 2
    assert "left gw-a unprotected, in the clear" in res.stderr
    assert "UserWarning" not in res.stderr
