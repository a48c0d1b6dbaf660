"""swanctl-shaped configuration: strongSwan's defaults (swanctl.conf(5)) and errors naming the key."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike.config import IkeConfig

BLOCK = {  # the example of /work/shared/INTERFACES.md
    "connections": {"office-link": {
        "local_addrs": ["198.51.100.1"], "remote_addrs": ["203.0.113.1"],
        "proposals": ["aes256gcm16-prfsha384-ecp384"],
        "local": {"auth": "psk", "id": "gw-a.example"},
        "remote": {"auth": "psk", "id": "gw-b.example"},
        "rekey_time": 14400, "dpd_delay": 30,
        "children": {"lan-lan": {
            "mode": "tunnel", "local_ts": ["10.1.0.0/16"], "remote_ts": ["10.2.0.0/16"],
            "esp_proposals": ["aes128gcm16-x25519"], "rekey_time": 3600, "life_time": 3960,
            "start_action": "start"}}}},
    "secrets": {"ike-1": {"id-1": "gw-a.example", "id-2": "gw-b.example",
                          "secret": "a long pre-shared key"}},
}


def test_interfaces_example_reads():
    cfg = IkeConfig.from_dict(BLOCK)
    conn = cfg.connection("office-link")
    assert conn.dpd_delay == 30 and conn.rekey_time == 14400
    assert conn.proposals[0].describe() == "ENCR_AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384"
    child = conn.child("lan-lan")
    assert child.start_action == "start" and child.pfs_groups == (31,)
    assert cfg.psk("gw-a.example", "gw-b.example") == b"a long pre-shared key"
    assert cfg.psk("gw-a.example", "stranger") == b"a long pre-shared key"  # one id matches
    assert cfg.psk("x", "y") is None


def test_strongswan_defaults():
    cfg = IkeConfig.from_dict({"connections": {"c": {"local_addrs": ["192.0.2.1"],
                                                     "children": {"k": {}}}}})
    conn = cfg.connections[0]
    # swanctl.conf(5): rekey_time 4h, over_time 10% of rekey_time, rand_time = over_time
    assert (conn.rekey_time, conn.over_time, conn.rand_time) == (14400, 1440, 1440)
    assert conn.dpd_delay == 0 and conn.encap is False
    assert (conn.retransmit_timeout, conn.retransmit_base, conn.retransmit_tries) == (4.0, 1.8, 5)
    assert conn.proposals and conn.proposals[0].text.startswith("aes128-aes192")
    child = conn.children[0]
    # child: rekey_time 1h, life_time = 1.1 × rekey_time, rand_time = life_time - rekey_time
    assert (child.rekey_time, child.life_time, child.rand_time) == (3600, 3960, 360)
    assert child.mode == "tunnel" and child.start_action == "none"
    assert child.local_ts == ("dynamic",) and child.remote_ts == ("dynamic",)
    assert child.protocol == "esp" and child.proposals[0].aead
    assert child.replay_window == 32 and child.dpd_action == "clear"


def test_byte_and_packet_life_default_to_110_percent():
    cfg = IkeConfig.from_dict({"connections": {"c": {"local_addrs": ["192.0.2.1"], "children": {
        "k": {"rekey_bytes": "1m", "rekey_packets": 1000, "rekey_time": "30m"}}}}})
    child = cfg.connections[0].children[0]
    assert child.rekey_bytes == 1048576 and child.life_bytes == int(1048576 * 1.1)
    assert child.life_packets == 1100 and child.rekey_time == 1800 and child.life_time == 1980


@pytest.mark.parametrize("patch,message", [
    ({"children": {"lan-lan": {"esp_proposals": ["aes128gmc16"]}}},
     "connections.office-link.children.lan-lan.esp_proposals: unknown algorithm 'aes128gmc16'"),
    ({"rekey_tme": 5}, "connections.office-link.rekey_tme: unknown key (did you mean 'rekey_time'"),
    ({"children": {"lan-lan": {"mode": "tunel"}}},
     "connections.office-link.children.lan-lan.mode: 'tunel' is not one of tunnel, transport "
     "(did you mean 'tunnel'?)"),
    ({"children": {"lan-lan": {"local_ts": ["10.1.0.0/33"]}}},
     "connections.office-link.children.lan-lan.local_ts: traffic selector '10.1.0.0/33'"),
    ({"dpd_delay": "soon"}, "connections.office-link.dpd_delay: expected a time"),
    ({"local": {"auth": "eap-md6"}},
     "connections.office-link.local.auth: 'eap-md6' is not one of psk, pubkey, eap, eap-md5, "
     "eap-mschapv2, eap-tls (did you mean 'eap-md5'"),
    ({"children": {"lan-lan": {"life_time": 100}}},
     "connections.office-link.children.lan-lan.life_time: 100 s is shorter than rekey_time"),
    ({"version": 1}, "connections.office-link.version: only IKEv2"),
])
def test_errors_name_the_key_path(patch, message):
    import copy

    d = copy.deepcopy(BLOCK)
    conn = d["connections"]["office-link"]
    for k, v in patch.items():
        if k == "children":
            conn["children"]["lan-lan"].update(v["lan-lan"])
        else:
            conn[k] = v
    with pytest.raises(ConfigError) as exc:
        IkeConfig.from_dict(d)
    assert message in str(exc.value)


def test_secret_errors_and_hex():
    with pytest.raises(ConfigError, match="secrets.ike-1: missing 'secret'"):
        IkeConfig.from_dict({"secrets": {"ike-1": {"id": "a"}}})
    with pytest.raises(ConfigError, match=r"secrets.ike-1.scret: unknown key \(did you mean 'secret'"):
        IkeConfig.from_dict({"secrets": {"ike-1": {"scret": "x"}}})
    cfg = IkeConfig.from_dict({"secrets": {"ike": {"secret": "0x0102ff"}}})
    assert cfg.psk("anyone") == b"\x01\x02\xff"


def test_unknown_connection_suggests():
    cfg = IkeConfig.from_dict(BLOCK)
    with pytest.raises(ConfigError, match="did you mean 'office-link'"):
        cfg.connection("office-lnk")
