"""moon and sun from swanctl folders: loaded, equal to their YAML spelling, and talking IKEv2.

The folders (tests/swanctl/folders.py) follow strongSwan's testing/tests/ikev2/net2net-psk
and net2net-cert on the standard test network; the handshake runs the two IkeConfigs
back to back in memory (tests/ike_pair.py), with no CA of the simulator: trust comes
from x509ca/ alone, as in charon.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import yaml

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike import events as E
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.swanctl import load_strongswan_conf, load_swanctl
from tests.helpers.ike_pair import Pair

from .folders import HOSTS, Ca, cert_folders, der_cert, psk_folders, write


def same(a: IkeConfig, b: IkeConfig) -> bool:
    return dataclasses.replace(a, source="") == dataclasses.replace(b, source="")


def handshake(moon: IkeConfig, sun: IkeConfig) -> Pair:
    p = Pair(moon, sun)
    p.a.initiate("gw-gw", p.now, child="net-net")
    p.pump()
    return p


def test_net2net_psk_loads_and_equals_its_yaml_spelling(tmp_path):
    dirs = psk_folders(tmp_path)
    moon = load_swanctl(str(dirs["moon"]))
    assert moon.warnings == ()
    assert moon.config.source == str(dirs["moon"] / "swanctl.conf")
    yaml_text = """
connections:
  gw-gw:
    local_addrs: [192.168.0.1]
    remote_addrs: [192.168.0.2]
    local: {auth: psk, id: moon.strongswan.org}
    remote: {auth: psk, id: sun.strongswan.org}
    children:
      net-net:
        local_ts: [10.1.0.0/16]
        remote_ts: [10.2.0.0/16]
        rekey_time: 5400
        rekey_bytes: 500000000
        rekey_packets: 1000000
        esp_proposals: [aes128gcm128-x25519]
    version: 2
    reauth_time: 10800
    proposals: [aes128-sha256-x25519]
secrets:
  ike-gw:
    id-moon: moon.strongswan.org
    id-sun: sun.strongswan.org
    secret: "0xbfe364c58f4b2d9bf08f8a820b6a3f806ad60c5d9ddb58cb"   # the 0s value in hex
"""
    assert same(moon.config, IkeConfig.from_dict(yaml.safe_load(yaml_text)))
    conn = moon.config.connection("gw-gw")
    assert (conn.rekey_time, conn.reauth_time) == (0, 10800)  # reauth only, as vici_config.c
    assert conn.child("net-net").life_time == 5940


def test_net2net_psk_moon_and_sun_establish(tmp_path):
    dirs = psk_folders(tmp_path)
    p = handshake(load_swanctl(str(dirs["moon"])).config, load_swanctl(str(dirs["sun"])).config)
    for side in "ab":
        assert len(p.of(side, E.IkeSaUp)) == 1 and len(p.of(side, E.ChildSaUp)) == 1


def test_names_in_remote_addrs_resolve_through_hosts(tmp_path):
    from .folders import psk_conf

    root = write(tmp_path / "moon", {"swanctl.conf": psk_conf("moon", peer_by_name=True)})
    assert load_swanctl(str(root), HOSTS).config.connection("gw-gw").remote_addrs == ("192.168.0.2",)
    with pytest.raises(ConfigError, match=r"swanctl.conf:6: connections.gw-gw.remote_addrs: "
                                          r"'sun.strongswan.org' is neither an address"):
        load_swanctl(str(root))


def test_net2net_cert_loads_equals_its_yaml_spelling_and_establishes(tmp_path):
    dirs = cert_folders(tmp_path)
    moon, sun = (load_swanctl(str(dirs[gw])) for gw in ("moon", "sun"))
    assert moon.warnings == () and sun.warnings == ()
    m = dirs["moon"]
    assert moon.data["connections"]["gw-gw"]["local"] == {
        "auth": "pubkey", "id": "moon.strongswan.org",
        "certs": [str(m / "x509" / "moonCert.pem")], "key": str(m / "private" / "moonKey.pem")}
    assert moon.data["connections"]["gw-gw"]["remote"] == {
        "auth": "pubkey", "id": "sun.strongswan.org",
        "cacerts": [str(m / "x509ca" / "strongswanCert.pem")]}  # every CA of x509ca/
    yaml_text = f"""
