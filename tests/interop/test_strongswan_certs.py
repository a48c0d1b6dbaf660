"""Certificate authentication between ipsecsim and charon, with a CA ipsecsim minted.

ipsecsim's deterministic CA (``ipsecsim.core.ike.ca``) issues both end certificates;
charon loads the CA, its certificate and key as PEM files, ipsecsim the same files
through ``auth: pubkey`` with ``certs:``/``key:``/``cacerts:``. Each side verifies
the other's chain and signature (RFC 7296 §2.15 AUTH, RFC 7427 digital signatures
with SIGNATURE_HASH_ALGORITHMS), then a ping crosses the CHILD_SA.
"""

from __future__ import annotations

import os
import re

import pytest

from ipsecsim.core.ike.ca import CertificateAuthority, write_swanctl
from ipsecsim.core.rng import Rng
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.tunnel import CHARON_ID, PEER_ID, start_tunnel

pytestmark = pytest.mark.oracle

# how charon names the signature it verified, per key type
SCHEME = {"ecdsa": "ECDSA", "rsa": "RSA", "ed25519": "ED25519"}


def _credentials(workdir: str, key_type: str, seed: int) -> dict[str, dict[str, str]]:
    """CA + one certificate each. charon's go where swanctl looks: beside its swanctl.conf
    (the harness's charon folder is ``<workdir>/charon``), in x509ca/, x509/ and private/."""
    ca = CertificateAuthority(Rng(seed, "interop-ca"), "ipsecsim interop CA", key_type)
    out = {}
    for who, ident, folder in (("charon", CHARON_ID, "charon"), ("peer", PEER_ID, "peer-creds")):
        issued = ca.issue(ident, key_type)
        paths = write_swanctl(os.path.join(workdir, folder), ca, issued, who)
        out[who] = {k: str(v) for k, v in paths.items()}
    return out


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
@pytest.mark.parametrize("key_type", ["ecdsa", "rsa", "ed25519"])
def test_certificates_from_ipsecsims_ca_authenticate_both_ways(interop, key_type, initiator) -> None:  # noqa: F811
    _cert_tunnel(interop, key_type, initiator, send_cert="always")


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
def test_certificates_with_charons_default_send_cert(interop, initiator) -> None:  # noqa: F811
    """charon sends its certificate only when asked: our CERTREQ (RFC 7296 §3.7) must ask."""
    _cert_tunnel(interop, "ecdsa", initiator, send_cert="ifasked")


def _cert_tunnel(env, key_type: str, initiator: str, send_cert: str) -> None:
    creds = _credentials(env.dir, key_type, seed=7)

    def charon_auth(conf: dict) -> None:
        c = conf["connections"]["interop"]
        # file names relative to x509/ and x509ca/; the key in private/ is loaded by --load-all
        c["local"] = {"auth": "pubkey", "id": CHARON_ID, "certs": [os.path.basename(creds["charon"]["x509"])]}
        c["remote"] = {"auth": "pubkey", "id": PEER_ID,
                       "cacerts": [os.path.basename(creds["charon"]["x509ca"])]}
        conf["secrets"] = {}
        # charon sends its certificate only when asked (CERTREQ) unless send_cert = always
        c["send_cert"] = send_cert

    def peer_auth(conf: dict) -> None:
        c = conf["connections"]["interop"]
        c["local"] = {"auth": "pubkey", "id": PEER_ID, "certs": [creds["peer"]["x509"]],
                      "key": creds["peer"]["private"]}
        c["remote"] = {"auth": "pubkey", "id": CHARON_ID, "cacerts": [creds["peer"]["x509ca"]]}
        conf["secrets"] = {}

    charon, peer = start_tunnel(env, initiator, ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                edit_charon=charon_auth, edit_peer=peer_auth)
    # charon verified ipsecsim's signature with the scheme of the key type (RFC 7427)
    m = re.search(rf"authentication of '{PEER_ID}' with (\S+) successful", charon.log())
    assert m, "charon did not log a successful authentication of ipsecsim"
    assert SCHEME[key_type] in m.group(1)
    sent, received, out = env.left.ping(env.right.inner[0], count=2, src=env.left.inner[0])
    assert (sent, received) == (2, 2), out
