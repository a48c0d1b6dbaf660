"""topologies/remote-access.yaml: a gateway with pools, a certificate client with a split
tunnel, a PSK client behind a NAT with a full tunnel and an EAP-MSCHAPv2 client with a full
tunnel (RFC 7296 §2.19, §2.16; strongSwan's ikev2/ip-pool and ikev2/nat-rw scenarios). Run through the CLI; tshark (an independent
dissector) decrypts every ESP packet with the run's exported keys."""

from __future__ import annotations

from ipsecsim.core import ip as P
from ipsecsim.sim.runner import Simulation
from tests.helpers.paths import TOPOLOGIES
from tests.helpers.sim_topos import assert_conserved
from tests.sim.test_run_cli import check_pcaps_decrypt, run_cli

TOPO = TOPOLOGIES / "remote-access.yaml"


def _icmp_on(sim: Simulation, link: str) -> list[tuple[str, str]]:
    """(src, dst) of plain ICMP packets on ``link``."""
    return [(P.ntoa(r[9][12:16]), P.ntoa(r[9][16:20])) for r in sim.trace.of("link_tx")
            if r[4] == link and r[9][9] == P.IPPROTO_ICMP]


def test_split_and_full_tunnel_with_virtual_ips() -> None:
    sim = Simulation.from_file(TOPO).run()
    s = assert_conserved(sim)
    # 25 pings, and 2 x 6 DNS queries with their 12 responses
    assert s["sent"] == s["delivered"] == 49
    summary = sim.summary()
    pools = summary["pools"]["moon"]
    leases = {le["identity"]: le["address"]
              for p in ("rw_pool", "split_pool") for le in pools[p]["leases"]}
    carol, dave = leases["carol@strongswan.org"], leases["dave@strongswan.org"]
    assert leases["alice@strongswan.org"] in ("10.3.0.1", "10.3.0.2")  # rw_pool, after dave
    assert carol.startswith("10.3.0.") and 16 < int(carol.rsplit(".", 1)[1]) < 32  # split_pool
    # the server sees both clients by their virtual IPs, never by their own addresses
    assert {a for a, _ in _icmp_on(sim, "lan") if a != "10.1.0.10"} == \
        {carol, dave, leases["alice@strongswan.org"]}
    # the web server on the internet: dave (full tunnel) arrives from its virtual IP through
    # moon, carol (split tunnel) from its real address, directly
    web = {a for a, _ in _icmp_on(sim, "web-net") if a != "203.0.114.80"}
    assert web == {dave, "198.51.100.20"}
    # nothing of dave's leaves its LAN in the clear; carol's web pings do
    assert not _icmp_on(sim, "dave-lan") and not _icmp_on(sim, "nat-up")
    assert ("198.51.100.20", "203.0.114.80") in _icmp_on(sim, "carol-net")
    assert summary["ike"]["failures"] == []


def test_cli_run_decrypts_every_esp_packet(tmp_path) -> None:
    out = tmp_path / "ra"
    s = run_cli("remote-access", out)
    assert s["packets"]["delivered"] == 49
    n = check_pcaps_decrypt(out, {"moon.strongswan.org", "dave@strongswan.org"})
    assert n >= 30
    moon = (out / "console" / "moon.txt").read_text()
    assert "rw_pool              10.3.0.0                             2 / 0 / 14\n" in moon
    assert "assigning virtual IP 10.3.0.1 to peer 'dave@strongswan.org'" in moon
    assert "assigning virtual IP 10.3.0.17 to peer 'carol@strongswan.org'" in moon
