"""What an eavesdropper on a link learns, with and without IPsec.

Without IPsec it reads the hosts and the application's ports. ESP in tunnel mode encrypts
the inner header (RFC 4303 §3.1.2): on the WAN it sees only the two gateways and the SPIs --
but still each packet's size and time, so two flows of different packet sizes stay apart --
unless the CHILD_SA pads them (swanctl ``tfc_padding``, RFC 4303 §2.4 TFC padding). AH authenticates without
encrypting (RFC 4302 §1): the inner ports are in the clear.
"""

from __future__ import annotations

import pytest

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


def test_tfc_padding_hides_the_sizes_but_not_the_timing():
    # swanctl's tfc_padding (RFC 4303 §2.4): every inner packet padded to 1300 bytes before
    # encryption, both ways; voice (200 B), web (1200 B) and pings (84 B) then look alike
    from tests.attacks.topos import ike_s2s

    topo = ike_s2s({"type": "eavesdrop", "match": "esp", "start": 1}, duration=4)
    for gw in ("gw-a", "gw-b"):
        topo["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"][
            "tfc_padding"] = 1300
    padded = run(topo)
    plain = run(ike_s2s({"type": "eavesdrop", "match": "esp", "start": 1}, duration=4))
    lp, lc = mallory(padded)["learned"], mallory(plain)["learned"]
    assert lc["sizes"]["distinct"] == 3  # 140, 256, 1256: one per kind of traffic
    assert lp["sizes"]["distinct"] == 1 and lp["sizes"]["min"] == 1300 + 56
    assert lp["packets"] == lc["packets"]  # the same packets, at the same times
    assert lp["timing"]["mean_rate_pps"] == pytest.approx(lc["timing"]["mean_rate_pps"], rel=1e-3)
    assert abs(lp["timing"]["first"] - lc["timing"]["first"]) < 1e-3  # only serialisation longer
    s = assert_conserved(padded)
    assert s["dropped"] == {} and s["delivered"] > 190  # the receiver strips the padding
    assert lp["bytes"] > 2 * lc["bytes"]  # what it costs
