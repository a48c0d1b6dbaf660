"""What an eavesdropper on a link learns, with and without IPsec.

Without IPsec it reads the hosts and the application's ports. ESP in tunnel mode encrypts
the inner header (RFC 4303 §3.1.2): on the WAN it sees only the two gateways and the SPIs --
but still each packet's size and time (RFC 4303 §2.4: TFC padding, not modelled here, is the
countermeasure), so two flows of different packet sizes stay apart. AH authenticates without
encrypting (RFC 4302 §1): the inner ports are in the clear.
"""

from __future__ import annotations

from tests.attacks.topos import mallory, manual_s2s, run
from tests.helpers.sim_topos import assert_conserved, plain_chain

TWO_FLOWS = {
    "small": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "start": 1, "count": 30,
              "rate": 50, "size": 200},
    "large": {"type": "cbr", "from": "host-a", "to": "10.2.0.10", "start": 1, "count": 20,
              "rate": 50, "size": 1000},
}


def test_without_ipsec_it_learns_hosts_ports_and_protocols():
    topo = plain_chain({
        "u": {"type": "cbr", "from": "h1", "to": "10.0.2.10", "count": 10, "rate": 20, "size": 500},
        "p": {"type": "ping", "from": "h1", "to": "10.0.2.10", "count": 3}})
    topo["attackers"] = {"mallory": {"link": "l2", "attacks": [{"type": "eavesdrop"}]}}
    sim = run(topo)
    learned = mallory(sim)["learned"]
    assert learned["cleartext_ports"] == ["udp/40000"]
    assert learned["protocols"]["udp"] == 10 and learned["protocols"]["icmp"] == 6
    assert learned["protocols"]["esp"] == 0 and learned["spis"] == []
    assert learned["hosts"] == ["10.0.1.10", "10.0.2.10"]
    assert learned["packets"] == 16  # every packet on l2, both ways; nothing changed
    assert assert_conserved(sim)["delivered"] == 13


def test_with_esp_it_learns_gateways_spis_and_sizes_but_no_ports():
    sim = run(manual_s2s({"type": "eavesdrop"}, traffic=TWO_FLOWS))
    learned = mallory(sim)["learned"]
    assert learned["cleartext_ports"] == [] and learned["protocols"]["udp"] == 0
    assert learned["protocols"]["esp"] == 50 == learned["packets"]
    assert learned["hosts"] == ["198.51.100.1", "203.0.113.1"]  # the tunnel's ends only
    assert learned["spis"] == ["0x00002000"]  # one SA in the one direction used
    # traffic analysis: one ESP size per inner size, with each flow's packet count
    sizes = dict(map(tuple, learned["sizes"]["most_common"]))
    assert sorted(sizes.values()) == [20, 30] and learned["sizes"]["distinct"] == 2
    small, large = sorted(sizes)
    assert sizes[small] == 30 and sizes[large] == 20 and large - small == 800
    assert learned["timing"]["mean_rate_pps"] > 50  # two 50/s flows side by side
    assert_conserved(sim)


def test_with_ah_the_inner_ports_are_readable():
    sim = run(manual_s2s({"type": "eavesdrop"}, proto="ah", traffic=TWO_FLOWS))
    learned = mallory(sim)["learned"]
    assert learned["protocols"]["ah"] == 50 and learned["protocols"]["esp"] == 0
    assert learned["cleartext_ports"] == ["udp/40000", "udp/40001"]
    assert "10.1.0.10" in learned["hosts"] and "10.2.0.10" in learned["hosts"]


def test_ike_sa_init_shows_the_suites_the_rest_only_exchange_types():
    from tests.attacks.topos import ike_s2s

    sim = run(ike_s2s({"type": "eavesdrop", "match": "ike"}, duration=5))
    learned = mallory(sim)["learned"]
    assert learned["protocols"]["esp"] == 0 < learned["protocols"]["ike"]  # match: ike
    ex = dict(map(tuple, learned["ike_exchanges"]))
    assert ex["IKE_SA_INIT request"] == 1 and ex["IKE_AUTH response"] == 1
    assert ex.get("CREATE_CHILD_SA request", 0) >= 1  # the rekey at ~3.3 s, encrypted
    assert learned["ike_suites"][:2] == [
        "offered ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/CURVE25519",
        "offered ENCR_AES_CBC_128/AUTH_HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/CURVE25519"]
