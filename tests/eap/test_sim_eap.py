"""A simulated road warrior with EAP-MSCHAPv2 and one with a certificate then EAP-MD5
(tests/eap/eap-road-warrior.yaml), against one gateway: conservation, the ladder, the console's
daemon.log, and tshark (an independent dissector) reading the EAP packets and decrypting
every ESP packet with the run's wireshark/ folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ipsecsim.sim.output import write_all
from ipsecsim.sim.runner import Simulation
from ipsecsim.sim.topology import load
from tests.helpers.oracles import need_tool
from tests.helpers.sim_topos import assert_conserved

TOPO = Path(__file__).with_name("eap-road-warrior.yaml")


def _run(tmp_path: Path) -> Simulation:
    sim = Simulation.from_dict(load(TOPO)).run()
    write_all(sim, tmp_path, figures=False)
    return sim


def test_eap_road_warriors_come_up_and_ping(tmp_path: Path) -> None:
    sim = _run(tmp_path)
    s = assert_conserved(sim)
    assert s == {**s, "sent": 12, "delivered": 12, "dropped": {}}
    summ = sim.summary()
    assert summ["ike"]["established"] == 2 and summ["ike"]["failures"] == []
    ladder = [r[9] for r in sim.trace.of("ike_msg") if r[3] == "carol" and r[6] == "IKE_AUTH"]
    assert ladder[:2] == ["IKE_AUTH request { IDi, N(INITIAL_CONTACT), CERTREQ, IDr, SA, TSi, TSr }",
                          "IKE_AUTH response { IDr, CERT, AUTH, EAP/REQ/ID }"]
    assert len(ladder) == 10  # Identity, Challenge/Response, Success/Success, EAP-Success, AUTH
    moon = (tmp_path / "logs" / "moon.log").read_text()
    for line in ("initiating EAP_IDENTITY method (id 0x00)",
                 "received EAP identity 'carol@strongswan.org'",
                 "EAP method EAP_MSCHAPV2 succeeded, MSK established",
                 "authentication of 'carol@strongswan.org' with EAP successful",
                 "authentication of 'dave@strongswan.org' with RSA_EMSA_PKCS1_SHA2_256 successful",
                 "EAP method EAP_MD5 succeeded, no MSK established",
                 "authentication of 'dave@strongswan.org' with EAP successful"):
        assert line in moon, line
    carol = (tmp_path / "logs" / "carol.log").read_text()
    assert "server requested EAP_IDENTITY (id 0x00), sending 'carol@strongswan.org'" in carol
    assert "EAP-MS-CHAPv2 succeeded: 'Welcome2strongSwan'" in carol
    notes = [r for r in sim.trace.of("note") if "EAP" in str(r)]
    assert notes, "EAP steps are in the trace"


def _tshark(tmp_path: Path, pcap: str, *fields: str) -> list[tuple[str, ...]]:
    tshark = need_tool("tshark")
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=str(tmp_path / "wireshark"))
    out = subprocess.run([tshark, "-r", str(tmp_path / "pcap" / pcap), "-T", "fields",
                          *[a for f in fields for a in ("-e", f)]],
                         capture_output=True, text=True, env=env, check=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines()]


def test_tshark_reads_the_eap_exchange_and_decrypts_every_esp_packet(tmp_path: Path) -> None:
    _run(tmp_path)
    rows = _tshark(tmp_path, "net-c.pcap", "frame.protocols", "eap.code", "eap.type")
    eap = [(code, typ) for proto, code, typ in rows if proto.endswith("eap")]
    # Request/Response Identity (1), three MSCHAPv2 (26) halves each way, then Success (3)
    assert eap == [("1", "1"), ("2", "1"), ("1", "26"), ("2", "26"), ("1", "26"), ("2", "26"),
                   ("3", "")]
    rows_d = _tshark(tmp_path, "net-d.pcap", "frame.protocols", "eap.code", "eap.type")
    assert [(c, t) for p, c, t in rows_d if "eap" in p] == [("1", "4"), ("2", "4"), ("3", "")]
    for pcap in ("net-c.pcap", "net-d.pcap"):
        esp = [p for p, *_ in _tshark(tmp_path, pcap, "frame.protocols") if ":esp" in p]
        assert esp and all(p.endswith("esp:ip:icmp:data") for p in esp), pcap


def test_check_locates_an_unknown_eap_method_with_did_you_mean(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = TOPO.read_text().replace("auth: eap-mschapv2, id: carol", "auth: eap-mschapv3, id: carol", 1)
    bad.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "eap-mschapv3" in ln)
    proc = subprocess.run([sys.executable, "-m", "ipsecsim", "check", str(bad)], capture_output=True,
                          text=True, env=dict(os.environ))
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"{bad}:{line}: nodes.carol.ipsec: connections.home.local.auth: 'eap-mschapv3' is not "
        "one of psk, pubkey, eap, eap-md5, eap-mschapv2, eap-tls (did you mean 'eap-mschapv2'?)")
