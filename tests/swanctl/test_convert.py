"""swanctl.conf's tree -> IkeConfig's dict: what is mapped, what is warned, what is refused.

Key names, defaults and list keys are swanctl.conf(5)'s (strongSwan 5.9.8) and swanctl's
``load_conns.c``; charon refuses a key it does not know (``vici_config.c``: "unknown
option"), so do we, with a did-you-mean.
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.swanctl.convert import convert, locate
from ipsecsim.swanctl.parser import parse

from .folders import HOSTS, psk_conf

F = "moon/etc/swanctl/swanctl.conf"
PSK = "local { auth = psk }\nremote { auth = psk }"


def conv(text: str, hosts=None) -> tuple[dict, list[str]]:
    tree, warnings = parse(text, F)
    assert warnings == []
    return convert(tree, hosts)


def error(text: str, hosts=None) -> str:
    with pytest.raises(ConfigError) as err:
        conv(text, hosts)
    return str(err.value)


def test_net2net_psk_maps_to_the_yaml_spelling():
    d, warnings = conv(psk_conf("moon"))
    assert warnings == []
    assert d == {
        "connections": {"gw-gw": {
            "local_addrs": ["192.168.0.1"], "remote_addrs": ["192.168.0.2"],
            "version": "2", "reauth_time": "10800", "proposals": ["aes128-sha256-x25519"],
            "local": {"auth": "psk", "id": "moon.strongswan.org"},
            "remote": {"auth": "psk", "id": "sun.strongswan.org"},
            "children": {"net-net": {
                "local_ts": ["10.1.0.0/16"], "remote_ts": ["10.2.0.0/16"], "rekey_time": "5400",
                "rekey_bytes": "500000000", "rekey_packets": "1000000",
                "esp_proposals": ["aes128gcm128-x25519"]}}}},
        # 0s (base64) is handed on as 0x (hex), which IkeConfig decodes
        "secrets": {"ike-gw": {"id-moon": "moon.strongswan.org", "id-sun": "sun.strongswan.org",
                               "secret": "0xbfe364c58f4b2d9bf08f8a820b6a3f806ad60c5d9ddb58cb"}}}
    assert IkeConfig.from_dict(d).psk("moon.strongswan.org", "sun.strongswan.org") == bytes.fromhex(
        "bfe364c58f4b2d9bf08f8a820b6a3f806ad60c5d9ddb58cb")


def test_lists_are_split_at_commas_and_trimmed():
    d, _ = conv("connections { c { local_addrs = 192.168.0.1 ,10.1.0.1, \n"
                "proposals = aes128-sha256-x25519, aes256gcm16-prfsha384-ecp384\n"
                f"{PSK}\nchildren {{ k {{ local_ts = 10.1.0.0/16,10.3.0.0/24 }} }} }} }}")
    c = d["connections"]["c"]
    assert c["local_addrs"] == ["192.168.0.1", "10.1.0.1"]
    assert c["proposals"] == ["aes128-sha256-x25519", "aes256gcm16-prfsha384-ecp384"]
    assert c["children"]["k"]["local_ts"] == ["10.1.0.0/16", "10.3.0.0/24"]


def test_names_in_addrs_resolve_through_hosts():
    d, _ = conv(psk_conf("moon", peer_by_name=True), HOSTS)
    assert d["connections"]["gw-gw"]["remote_addrs"] == ["192.168.0.2"]
    d, _ = conv("connections { c { remote_addrs = %any, 10.0.0.0/8, 10.0.0.1-10.0.0.9, fec0::2, "
                f"dual.example\n{PSK} }} }}", {"Dual.Example": ["192.0.2.1", "2001:db8::1"]})
    assert d["connections"]["c"]["remote_addrs"] == ["%any", "10.0.0.0/8", "10.0.0.1-10.0.0.9",
                                                     "fec0::2", "192.0.2.1", "2001:db8::1"]
    assert error(psk_conf("moon", peer_by_name=True), {"sun.strongswan.org.": "192.168.0.2"}) == (
        f"{F}:6: connections.gw-gw.remote_addrs: 'sun.strongswan.org' is neither an address, a "
        "subnet or a range nor a name in hosts (did you mean 'sun.strongswan.org.'?)")


def test_local_pubkey_needs_a_certificate():
    msg = error("connections { c {\n local { id = me }\n} }\n")
    assert msg == (f"{F}:2: connections.c.local: auth = pubkey, but no certificate in x509/ "
                   "vouches for 'me' with its private key (give certs = FILE)")


def test_remote_without_auth_accepts_any_in_strongswan_and_is_warned():
    _, warnings = conv("connections { c {\n local { auth = psk }\n remote { id = x }\n} }\n")
    assert warnings == [f"{F}:3: connections.c.remote.auth: not set: strongSwan then accepts any "
                        "method, the simulator requires pubkey (swanctl.conf's default)",
                        f"{F}:3: connections.c.remote: auth = pubkey, but no CA certificate in "
                        "x509ca/ (nor cacerts) can vouch for the peer's certificate"]


def test_unmodelled_keys_are_warned_with_file_line_and_path():
    text = """connections {
   rw {
      local_addrs = 192.168.0.1
      mobike = yes
      keyingtries = 0
      send_certreq = yes
      dpd_timeout = 150s
      vips = 0.0.0.0
      local { auth = psk }
      remote { auth = psk
               revocation = strict }
      children {
         net {
            updown = /usr/local/libexec/ipsec/_updown iptables
            policies = yes
            ipcomp = no
            hw_offload = yes
            mark_in = 0/0x00000000
         }
      }
   }
}
"""
    d, warnings = conv(text)
    why = "not modelled by the simulator (ignored): "
    assert warnings == [
        f"{F}:4: connections.rw.mobike: {why}MOBIKE (RFC 4555) is not implemented: the "
        "simulator neither announces nor uses it",
        f"{F}:5: connections.rw.keyingtries: {why}retrying a failed IKE_SA setup is not modelled",
        f"{F}:7: connections.rw.dpd_timeout: {why}IKEv1 only in strongSwan; no effect with IKEv2",
        f"{F}:11: connections.rw.remote.revocation: {why}revocation checking (CRL, OCSP) is "
        "not modelled",
        f"{F}:14: connections.rw.children.net.updown: {why}updown scripts are not run",
        f"{F}:17: connections.rw.children.net.hw_offload: {why}hardware offload is not modelled",
    ]
    rw = d["connections"]["rw"]
    # kept because IkeConfig records them (a YAML spelling with the same keys is equal)
    assert rw["mobike"] == "yes" and rw["dpd_timeout"] == "150s"
    assert rw["vips"] == ["0.0.0.0"] and "keyingtries" not in rw and rw["children"]["net"] == {}
    IkeConfig.from_dict(d)
    # what the simulator does anyway is no warning: mobike = no, keyingtries = 1
    _d, quiet = conv(text.replace("mobike = yes", "mobike = no").replace("keyingtries = 0", "keyingtries = 1"))
    assert not [w for w in quiet if ".mobike:" in w or ".keyingtries:" in w]


def test_unknown_keys_are_errors_with_did_you_mean():
    assert error("connections {\n gw {\n  mobik = no\n } }").startswith(
        f"{F}:3: connections.gw.mobik: unknown key (did you mean 'mobike'?); swanctl.conf(5) has "
        "version, local_addrs,")
    assert error("connections { gw { children { net {\n  esp_proposal = aes128 } }\n"
                 f"{PSK} }} }}").startswith(
        f"{F}:2: connections.gw.children.net.esp_proposal: unknown key (did you mean "
        "'esp_proposals' or 'ah_proposals'?)")
    assert error("connections { gw {\n loc { auth = psk } } }").startswith(
        f"{F}:2: connections.gw.loc: unknown section (did you mean 'local'?)")
    assert error("connections { gw {\n retransmit_tries = 3 } }") == (
        f"{F}:2: connections.gw.retransmit_tries: not a swanctl.conf key (strongSwan refuses "
        "it); set charon.retransmit_tries in strongswan.conf")
    assert error("connections { gw { local {\n key = moonKey.pem } } }").startswith(
        f"{F}:2: connections.gw.local.key: unknown key")


def test_unknown_top_level_sections_are_warnings_unless_templates():
    d, warnings = conv("conn-defaults { version = 2 }\nconnection { }\n"
                       "connections { gw : conn-defaults { local { auth = psk }\n"
                       " remote { auth = psk } } }\n")
    assert d["connections"]["gw"]["version"] == "2"
    assert warnings == [f"{F}:2: connection: not read by swanctl (ignored) (did you mean "
                        "'connections'?): swanctl.conf has connections, secrets, pools, "
                        "authorities, other sections serve only as templates (name : template "
                        "{ ... })"]


def test_empty_assignment_leaves_the_default():
    d, _ = conv("connections { gw { rekey_time =\n local { auth = psk }\n remote { auth = psk } } }")
    assert "rekey_time" not in d["connections"]["gw"]


def test_authentication_rounds_by_round_then_position():
    text = """connections { gw {
  local-b { auth = psk
            round = 1 }
  local-a { auth = psk
            id = first
            round = 0 }
  remote { auth = psk }
} }
"""
    d, warnings = conv(text)
    assert d["connections"]["gw"]["local"] == {"auth": "psk", "id": "first"}
    assert warnings == [f"{F}:2: connections.gw.local-b: not modelled by the simulator (ignored): "
                        "a further authentication round other than EAP (RFC 4739)"]
    tree, _ = parse(text, F)
    assert locate(tree, "connections.gw.local.id") == f"{F}:5"


def test_unmodelled_eap_methods_are_refused_and_auth_constraints_are_warned():
    assert error("connections { gw { local { auth = psk }\n remote {\n auth = eap-radius } } }") == (
        f"{F}:3: connections.gw.remote.auth: 'eap-radius' is not modelled by the simulator: its "
        "EAP methods are eap-md5, eap-mschapv2 and eap-tls")
    assert error("connections { gw { local { auth = psk }\n remote {\n auth = eap-md6 } } }") == (
        f"{F}:3: connections.gw.remote.auth: 'eap-md6' is not an authentication method (did you "
        "mean 'eap-md5' or 'eap'?)")
    assert error("connections { gw { local {\n auth = pks } } }") == (
        f"{F}:2: connections.gw.local.auth: 'pks' is not an authentication method (did you mean "
        "'psk'?)")


def test_secrets_hex_base64_and_other_types():
    text = """secrets {
   ike-1 { id = a
           secret = 0X0102ff }
   ike-2 { secret = "0sAQID" }
   ike-plain { secret = "a long pre-shared key" }
   ike-empty { id = b }
   eap-carol { id = carol
               secret = Ar3etTnp }
   private-moon { file = moonKey.pem
                  secret = pw }
   token-x { handle = 0102 }
}
"""
    d, warnings = conv(text)
    assert d["secrets"] == {"ike-1": {"id": "a", "secret": "0x0102ff"},
                            "ike-2": {"secret": "0x010203"},
                            "ike-plain": {"secret": "a long pre-shared key"},
                            "eap-carol": {"id": "carol", "secret": "Ar3etTnp"},
                            # a key password, for the IKE engine to open that file with
                            "private-moon": {"file": "moon/etc/swanctl/private/moonKey.pem",
                                             "secret": "pw"}}
    assert warnings == [
        f"{F}:6: secrets.ike-empty: no secret (ignored, as swanctl does)",
        f"{F}:11: secrets.token-x: not modelled by the simulator (ignored): certificates and keys "
        "on tokens (PKCS#11) are not modelled"]
    cfg = IkeConfig.from_dict(d)
    assert cfg.psk("a") == b"\x01\x02\xff"
    assert cfg.eap_secret("carol") == b"Ar3etTnp" and cfg.psk("carol") != b"Ar3etTnp"


@pytest.mark.parametrize("text, message", [
    ("secrets { ike-1 {\n secret = 0xabc } }", f"{F}:2: secrets.ike-1.secret: 0x... must be hex"),
    ("secrets { ike-1 {\n secret = 0s!!!! } }", f"{F}:2: secrets.ike-1.secret: 0s... must be base64"),
    ("secrets {\n ik-1 { secret = x } }", f"{F}:2: secrets.ik-1: unknown type of secret (did you "
                                         "mean 'ike'?)"),
    ("secrets { ike-1 {\n secrte = x } }", f"{F}:2: secrets.ike-1.secrte: unknown key (did you "
                                          "mean 'secret'?)"),
    ("secrets { private-1 {\n fiel = x } }", f"{F}:2: secrets.private-1.fiel: unknown key (did "
                                            "you mean 'file'?)"),
])
def test_secret_errors(text, message):
    assert error(text).startswith(message)


def test_pools_are_validated_and_warned():
    d, warnings = conv("pools {\n rw_pool { addrs = 10.3.0.0/28\n dns = 10.1.0.20, 10.1.0.21\n"
                       " split_include = 10.1.0.0/16 } }\n")
    assert d == {"pools": {"rw_pool": {"addrs": "10.3.0.0/28", "dns": ["10.1.0.20", "10.1.0.21"]}}}
    assert warnings == [f"{F}:4: pools.rw_pool.split_include: not modelled by the simulator "
                        "(ignored): a CFG_REPLY carries only dns, nbns, dhcp, netmask, subnet"]
    assert IkeConfig.from_dict(d).pools[0].attributes == (("dns", "10.1.0.20"), ("dns", "10.1.0.21"))
    assert error("pools {\n p {\n addrs = 10.3.0.0/33 } }") == (
        f"{F}:3: pools.p.addrs: '10.3.0.0/33' is not a subnet or an address range")
    assert error("pools {\n p {\n addrs = 10.3.0.0/28\n dsn = 1.1.1.1 } }").startswith(
        f"{F}:4: pools.p.dsn: unknown pool attribute (did you mean 'dns'?)")


def test_psk_rounds_with_certificates_warn():
    _, warnings = conv("connections { gw { local { auth = psk\n certs = moonCert.pem }\n"
                       " remote { auth = psk } } }")
    assert warnings == [f"{F}:2: connections.gw.local.certs: not modelled by the simulator "
                        "(ignored): certificates with auth = psk"]


def test_action_spellings_charon_takes_as_one():
    # vici_config.c parse_action: start = restart, route = trap, none = clear
    d, _ = conv(f"connections {{ gw {{ local_addrs = 192.0.2.1\n{PSK}\n children {{\n"
                " a { start_action = route\n dpd_action = none\n close_action = restart }\n"
                " b { start_action = Start\n dpd_action = start\n close_action = clear } } } }")
    children = IkeConfig.from_dict(d).connection("gw").children
    assert [(c.start_action, c.dpd_action, c.close_action) for c in children] == [
        ("trap", "clear", "start"), ("start", "restart", "none")]


def test_raw_public_keys_alone_are_refused():
    # strongSwan's ikev2/net2net-pubkey authenticates with pubkeys = moonPub.pem only
    assert error("connections { gw { local { auth = pubkey\n pubkeys = moonPub.pem } } }") == (
        f"{F}:2: connections.gw.local.pubkeys: raw public key authentication is not modelled by "
        "the simulator (only certificates and psk)")
