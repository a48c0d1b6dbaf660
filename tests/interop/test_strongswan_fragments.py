"""RFC 7383 IKEv2 fragmentation between ipsecsim and strongSwan 5.9's charon.

Both sides authenticate with RSA certificates (IKE_AUTH of about 1,100 bytes each way) and
both limit an IKE datagram to 600 bytes: charon with strongswan.conf ``charon.fragment_size
= 600``, ipsecsim with ``fragment_size: 600``; swanctl's ``fragmentation = yes`` (the default)
on both. So each side must split its IKE_AUTH into SKF fragments and reassemble the other's.
The oracle is charon's own log (``enc = 1``, strongSwan 5.9.8 ``message.c``): "splitting IKE
message (N bytes) into K fragments" for what it sent, "received fragment #i of K, waiting for
complete IKE message" / "..., reassembled fragmented IKE message (N bytes)" for what it took
from ipsecsim (each fragment decrypted and verified first); then a ping crosses the CHILD_SA.
"""

from __future__ import annotations

import re

import pytest

from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.peerlog import events
from tests.interop.test_strongswan_certs import _credentials
from tests.interop.tunnel import start_tunnel

pytestmark = pytest.mark.oracle

SIZE = 600


@pytest.mark.parametrize("initiator", ["charon", "ipsecsim"])
def test_ike_auth_fragmented_both_ways(interop, initiator) -> None:  # noqa: F811
    env = interop
    creds = _credentials(env.dir, "rsa", seed=7)

    def charon_auth(conf: dict) -> None:
        c = conf["connections"]["interop"]
        c["local"] = {"auth": "pubkey", "id": "charon.example",
                      "certs": [creds["charon"]["x509"].rsplit("/", 1)[1]]}
        c["remote"] = {"auth": "pubkey", "id": "ipsecsim.example",
                       "cacerts": [creds["charon"]["x509ca"].rsplit("/", 1)[1]]}
        c["send_cert"] = "always"
        c["fragmentation"] = "yes"
        conf["secrets"] = {}

    def peer_auth(conf: dict) -> None:
        c = conf["connections"]["interop"]
        c["local"] = {"auth": "pubkey", "id": "ipsecsim.example", "certs": [creds["peer"]["x509"]],
                      "key": creds["peer"]["private"]}
        c["remote"] = {"auth": "pubkey", "id": "charon.example",
                       "cacerts": [creds["peer"]["x509ca"]]}
        c["fragmentation"] = "yes"
        conf["secrets"] = {}
        conf["fragment_size"] = SIZE

    charon, peer = start_tunnel(env, initiator, ["aes128gcm16-prfsha256-x25519"], ["aes128gcm16"],
                                edit_charon=charon_auth, edit_peer=peer_auth,
                                charon_settings={"fragment_size": SIZE})
    log = charon.log()
    # charon fragmented its IKE_AUTH message (strongSwan message.c fragment())
    split = re.findall(r"splitting IKE message \((\d+) bytes\) into (\d+) fragments", log)
    assert split and all(int(k) >= 2 for _, k in split), "charon sent no IKE fragments"
    # ... and reassembled ours after decrypting each (message.c add_fragment_v2())
    got = re.findall(r"received fragment #(\d+) of (\d+), reassembl(?:ed|ing) fragmented IKE "
                     r"message", log)
    assert got and int(got[0][1]) >= 2, "charon reassembled no fragments from ipsecsim"
    assert "waiting for complete IKE message" in log  # the earlier fragments were held
    # no IKE datagram either way is larger than the fragment size allows (UDP payload sizes)
    sizes = [int(n) for n in re.findall(r"(?:sending|received) packet: .*\((\d+) bytes\)", log)]
    assert sizes and max(sizes) <= SIZE - 28
    # ipsecsim's side: one IKE_AUTH message each way, sent and received as SKF fragments
    msgs = [e for e in events(peer.log(), "IkeMessageEvent") if e.get("exchange") == "IKE_AUTH"]
    assert {e["direction"] for e in msgs if "SKF(" in e.get("payloads", "")} == {"in", "out"}
    sent, received, out = env.left.ping(env.right.inner[0], count=2, src=env.left.inner[0])
    assert (sent, received) == (2, 2), out
