"""tshark decrypts a capture of ipsecsim talking to charon, with keys ipsecsim exported.

The capture is taken on the veth in charon's namespace (dumpcap), so it holds
what charon really sent and received. ``ipsecsim peer`` keeps a Wireshark folder
(``wireshark: DIR``: ``ikev2_decryption_table``, ``esp_sa``, ``preferences``) from
its own keys; tshark 4.0 then reads the identities out of the encrypted IKE_AUTH
(RFC 7296 §3.5, payload types 35 IDi / 36 IDr) and decrypts every ESP packet with a
good ICV (RFC 4303). If ipsecsim's keys were wrong, tshark would show neither.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers.oracles import need_tool
from tests.interop.capture import Capture
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.tunnel import CHARON_ID, PEER_ID, start_tunnel

pytestmark = pytest.mark.oracle


def tshark(pcap: str, config_dir: str, fields: list[str], display_filter: str = "") -> list[list[str]]:
    argv = ["tshark", "-r", pcap, "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
            "-E", "aggregator=,"]
    for f in fields:
        argv += ["-e", f]
    if display_filter:
        argv += ["-Y", display_filter]
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=config_dir)
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


@pytest.mark.parametrize("initiator, ike, esp", [
    ("charon", "aes256gcm16-prfsha384-ecp384", "aes128gcm16"),
    ("ipsecsim", "aes128-sha256-x25519", "aes256-sha256"),
])
def test_tshark_reads_ids_and_decrypts_esp_with_ipsecsims_keys(interop, initiator, ike, esp) -> None:  # noqa: F811
    need_tool("tshark")
    need_tool("dumpcap")
    env = interop
    ws_dir = os.path.join(env.dir, "wireshark")
    cap = Capture(env.left, os.path.join(env.dir, "charon-side.pcapng"))
    try:
        start_tunnel(env, initiator, [ike], [esp], peer_extra={"wireshark": ws_dir})
        sent, received, out = env.left.ping(env.right.inner[0], count=3, src=env.left.inner[0])
        assert (sent, received) == (3, 3), out
    finally:
        pcap = cap.stop()

    with open(os.path.join(ws_dir, "ikev2_decryption_table")) as f:
        assert sum(1 for line in f if not line.startswith("#")) == 1

    # IKE_AUTH (exchange type 35): IDi and IDr read from the decrypted SK payload
    rows = tshark(pcap, ws_dir, ["isakmp.exchangetype", "isakmp.typepayload", "isakmp.id.data.fqdn"],
                  "isakmp.exchangetype == 35")
    assert len(rows) == 2, rows  # request and response
    ids = {fq for _x, _t, fqdns in rows for fq in fqdns.split(",") if fq}
    assert ids == {CHARON_ID, PEER_ID}
    payload_types = {t for _x, types, _f in rows for t in types.split(",")}
    assert {"35", "36", "39"} <= payload_types  # IDi, IDr, AUTH inside SK

    # every ESP packet decrypts to ICMP with a good ICV, both directions
    esp_rows = tshark(pcap, ws_dir, ["frame.protocols", "esp.icv_good", "ip.src"], "esp")
    assert len(esp_rows) == 6, esp_rows  # 3 requests, 3 replies
    for protocols, icv_good, _src in esp_rows:
        assert protocols.endswith("esp:ip:icmp:data"), protocols
        assert icv_good == "1" or icv_good.lower() == "true", esp_rows
    srcs = {r[2].split(",")[0] for r in esp_rows}
    assert srcs == {env.left.addr, env.right.addr}


def test_keys_after_rekeys_still_decrypt(interop) -> None:  # noqa: F811
    """ipsecsim rekeys the IKE_SA after 2 s and the CHILD_SA after 3 s: the folder it keeps
    gains a line per new SA, and tshark decrypts every CREATE_CHILD_SA (the IKE rekey under
    the old IKE_SA, the child rekey under the new one) and every ESP packet before and after."""
    need_tool("tshark")
    need_tool("dumpcap")
    env = interop
    ws_dir = os.path.join(env.dir, "wireshark")

    def rekeys(conf: dict) -> None:
        c = conf["connections"]["interop"]
        c.update(rekey_time="2s", rand_time=0)
        c["children"]["net"].update(rekey_time="3s", rand_time=0, life_time="60s")

    cap = Capture(env.left, os.path.join(env.dir, "rekeys.pcapng"))
    try:
        start_tunnel(env, "ipsecsim", ["aes256-sha256-x25519"], ["aes128gcm16"],
                     peer_extra={"wireshark": ws_dir}, edit_peer=rekeys)
        sent, received, out = env.left.ping(env.right.inner[0], count=20, interval=0.2,
                                            src=env.left.inner[0])
        assert (sent, received) == (20, 20), out
    finally:
        pcap = cap.stop()

    with open(os.path.join(ws_dir, "ikev2_decryption_table")) as f:
        assert sum(1 for line in f if not line.startswith("#")) >= 2
    rows = tshark(pcap, ws_dir, ["frame.number", "isakmp.typepayload"], "isakmp.exchangetype == 36")
    assert len(rows) >= 4, rows  # IKE rekey + child rekey, request and response each
    for number, types in rows:
        # SA (33) and Nonce (40) read from inside the SK payload (46)
        assert {"33", "40", "46"} <= set(types.split(",")), (number, types)
    esp_rows = tshark(pcap, ws_dir, ["frame.protocols", "esp.spi"], "esp")
    assert len(esp_rows) == 40
    assert all(p.endswith("esp:ip:icmp:data") for p, _spi in esp_rows), esp_rows
    assert len({spi for _p, spi in esp_rows}) >= 4  # two generations, two directions