connections:
  gw-gw:
    local_addrs: [192.168.0.1]
    remote_addrs: [192.168.0.2]
    local: {{auth: pubkey, id: moon.strongswan.org, certs: [{m}/x509/moonCert.pem],
             key: {m}/private/moonKey.pem}}
    remote: {{auth: pubkey, id: sun.strongswan.org, cacerts: [{m}/x509ca/strongswanCert.pem]}}
    children:
      net-net: {{local_ts: [10.1.0.0/16], remote_ts: [10.2.0.0/16],
                 esp_proposals: [aes128gcm128-x25519]}}
    version: 2
    proposals: [aes128-sha256-x25519]
"""
    assert same(moon.config, IkeConfig.from_dict(yaml.safe_load(yaml_text)))
    p = handshake(moon.config, sun.config)
    assert len(p.of("a", E.ChildSaUp)) == 1 and len(p.of("b", E.ChildSaUp)) == 1


def test_a_certificate_of_another_ca_is_refused(tmp_path):
    dirs = cert_folders(tmp_path)
    stranger = cert_folders(tmp_path / "other", Ca.new("Some Other CA"))
    p = handshake(load_swanctl(str(dirs["moon"])).config,
                  load_swanctl(str(stranger["sun"])).config)
    assert not p.of("a", E.ChildSaUp) and not p.of("b", E.ChildSaUp)


def test_without_id_the_certificate_subject_is_the_identity(tmp_path):
    dirs = cert_folders(tmp_path)
    conf = dirs["moon"] / "swanctl.conf"
    conf.write_text(conf.read_text().replace("id = moon.strongswan.org", ""))
    local = load_swanctl(str(dirs["moon"])).config.connection("gw-gw").local
    assert local.id == "C=CH, O=strongSwan Project, CN=moon.strongswan.org"


def test_without_certs_the_certificate_is_found_by_identity(tmp_path):
    dirs = cert_folders(tmp_path)
    conf = dirs["moon"] / "swanctl.conf"
    conf.write_text(conf.read_text().replace("certs = moonCert.pem", ""))
    local = load_swanctl(str(dirs["moon"])).config.connection("gw-gw").local
    assert local.certs == (str(dirs["moon"] / "x509" / "moonCert.pem"),)


def test_missing_certificate_names_the_file(tmp_path):
    dirs = cert_folders(tmp_path)
    os.remove(dirs["moon"] / "x509" / "moonCert.pem")
    with pytest.raises(ConfigError) as err:
        load_swanctl(str(dirs["moon"]))
    assert str(err.value) == (f"{dirs['moon'] / 'swanctl.conf'}:8: connections.gw-gw.local.certs: "
                              f"{dirs['moon'] / 'x509' / 'moonCert.pem'}: no such file")


def test_missing_private_key_says_which_certificate(tmp_path):
    dirs = cert_folders(tmp_path)
    os.remove(dirs["moon"] / "private" / "moonKey.pem")
    with pytest.raises(ConfigError, match=r"moonCert.pem: no private key in private/, rsa/, "
                                          r"ecdsa/ or pkcs8/ matches this certificate$"):
        load_swanctl(str(dirs["moon"]))


def test_a_der_certificate_and_an_encrypted_der_key_authenticate(tmp_path):
    """swanctl takes PEM or DER in every folder and opens an encrypted key with the secrets
    entry whose file names it (swanctl --load-creds): moon's certificate is DER in x509/, its
    key encrypted PKCS#8 DER in pkcs8/; the IKE engine reads them as they are and the
    handshake authenticates with them."""
    from .folders import encrypted_key_folder

    m = encrypted_key_folder(tmp_path)
    ca_cert = (m / "x509ca" / "strongswanCert.pem").read_bytes()
    from cryptography import x509 as X

    der = X.load_pem_x509_certificate((m / "x509" / "moonCert.pem").read_bytes())
    (m / "x509" / "moonCert.pem").unlink()
    write(m, {"x509/moonCert.der": der_cert(der)})
    conf = m / "swanctl.conf"
    conf.write_text(conf.read_text().replace("moonCert.pem", "moonCert.der"))
    moon = load_swanctl(str(m))
    local = moon.config.connection("gw-gw").local
    assert local.certs == (str(m / "x509" / "moonCert.der"),)
    assert local.key == str(m / "pkcs8" / "moonKey.der")
    assert moon.config.key_passwords(local.key) == [b"s3cret moon"]
    assert moon.config.psk("moon.strongswan.org", "sun.strongswan.org") is None  # not a PSK
    sun_dir = tmp_path / "sun" / "etc" / "swanctl"
    write(sun_dir, {"x509ca/strongswanCert.pem": ca_cert})
    sun = load_swanctl(str(sun_dir))
    p = handshake(moon.config, sun.config)
    assert len(p.of("a", E.ChildSaUp)) == 1 and len(p.of("b", E.ChildSaUp)) == 1


def test_the_yaml_spelling_takes_the_same_key_password(tmp_path):
    """``secrets: {pkcs8-moon: {file, secret}}`` in an ipsec: block opens the same key; a
    wrong one says so when the key is first used."""
    from ipsecsim.core.ike.certs import AuthError
    from ipsecsim.core.ike.credentials import _key_file

    from .folders import encrypted_key_folder

    m = encrypted_key_folder(tmp_path)
    key = str(m / "pkcs8" / "moonKey.der")
    cfg = IkeConfig.from_dict({"secrets": {"pkcs8-moon": {"file": "moonKey.der",
                                                          "secret": "s3cret moon"}}})
    assert cfg.key_passwords(key) == [b"s3cret moon"]
    assert _key_file(key, tuple(cfg.key_passwords(key))) is not None
    with pytest.raises(AuthError, match=r"moonKey.der: wrong password"):
        _key_file(key, (b"guess",))
    with pytest.raises(AuthError, match=r"moonKey.der: the key is encrypted and no secrets "
                                        r"entry gives its password"):
        _key_file(key, ())
    with pytest.raises(ConfigError, match="a key password has file and secret, no ids"):
        IkeConfig.from_dict({"secrets": {"private-x": {"file": "k.pem", "id": "a", "secret": "s"}}})


def test_ikeconfig_errors_get_the_file_and_line_of_the_key(tmp_path):
    dirs = psk_folders(tmp_path)
    conf = dirs["moon"] / "swanctl.conf"
    conf.write_text(conf.read_text().replace("rekey_time = 5400", "rekey_time = 5400\n"
                                             "            mode = beet"))
    with pytest.raises(ConfigError) as err:
        load_swanctl(str(dirs["moon"]))
    assert str(err.value).startswith(
        f"{conf}:22: connections.gw-gw.children.net-net.mode: 'beet' is not one of tunnel, "
        "transport")


def test_includes_and_strongswan_conf_in_a_real_layout(tmp_path):
    from .folders import psk_conf

    root = tmp_path / "moon" / "etc"
    text = psk_conf("moon")
    conn, secrets = text.split("secrets {")
    write(root, {
        "swanctl/swanctl.conf": conn + "include conf.d/*.conf\n",
        "swanctl/conf.d/secrets.conf": "secrets {" + secrets,
        "strongswan.conf": "charon {\n  retransmit_tries = 3\n  include strongswan.d/*.conf\n}\n",
        "strongswan.d/charon.conf": "keep_alive = 5s\nplugins { vici { load = yes } }\n",
    })
    got = load_swanctl(str(root / "swanctl"), strongswan_conf=str(root / "strongswan.conf"))
    assert got.config.connection("gw-gw").retransmit_tries == 3
    assert got.config.nat_keepalive == 5.0
    assert got.config.psk("moon.strongswan.org", "sun.strongswan.org") is not None
    assert got.warnings == (f"{root / 'strongswan.d' / 'charon.conf'}:2: charon.plugins: not "
                            "modelled by the simulator (ignored): plugin settings are not modelled",)
    opts, warnings = load_strongswan_conf(str(root / "strongswan.conf"))
    assert opts == {"retransmit_tries": 3, "nat_keepalive": "5s"} and len(warnings) == 1


def test_a_missing_folder_and_bad_text(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere/swanctl.conf: no such file$"):
        load_swanctl(str(tmp_path / "nowhere"))
    write(tmp_path / "bad", {"swanctl.conf": b"connections { \xff }"})
    with pytest.raises(ConfigError, match=r"bad/swanctl.conf: not UTF-8 text"):
        load_swanctl(str(tmp_path / "bad"))


# What charon 5.9.8 listed for tricky_folder() (vici list-conns after swanctl --load-all,
# recorded on this machine; test_charon_oracle.py checks it live): (local_addrs,
# remote_addrs, rekey_time, reauth_time, local id, remote id, children: (name, mode,
# rekey_time, local-ts, remote-ts)).
CHARON_LISTED = {
    "gw": (["192.168.0.1"], ["192.168.0.2", "192.168.0.3", "192.168.0.4"], 14400, 0,
           'moon "the gateway"', "C=CH, O=strongSwan Project, CN=sun.strongswan.org",
           [("net", "TUNNEL", 3600, ["10.1.0.0/16", "10.3.0.0/24"], ["10.2.0.0/16"])]),
    "second": (["192.168.0.1"], ["%any"], 14400, 0, "", "back\\slashq",
               [("other", "TUNNEL", 3600, ["dynamic"], ["dynamic"])]),
}


def listed(cfg: IkeConfig) -> dict:
    """Our IkeConfig in the shape of CHARON_LISTED."""
    return {c.name: (list(c.local_addrs), list(c.remote_addrs) or ["%any"], int(c.rekey_time),
                     int(c.reauth_time), c.local.id, c.remote.id,
                     [(k.name, k.mode.upper(), int(k.rekey_time), list(k.local_ts),
                       list(k.remote_ts)) for k in c.children])
            for c in cfg.connections}


def test_syntax_corner_cases_read_as_charon_read_them(tmp_path):
    from .folders import tricky_folder

    got = load_swanctl(str(tricky_folder(tmp_path)))
    assert listed(got.config) == CHARON_LISTED
    assert got.config.psk('moon "the gateway"') == bytes.fromhex(
        "bfe364c58f4b2d9bf08f8a820b6a3f806ad60c5d9ddb58cb")


def test_an_rsa_key_in_rsa_and_an_ecdsa_key_in_ecdsa_establish(tmp_path):
    """RSA (PKCS#1 PEM in rsa/) on moon, ECDSA (SEC1 PEM in ecdsa/) on sun, one CA."""
    from .folders import mixed_key_folders

    dirs = mixed_key_folders(tmp_path)
    moon, sun = (load_swanctl(str(dirs[gw])) for gw in ("moon", "sun"))
    assert moon.config.connection("gw-gw").local.key == str(dirs["moon"] / "rsa" / "moonKey.pem")
    assert sun.config.connection("gw-gw").local.key == str(dirs["sun"] / "ecdsa" / "sunKey.pem")
    p = handshake(moon.config, sun.config)
    assert len(p.of("a", E.ChildSaUp)) == 1 and len(p.of("b", E.ChildSaUp)) == 1
