"""Attacks on ESP/AH and what the receiving gateway counts (RFC 4303 §3.4, RFC 4302 §3.4).

Each test runs one attack from ``mallory`` on wan-a (gw-a -- internet) and asserts the drop
records at gw-b: a tampered packet fails the integrity check before decryption (RFC 4303
§3.4.4, RFC 4302 §3.4.3), a replayed one falls in or left of the anti-replay window (RFC 4303
§3.4.3), a packet under an SPI the receiver never made has no SA (RFC 4303 §3.4.2). None of
them is delivered, and the generators' conservation holds throughout.
"""

from __future__ import annotations

import pytest

from tests.attacks.topos import attack_records, drops_at, ike_s2s, mallory, manual_s2s, run
from tests.helpers.sim_topos import assert_conserved


@pytest.mark.parametrize("proto", ["esp", "ah"])
def test_tampered_packets_fail_the_integrity_check_and_none_is_delivered(proto):
    sim = run(manual_s2s({"type": "tamper", "start": 1.5, "count": 7, "match": proto,
                          "from": "gw-a"}, proto=proto))
    tampered = {r[6] for r in attack_records(sim, "tamper")}
    assert len(tampered) == 7
    bad = drops_at(sim, "gw-b", "bad_icv")
    assert {r[4] for r in bad} == tampered  # the same packets, by their ids
    delivered = {r[5] for r in sim.trace.of("app_deliver")}
    assert not tampered & delivered
    s = assert_conserved(sim)
    assert s["dropped"] == {"bad_icv": 7} and s["delivered"] == s["sent"] - 7
    assert mallory(sim)["acted_on"]["tampered"] == 7 and mallory(sim)["sent"] == 0


def test_replays_on_the_same_sa_are_refused_by_the_window():
    sim = run(manual_s2s({"type": "replay", "start": 1.5, "count": 6, "from": "gw-a",
                          "delay": 0.3}))
    sent = {r[6] for r in attack_records(sim, "replay")}
    assert len(sent) == 6
    replays = drops_at(sim, "gw-b", "replay")
    assert {r[4] for r in replays} == sent
    assert all("already received" in r[6] for r in replays)  # inside the window, seen
    s = assert_conserved(sim)
    assert s["dropped"] == {} and s["delivered"] == s["sent"]  # the originals went through
    m = mallory(sim)
    assert m["sent_by_kind"]["replay"] == 6 and m["acted_on"]["captured"] == 6


def test_replays_across_a_rekey_refused_while_the_old_sa_lingers_then_unknown_spi():
    # CHILD_SA rekeyed at ~3.3 s; the old inbound SA stays 5 s after its DELETE
    # (strongSwan's delete_rekeyed_delay) for packets in flight, then is gone
    sim = run(ike_s2s(
        {"type": "replay", "start": 2.0, "count": 5, "from": "gw-a", "at": 5},
        {"type": "replay", "start": 2.5, "count": 5, "from": "gw-a", "at": 9.5}))
    rekeyed = [r for r in sim.trace.of("sa") if r[3] == "gw-b" and r[4] == "rekeyed"]
    assert rekeyed and rekeyed[0][1] < 5  # the replays come after the first rekey
    old_spi = rekeyed[0][10]
    records = attack_records(sim, "replay")
    assert len(records) == 10 and all(f"SPI 0x{old_spi:08x}" in r[8] for r in records)
    at5 = {r[6] for r in records if r[1] < 6}
    at95 = {r[6] for r in records if r[1] > 9}
    assert {r[4] for r in drops_at(sim, "gw-b", "replay")} == at5
    unknown = drops_at(sim, "gw-b", "unknown_spi")
    assert {r[4] for r in unknown} == at95 and len(at95) == 5
    s = assert_conserved(sim)
    assert s["dropped"] == {}


def test_injected_esp_with_a_made_up_spi_has_no_sa():
    sim = run(manual_s2s({"type": "inject", "start": 1.2, "count": 8, "rate": 20,
                          "spi": "random", "to": "203.0.113.1"}))
    sent = {r[6] for r in attack_records(sim, "inject_random_spi")}
    assert len(sent) == 8
    assert {r[4] for r in drops_at(sim, "gw-b", "unknown_spi")} == sent
    assert mallory(sim)["sent_by_kind"]["inject_random_spi"] == 8
    assert assert_conserved(sim)["dropped"] == {}


def test_injected_garbage_under_a_live_spi_fails_the_icv():
    sim = run(manual_s2s({"type": "inject", "start": 1.2, "count": 8, "rate": 20,
                          "spi": "live", "to": "203.0.113.1"}))
    sent = {r[6] for r in attack_records(sim, "inject_live_spi")}
    assert len(sent) == 8 and all("SPI 0x00002000" in r[8] for r in attack_records(sim, "inject_live_spi"))
    assert {r[4] for r in drops_at(sim, "gw-b", "bad_icv")} == sent
    assert assert_conserved(sim)["dropped"] == {}


def test_live_spi_injection_with_no_sa_seen_yet_sends_nothing():
    sim = run(manual_s2s({"type": "inject", "start": 0.1, "stop": 0.5, "rate": 10,
                          "spi": "live", "to": "203.0.113.1"}))
    m = mallory(sim)
    assert m["sent"] == 0 and m["attacks"][0]["skipped"] == 4


def test_selective_drop_of_esp_is_counted_with_its_own_reason():
    sim = run(manual_s2s({"type": "drop", "start": 2, "count": 4, "every": 2, "match": "esp",
                          "from": "gw-a"}))
    dropped = drops_at(sim, "mallory", "attack_drop")
    assert len(dropped) == 4
    ids = sorted(r[4] for r in dropped)
    assert ids[1] - ids[0] == 2  # every second ESP packet (one flow: consecutive ids)
    s = assert_conserved(sim)
    assert s["dropped"] == {"attack_drop": 4}
    assert mallory(sim)["acted_on"]["dropped"] == 4


def test_dropping_one_ike_sa_init_delays_the_tunnel_and_traffic_leaves_in_the_clear():
    # the initiator retransmits after strongSwan's 4 s (RFC 7296 §2.1); until its CHILD_SA is
    # up it has no policy for the LANs (start_action: start installs none before, as charon),
    # so what the hosts send meanwhile crosses the WAN unencrypted -- the eavesdropper sees it
    sim = run(ike_s2s({"type": "drop", "count": 1, "match": "ike", "from": "gw-a"},
                      {"type": "eavesdrop"}, duration=6))
    s = sim.summary()
    (drop,) = drops_at(sim, "mallory", "attack_drop")
    assert "ike" in drop[6]
    assert s["ike"]["retransmits"] >= 1 and s["ike"]["established"] == 1
    up = min(r[1] for r in sim.trace.of("sa") if r[4] == "installed" and r[5] == "esp")
    assert 4 < up < 4.5
    clear = [r for r in sim.trace.of("link_tx") if r[4] == "wan-a" and bytes(r[9])[9] in (1, 17)
             and 500 not in (int.from_bytes(bytes(r[9])[20:22], "big"),
                              int.from_bytes(bytes(r[9])[22:24], "big"))]
    assert clear and max(r[1] for r in clear) < up + 0.1
    learned = mallory(sim)["learned"]
    assert learned["cleartext_ports"] == ["udp/40001", "udp/40002"]  # voice, web
    assert "10.1.0.10" in learned["hosts"] and "10.2.0.10" in learned["hosts"]
    # what was in flight in the clear when gw-b's policies came up is refused there
    assert set(s["packets"]["dropped"]) <= {"cleartext_refused"}
    assert_conserved(sim)
