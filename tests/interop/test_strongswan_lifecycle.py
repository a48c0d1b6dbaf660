"""SA lifecycle against charon: rekeys under traffic, and a dead peer detected in time.

* charon rekeys the CHILD_SA every 4 s and the IKE_SA once while 100 pings cross
  the tunnel at 5/s (RFC 7296 §1.3.3, §2.8: make-before-break, the old SA stays
  until its DELETE). Not one ping may be lost, and both sides must agree how many
  generations there were.
* charon is killed (SIGKILL: no DELETE). The peer's liveness check (an empty
  INFORMATIONAL after ``dpd_delay`` of silence, RFC 7296 §2.4) goes unanswered,
  is retransmitted on the configured schedule (timeout T, base b, n tries: gives up
  T·(1 + b + ... + bⁿ) after the first send) and the IKE_SA with its CHILD_SA is torn
  down -- in the window that schedule predicts.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.interop.charon import established_child
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.peerlog import events
from tests.interop.tunnel import start_tunnel

pytestmark = pytest.mark.oracle


def test_pings_survive_child_rekeys_every_4s_and_an_ike_rekey(interop) -> None:  # noqa: F811
    env = interop
    charon_times = {"child_extra": {"rekey_time": "4s", "rand_time": 0, "life_time": "60s"},
                    "conn_extra": {"rekey_time": "11s", "rand_time": 0, "over_time": "60s"}}
    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                charon_extra=charon_times)
    sent, received, out = env.left.ping(env.right.inner[0], count=100, interval=0.2,
                                        src=env.left.inner[0])
    assert sent == 100 and received == 100, out[-600:]

    log = charon.log()
    child_ups = set(re.findall(r"CHILD_SA net\{(\d+)\} established with SPIs", log))
    assert len(child_ups) >= 5, f"expected >= 4 child rekeys in 20 s, charon logged {len(child_ups)} SAs"
    assert re.search(r"IKE_SA interop\[2\] rekeyed between", log), "charon did not rekey the IKE_SA"
    # ipsecsim saw the same: every rekey announced, the IKE_SA replaced once
    rekeyed = events(peer.log(), "ChildSaRekeyed")
    assert len(rekeyed) == len(child_ups) - 1
    assert len(events(peer.log(), "IkeSaRekeyed")) >= 1
    # and its data plane dropped nothing: no unknown SPI, no bad ICV, no replay
    assert peer.stop() == 0
    assert peer.log().splitlines()[-1].endswith("esp in=100 out=100 drops={}")


def test_charons_pfs_rekeys_with_ecp256_are_answered(interop) -> None:  # noqa: F811
    """charon rekeys the CHILD_SA every 2 s with a fresh ECP-256 exchange (PFS): ipsecsim
    answers each CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi, TSi, TSr } with a KEr."""
    env = interop
    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"],
                                ["aes256gcm16-ecp256"],
                                charon_extra={"child_extra": {"rekey_time": "2s", "rand_time": 0,
                                                              "life_time": "60s"}})
    sent, received, out = env.left.ping(env.right.inner[0], count=25, interval=0.2,
                                        src=env.left.inner[0])
    assert sent == 25 and received == 25, out[-600:]
    log = charon.log()
    assert len(re.findall(r"generating CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) SA No KE", log)) >= 2
    answers = re.findall(r"parsed CREATE_CHILD_SA response \d+ \[ ([^\]]*)\]", log)
    assert len(answers) >= 2 and all(" KE " in f" {a} " for a in answers), answers
    assert len(events(peer.log(), "ChildSaRekeyed")) == len(answers)


@pytest.mark.parametrize("esp", ["aes128gcm16", "aes128gcm16-x25519"], ids=["no-pfs", "pfs-x25519"])
def test_ipsecsim_rekeys_by_packet_count_and_time_without_losing_a_ping(interop, esp) -> None:  # noqa: F811
    """ipsecsim initiates the rekeys: the CHILD_SA after 8 packets (the stack's soft packet
    limit reaches IKE, RFC 4301 §4.4.2.1), the IKE_SA after 4 s; charon accepts each.
    With a DH group in the ESP proposal each child rekey carries a KE (PFS, RFC 7296 §1.3.2)."""
    env = interop

    def peer_limits(conf: dict) -> None:
        c = conf["connections"]["interop"]
        c.update(rekey_time="4s", rand_time=0)
        c["children"]["net"].update(rekey_packets=8, rand_packets=0, life_packets=1000)

    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"], [esp],
                                edit_peer=peer_limits)
    sent, received, out = env.left.ping(env.right.inner[0], count=30, interval=0.2,
                                        src=env.left.inner[0])
    assert sent == 30 and received == 30, out[-600:]
    log = peer.log()
    rekeyed = events(log, "ChildSaRekeyed")
    assert len(rekeyed) >= 3, f"30 pings at 8 packets per SA should rekey >= 3 times: {len(rekeyed)}"
    assert events(log, "IkeSaRekeyed"), "ipsecsim did not rekey the IKE_SA after 4 s"
    # charon answered ipsecsim's CREATE_CHILD_SA requests (it did not initiate them)
    clog = charon.log()
    rekeys = re.findall(r"parsed CREATE_CHILD_SA request \d+ \[ N\(REKEY_SA\) ([^\]]*)\]", clog)
    assert len(rekeys) >= 3
    assert all((" KE " in f" {r} ") == ("x25519" in esp) for r in rekeys), rekeys
    assert "initiating IKE_SA" in clog and "rekeying CHILD_SA" not in clog
    assert peer.stop() == 0
    assert peer.log().splitlines()[-1].endswith("esp in=30 out=30 drops={}")


def test_dead_charon_is_detected_within_the_retransmission_schedule(interop) -> None:  # noqa: F811
    env = interop
    dpd_delay, timeout, base, tries = 1.0, 0.5, 1.4, 2

    def peer_dpd(conf: dict) -> None:
        c = conf["connections"]["interop"]
        c.update(dpd_delay=dpd_delay, retransmit_timeout=timeout, retransmit_base=base,
                 retransmit_tries=tries)

    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                edit_peer=peer_dpd)
    give_up = sum(timeout * base**k for k in range(tries + 1))  # 0.5 + 0.7 + 0.98 = 2.18 s
    time.sleep(dpd_delay * 1.5)  # one liveness check answered while charon lives
    charon.kill()
    t_kill = time.monotonic()
    assert peer.wait_log("IkeSaDown", timeout=dpd_delay + give_up + 5)
    elapsed = time.monotonic() - t_kill
    # the failing check went out after the kill, and at most dpd_delay after it
    # (upper slack for a loaded CI machine: the peer's timers and our polling run late)
    assert give_up - 0.2 <= elapsed <= dpd_delay + give_up + 2.0, elapsed

    log = peer.log()
    fail = [e for e in events(log, "IkeFailure") if e["notify"] == "TIMEOUT"]
    assert fail and f"after {tries} retransmissions" in fail[-1]["reason"]
    assert events(log, "ChildSaDown"), "the CHILD_SA must go with the dead IKE_SA"
    # the peer's own clock: first send of the unanswered INFORMATIONAL to teardown
    sends = [(float(line.split()[0]), line) for line in log.splitlines()
             if "IkeMessageEvent direction=out" in line and "exchange=INFORMATIONAL" in line]
    last_first = max(t for t, line in sends if "retransmit=0" in line)
    down = max(float(line.split()[0]) for line in log.splitlines() if " IkeSaDown " in line)
    assert down - last_first == pytest.approx(give_up, abs=0.4)
    assert sum(1 for t, line in sends if t >= last_first and "retransmit=0" not in line) == tries


def test_charons_liveness_checks_are_answered(interop) -> None:  # noqa: F811
    """charon with ``dpd_delay = 1s`` probes an idle ipsecsim with empty INFORMATIONALs;
    each gets its response (no retransmission) and the IKE_SA stays up."""
    env = interop
    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                charon_extra={"conn_extra": {"dpd_delay": "1s"}})
    time.sleep(3.5)
    log = charon.log()
    probes = re.findall(r"generating INFORMATIONAL request (\d+) \[ \]", log)
    answers = re.findall(r"parsed INFORMATIONAL response (\d+) \[ \]", log)
    assert len(probes) >= 2 and answers == probes, (probes, answers)
    assert "retransmit" not in log
    assert charon.list_sas()[0]["state"] == "ESTABLISHED"
    assert not events(peer.log(), "IkeSaDown")


def test_child_recreated_by_charon_after_hard_expiry(interop) -> None:  # noqa: F811
    """With ``life_time`` = ``rekey_time`` charon lets the CHILD_SA expire, deletes it and
    creates a new one with a plain CREATE_CHILD_SA (no REKEY_SA): ipsecsim must remove the
    old SA on the DELETE and install the new one; traffic resumes on it."""
    env = interop
    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                charon_extra={"child_extra": {"rekey_time": "3s", "life_time": "3s",
                                                              "rand_time": 0}})
    assert peer.wait_log("deleted by peer", timeout=6)
    assert charon.wait_for(lambda sas: "scheduling CHILD_SA recreate" in charon.log()
                           and established_child(sas, "net"), timeout=5)
    time.sleep(0.3)
    sent, received, out = env.left.ping(env.right.inner[0], count=3, src=env.left.inner[0])
    assert (sent, received) == (3, 3), out
    log = peer.log()
    assert len(events(log, "ChildSaUp")) >= 2 and len(events(log, "ChildSaDown")) >= 1
    assert "closing expired CHILD_SA" in charon.log()
