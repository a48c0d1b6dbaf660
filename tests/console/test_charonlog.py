"""A gateway's daemon.log in charon's words, from simulated runs (``CharonLog``).

Oracle: strongSwan 5.9's sources for the wording (``sa/ikev2/tasks/ike_init.c`` "initiating
IKE_SA %s[%d] to %H", ``ike_auth.c`` / ``authenticators/psk_authenticator.c`` "authentication
of '%Y' with %N successful", ``child_create.c`` "CHILD_SA %s{%d} established with SPIs
%.8x_i %.8x_o and TS %#R === %#R", ``child_delete.c`` "closing CHILD_SA ...",
``ike_delete.c``, ``ike_rekey.c``, ``ike_sa.c`` "sending DPD request", ``task_manager_v2.c``
"retransmit %d of request with message ID %d", ``encoding/message.c`` "generating %s" with
``payload_type_short_names`` / ``notify_type_short_names``, ``network/sender.c``), and a
charon 5.9.8 log of the same exchanges between two charons (the differential test,
``tests/console/test_charonlog_oracle.py``).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ipsecsim.console.charonlog import CharonLog
from ipsecsim.console.charonwords import payload_tokens, scheme_text, stamp
from ipsecsim.sim import Simulation

TOPO = Path(__file__).resolve().parents[2] / "topologies"
BASE = yaml.safe_load((TOPO / "site-to-site.yaml").read_text())
A, B = "gw-a", "gw-b"
IDS = {A: ("198.51.100.1", "gw-a.example"), B: ("203.0.113.1", "gw-b.example")}


def topo(duration: float = 3.0, traffic: bool = False, **conn: Any) -> dict[str, Any]:
    t = copy.deepcopy(BASE)
    t["duration"] = duration
    if not traffic:
        t.pop("traffic")
    for gw in (A, B):
        t["nodes"][gw]["ipsec"]["connections"]["office-link"].update(conn)
    return t


def child(t: dict[str, Any], gw: str) -> dict[str, Any]:
    return t["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]


def messages(sim: Simulation, gw: str) -> list[str]:
    return sim.node(gw).charon_log.messages()  # type: ignore[attr-defined]


def between(gw: str) -> str:
    me, peer = (A, B) if gw == A else (B, A)
    return f"{IDS[me][0]}[{IDS[me][1]}]...{IDS[peer][0]}[{IDS[peer][1]}]"


def test_establishment_as_charon_logs_it_on_both_ends() -> None:
    sim = Simulation.from_dict(topo()).run()
    a, b = messages(sim, A), messages(sim, B)
    keys_a = next(iter(sim.node(A).children.values()))  # type: ignore[attr-defined]
    ts_a = "10.1.0.0/16 === 10.2.0.0/16"
    assert [m for m in a if not m.startswith(("sending packet", "received packet"))] == [
        "Starting IKE charon daemon (strongSwan 5.9.8, Linux, x86_64)",
        "initiating IKE_SA office-link[1] to 203.0.113.1",
        "generating IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) ]",
        "parsed IKE_SA_INIT response 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) N(HASH_ALG) ]",
        "authentication of 'gw-a.example' (myself) with pre-shared key",
        "establishing CHILD_SA lan-lan{1}",
        "generating IKE_AUTH request 1 [ IDi N(INIT_CONTACT) IDr AUTH SA TSi TSr ]",
        "parsed IKE_AUTH response 1 [ IDr AUTH SA TSi TSr ]",
        "authentication of 'gw-b.example' with pre-shared key successful",
        f"IKE_SA office-link[1] established between {between(A)}",
        *[m for m in a if m.startswith(("scheduling rekeying in", "maximum IKE_SA lifetime"))],
        f"CHILD_SA lan-lan{{1}} established with SPIs {keys_a.spi_in:08x}_i {keys_a.spi_out:08x}_o "
        f"and TS {ts_a}",
    ]
    assert "sending packet: from 198.51.100.1[500] to 203.0.113.1[500] (288 bytes)" in a
    # the responder: charon's order (ike_init.c process_r, then ike_auth.c, child_create.c)
    want_b = ["198.51.100.1 is initiating an IKE_SA",
              "authentication of 'gw-a.example' with pre-shared key successful",
              "authentication of 'gw-b.example' (myself) with pre-shared key",
              f"IKE_SA office-link[1] established between {between(B)}",
              f"CHILD_SA lan-lan{{1}} established with SPIs {keys_a.spi_out:08x}_i "
              f"{keys_a.spi_in:08x}_o and TS 10.2.0.0/16 === 10.1.0.0/16",
              "generating IKE_AUTH response 1 [ IDr AUTH SA TSi TSr ]"]
    assert [m for m in b if m in want_b] == want_b
    assert not any("establishing CHILD_SA" in m for m in b)  # only the initiator logs it


def test_syslog_prefix_and_simulated_time() -> None:
    sim = Simulation.from_dict(topo(dpd_delay=2)).run()
    lines = sim.node(A).charon_log.lines()  # type: ignore[attr-defined]
    pat = re.compile(r"^Jan  1 00:00:0\d gw-a charon: \d\d\[(DMN|IKE|CHD|ENC|NET|CFG|KNL|JOB)\] \S")
    assert all(pat.match(ln) for ln in lines), [ln for ln in lines if not pat.match(ln)]
    assert lines[0].startswith("Jan  1 00:00:00 gw-a charon: 00[DMN] Starting IKE charon daemon")
    # gw-b, the responder, installed 20 ms before gw-a: its DPD comes first
    dpd = [ln for ln in sim.node(B).charon_log.lines() if ln.endswith("sending DPD request")]  # type: ignore[attr-defined]
    assert dpd and dpd[0].startswith("Jan  1 00:00:02 gw-b charon: 09[IKE]")
    assert stamp(0) == "Jan  1 00:00:00" and stamp(3661.9) == "Jan  1 01:01:01"
    assert stamp(11 * 86400) == "Jan 12 00:00:00"


def test_child_and_ike_rekeys_number_and_close_as_charon_does() -> None:
    t = topo(duration=5.5, traffic=True)
    # gw-b rekeys the CHILD_SA at 3 s, gw-a the IKE_SA at 4 s (one side each: no collisions)
    child(t, B).update(rekey_time="3s", rand_time=0, life_time="20s")
    t["nodes"][A]["ipsec"]["connections"]["office-link"].update(rekey_time=4, rand_time=0,
                                                                over_time=10)
    sim = Simulation.from_dict(t).run()
    a, b = messages(sim, A), messages(sim, B)
    gens = sorted(sim.node(B).children.values(), key=lambda k: k.unique_id)  # type: ignore[attr-defined]
    rekeyer, other = (b, a)
    assert "establishing CHILD_SA lan-lan{2} reqid 1" in rekeyer
    new = gens[-1]
    spis = f"with SPIs {new.spi_in:08x}_i {new.spi_out:08x}_o and TS 10.2.0.0/16 === 10.1.0.0/16"
    i_in = rekeyer.index(f"inbound CHILD_SA lan-lan{{2}} established {spis}")
    i_out = rekeyer.index(f"outbound CHILD_SA lan-lan{{2}} established {spis}")
    closing = [m for m in rekeyer if m.startswith("closing CHILD_SA lan-lan{1} with SPIs")]
    assert len(closing) == 1 and i_in < i_out < rekeyer.index(closing[0])
    assert re.search(r"_i \((\d+) bytes\) \w+_o \((\d+) bytes\)", closing[0])
    assert not closing[0].endswith("(0 bytes) and TS 10.2.0.0/16 === 10.1.0.0/16")  # traffic flowed
    assert rekeyer[rekeyer.index(closing[0]) + 1].startswith("sending DELETE for ESP CHILD_SA with SPI ")
    # the responder installs its outbound half when the old SA's DELETE arrives (child_delete.c)
    r_close = next(i for i, m in enumerate(other) if m.startswith("closing CHILD_SA lan-lan{1}"))
    assert other[r_close - 1].startswith("received DELETE for ESP CHILD_SA with SPI ")
    assert other[r_close + 1:r_close + 4] == [
        other[r_close + 1], "CHILD_SA closed", other[r_close + 3]]
    assert other[r_close + 3].startswith("outbound CHILD_SA lan-lan{2} established")
    # the IKE_SA rekey: a new unique id, named before its request, announced with its response
    assert "initiating IKE_SA office-link[2] to 203.0.113.1" in a
    assert f"IKE_SA office-link[2] rekeyed between {between(A)}" in a
    assert f"deleting IKE_SA office-link[1] between {between(A)}" in a
    assert a.index("initiating IKE_SA office-link[2] to 203.0.113.1") < \
        a.index("generating CREATE_CHILD_SA request 2 [ SA No KE ]") < \
        a.index(f"IKE_SA office-link[2] rekeyed between {between(A)}")
    assert "198.51.100.1 is initiating an IKE_SA" in b[b.index("parsed CREATE_CHILD_SA request 2 [ SA No KE ]"):]
    assert "received DELETE for IKE_SA office-link[1]" in b


def test_deleting_an_ike_sa_takes_its_children_without_closing_lines() -> None:
    sim = Simulation.from_dict(topo(duration=1.0)).run()
    gw = sim.node(A)
    gw.node.delete_ike("office-link[1]", sim.now)  # type: ignore[attr-defined]
    gw.drain()  # type: ignore[attr-defined]
    sim.run(2.0)
    a, b = messages(sim, A), messages(sim, B)
    assert a[-7:] == [f"deleting IKE_SA office-link[1] between {between(A)}",
                      "sending DELETE for IKE_SA office-link[1]",
                      "generating INFORMATIONAL request 2 [ D ]",
                      a[-4], a[-3], "parsed INFORMATIONAL response 2 [ ]", "IKE_SA deleted"]
    assert b[-5:-2] == ["received DELETE for IKE_SA office-link[1]",
                        f"deleting IKE_SA office-link[1] between {between(B)}", "IKE_SA deleted"]
    assert not any(m.startswith(("closing CHILD_SA", "CHILD_SA closed")) for m in a + b)


def test_a_deleted_child_closes_on_both_ends() -> None:
    sim = Simulation.from_dict(topo(duration=1.0)).run()
    gw = sim.node(A)
    keys = next(iter(gw.children.values()))  # type: ignore[attr-defined]
    gw.node.delete_child(keys.spi_in, sim.now)  # type: ignore[attr-defined]
    gw.drain()  # type: ignore[attr-defined]
    sim.run(2.0)
    a, b = messages(sim, A), messages(sim, B)
    ts = "10.1.0.0/16 === 10.2.0.0/16"
    assert f"closing CHILD_SA lan-lan{{1}} with SPIs {keys.spi_in:08x}_i (0 bytes) " \
           f"{keys.spi_out:08x}_o (0 bytes) and TS {ts}" in a
    assert a[-2:] == [f"received DELETE for ESP CHILD_SA with SPI {keys.spi_out:08x}", "CHILD_SA closed"]
    i = b.index(f"received DELETE for ESP CHILD_SA with SPI {keys.spi_in:08x}")
    assert b[i + 1].startswith("closing CHILD_SA lan-lan{1} with SPIs")
    assert b[i + 2:i + 5] == [f"sending DELETE for ESP CHILD_SA with SPI {keys.spi_out:08x}",
                              "CHILD_SA closed", "generating INFORMATIONAL response 2 [ D ]"]


def test_a_refused_child_keeps_the_ike_sa() -> None:
    t = topo()
    child(t, B)["local_ts"] = ["10.9.0.0/16"]
    sim = Simulation.from_dict(t).run()
    a, b = messages(sim, A), messages(sim, B)
    assert "establishing CHILD_SA lan-lan{1}" in a  # the hole filled by the refusal's child name
    assert "parsed IKE_AUTH response 1 [ IDr AUTH N(TS_UNACCEPT) ]" in a
    i = a.index("received TS_UNACCEPTABLE notify, no CHILD_SA built")
    assert a[i - 1] == f"IKE_SA office-link[1] established between {between(A)}" or \
        a[i - 1].startswith("maximum IKE_SA lifetime")
    assert a[i + 1] == "failed to establish CHILD_SA, keeping IKE_SA"
    assert "failed to establish CHILD_SA, keeping IKE_SA" in b
    assert "generating IKE_AUTH response 1 [ IDr AUTH N(TS_UNACCEPT) ]" in b
    assert not any(" established with SPIs " in m for m in a + b)


def test_ah_behind_a_nat_is_refused_as_the_kernel_refuses_it() -> None:
    sim = Simulation.from_file(TOPO / "nat-traversal.yaml")
    sim.run(1.0)
    a = messages(sim, "gw-a")
    i = a.index("unable to install inbound and outbound IPsec SA (SAD) in kernel")
    assert a[i + 1] == "failed to establish CHILD_SA, keeping IKE_SA"
    assert "no acceptable proposal found" not in a


def test_authentication_failure_on_both_ends() -> None:
    t = topo()
    t["nodes"][B]["ipsec"]["secrets"]["ike-1"]["secret"] = "not the same key"
    sim = Simulation.from_dict(t).run()
    a, b = messages(sim, A), messages(sim, B)
    assert "received AUTHENTICATION_FAILED notify error" in a
    assert "parsed IKE_AUTH response 1 [ N(AUTH_FAILED) ]" in a
    assert "tried 1 shared key for 'gw-b.example' - 'gw-a.example', but MAC mismatched" in b
    assert not any(" established " in m for m in a + b)


def test_dpd_retransmits_then_gives_up() -> None:
    t = topo(duration=12.0, dpd_delay=1, retransmit_timeout=0.5, retransmit_base=1.0,
             retransmit_tries=2)
    t["links"]["wan-b"]["down"] = [[2.5, 100]]
    sim = Simulation.from_dict(t).run()
    a = messages(sim, A)
    assert a.count("sending DPD request") >= 2
    last = max(i for i, m in enumerate(a) if m == "sending DPD request")
    mid = re.match(r"generating INFORMATIONAL request (\d+) \[ \]", a[last + 1])
    assert mid, a[last:last + 3]
    assert a[last + 3:] == [f"retransmit 1 of request with message ID {mid.group(1)}", a[last + 4],
                            f"retransmit 2 of request with message ID {mid.group(1)}", a[last + 6],
                            "giving up after 2 retransmits"]
    assert a[last + 4].startswith("sending packet: from 198.51.100.1[500] to 203.0.113.1[500]")


def test_an_initiator_timeout_and_the_ids_of_a_restarted_daemon() -> None:
    t = topo(duration=9.0, retransmit_timeout=0.5, retransmit_base=1.0, retransmit_tries=1)
    t["links"]["wan-b"]["down"] = [[0, 3.2]]
    sim = Simulation.from_dict(t)
    sim.run(3.0)
    a = messages(sim, A)
    assert a[-4:] == ["retransmit 1 of request with message ID 0", a[-3],
                      "giving up after 1 retransmits", "establishing IKE_SA failed, peer not responding"]
    gw = sim.node(A)
    gw.restart(gw.rng.child("again"))  # type: ignore[attr-defined]
    sim.run(5.0)
    a = messages(sim, A)
    assert a.count("Starting IKE charon daemon (strongSwan 5.9.8, Linux, x86_64)") == 2
    again = a[a.index("Starting IKE charon daemon (strongSwan 5.9.8, Linux, x86_64)", 1):]
    assert again[1] == "initiating IKE_SA office-link[1] to 203.0.113.1"  # ids count from 1 again
    assert "establishing CHILD_SA lan-lan{1}" in again


def test_certificates_name_the_signature_scheme() -> None:
    sim = Simulation.from_file(TOPO / "road-warriors.yaml")
    sim.run(2.0)
    spoke = messages(sim, "spoke1-gw")
    hub = messages(sim, "hub")
    ok = re.compile(r"authentication of '(\S+)' with (ECDSA_WITH_SHA\d+_DER|RSA_EMSA_PKCS1_SHA2_\d+|"
                    r"ED25519) successful$")
    assert any(ok.match(m) and "'hub.example'" in m for m in spoke), [m for m in spoke if "auth" in m]
    mine = [m for m in spoke if m.startswith("authentication of 'spoke1.example' (myself) with ")]
    assert len(mine) == 1 and mine[0].endswith(" successful") and "pre-shared" not in mine[0]
    assert any(ok.match(m) and "'spoke1.example'" in m for m in hub)
    assert any(re.match(r"IKE_SA rw\[\d\] established between 192\.0\.2\.1\[hub\.example\]"
                        r"\.\.\.172\.16\.1\.1\[spoke1\.example\]", m) for m in hub)


def test_fragmented_ike_auth_is_split_and_reassembled() -> None:
    from tests.sim.test_ike_fragments import topo as frag_topo

    sim = Simulation.from_dict(frag_topo(fragment_size=576)).run(2.0)
    spoke = messages(sim, "spoke1-gw")
    split = [m for m in spoke if m.startswith("splitting IKE message (")]
    assert split and re.fullmatch(r"splitting IKE message \(\d+ bytes\) into (\d+) fragments", split[0])
    n = int(split[0].rsplit(" into ", 1)[1].split()[0])
    assert f"generating IKE_AUTH request 1 [ EF(1/{n}) ]" in spoke
    hub = messages(sim, "hub")
    assert any(re.fullmatch(rf"received fragment #{n} of {n}, reassembled fragmented IKE message "
                            r"\(\d+ bytes\)", m) for m in hub)


def test_run_writes_each_gateways_log(tmp_path: Path) -> None:
    from ipsecsim.sim.output import write_all

    sim = Simulation.from_dict(topo(duration=2.0))
    sim.run()
    write_all(sim, tmp_path, figures=False)
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["gw-a.log", "gw-b.log"]
    text = (tmp_path / "logs" / "gw-a.log").read_text()
    assert text == sim.node(A).charon_log.text()  # type: ignore[attr-defined]
    assert "IKE_SA office-link[1] established between" in text and text.endswith("\n")


def test_charon_spellings() -> None:
    tokens, frags = payload_tokens("IKE_AUTH request { IDi, CERT, N(INITIAL_CONTACT), CERTREQ, IDr, "
                                   "AUTH, N(USE_TRANSPORT_MODE), SA, TSi, TSr, N(MOBIKE_SUPPORTED), "
                                   "N(INTERMEDIATE_EXCHANGE_SUPPORTED), SKF(3 fragments) }")
    assert tokens == ["IDi", "CERT", "N(INIT_CONTACT)", "CERTREQ", "IDr", "AUTH", "N(USE_TRANSP)", "SA",
                      "TSi", "TSr", "N(MOBIKE_SUP)", "N((16438))"] and frags == 3
    assert payload_tokens("INFORMATIONAL response { }") == ([], 0)
    assert payload_tokens("CREATE_CHILD_SA response { SA, Nr, KE, N(TS_UNACCEPTABLE) }")[0] == \
        ["SA", "No", "KE", "N(TS_UNACCEPT)"]
    assert scheme_text(2) == "pre-shared key"
    assert scheme_text(14, "RSA", 2) == "RSA_EMSA_PKCS1_SHA2_256"
    assert scheme_text(14, "RSA", 3, pss=True) == "RSA_EMSA_PSS_SHA2_384_SALT_48"
    assert scheme_text(14, "ECDSA", 4) == "ECDSA_WITH_SHA512_DER"
    assert scheme_text(14, "Ed25519", 5) == "ED25519"
    assert scheme_text(9) == "ECDSA-256 signature" and scheme_text(1) == "RSA signature"


def test_a_log_fed_by_hand_with_no_node() -> None:
    from ipsecsim.core.ike import events as E
    from ipsecsim.core.ike.states import IkeState as S

    log = CharonLog("moon")
    log.feed(E.IkeStateChange("gw-gw[1]", S.CREATED, S.CONNECTING), 1.0)
    log.feed(E.IkeMessageEvent("out", ("192.168.0.1", 500), ("192.168.0.2", 500), "IKE_SA_INIT", 0,
                               False, "IKE_SA_INIT request { SA, KE, Ni }", b"\1" * 8, bytes(8), 240), 1.0)
    assert log.lines()[1:] == [
        "Jan  1 00:00:01 moon charon: 09[IKE] initiating IKE_SA gw-gw[1] to 192.168.0.2",
        "Jan  1 00:00:01 moon charon: 09[ENC] generating IKE_SA_INIT request 0 [ SA KE No ]",
        "Jan  1 00:00:01 moon charon: 09[NET] sending packet: from 192.168.0.1[500] to 192.168.0.2[500] "
        "(240 bytes)"]


def test_console_lines_come_after_what_was_fed() -> None:
    sim = Simulation.from_dict(topo(duration=1.0)).run()
    log = sim.node(A).charon_log  # type: ignore[attr-defined]
    log.log(sim.now, "CFG", "vici initiate CHILD_SA 'lan-lan'")
    assert log.messages()[-2:] == [log.messages()[-2], "vici initiate CHILD_SA 'lan-lan'"]
    assert log.messages()[-2].startswith("CHILD_SA lan-lan{1} established")
    assert log.lines()[-1] == "Jan  1 00:00:01 gw-a charon: 05[CFG] vici initiate CHILD_SA 'lan-lan'"


@pytest.mark.parametrize("name", sorted(p.stem for p in TOPO.glob("*.yaml")))
def test_every_shipped_topology_logs_without_holes(name: str) -> None:
    sim = Simulation.from_file(TOPO / f"{name}.yaml")
    sim.run(min(sim.duration, 4.0))
    for node in sim.net.nodes.values():
        log = getattr(node, "charon_log", None)
        if log is None:
            continue
        text = log.text()
        assert "\0" not in text and "?{" not in text
        ids = re.findall(r"CHILD_SA (\S+)\{(\d+)\} established", text)
        assert all(int(n) >= 1 for _, n in ids)
