"""ipsecsim restarts (killed, no DELETE sent) and comes back: charon replaces the old IKE_SA.

Oracle: charon 5.9.8 as the responder, default ``unique = no``. Our first IKE_AUTH carries
N(INITIAL_CONTACT) (RFC 7296 §2.4); charon's ``ike_auth.c`` ``process_r()`` notes it and
``build_r()`` calls ``ike_sa_manager.c`` ``check_uniqueness(force_replace=TRUE)``, which logs
"destroying duplicate IKE_SA for peer '<id>', received INITIAL_CONTACT" and destroys the old
IKE_SA with its CHILD_SA without a DELETE. Afterwards charon holds exactly one IKE_SA with
us, the new one, and traffic crosses its CHILD_SA.
"""

from __future__ import annotations

import pytest
import yaml

from tests.interop.charon import established_child
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.tunnel import PEER_ID, start_tunnel

pytestmark = pytest.mark.oracle


def test_charon_replaces_the_ike_sa_of_a_restarted_peer(interop) -> None:  # noqa: F811
    env = interop
    charon, peer = start_tunnel(env, "ipsecsim", ["aes128gcm16-prfsha256-x25519"],
                                ["aes128gcm16"])
    old = charon.list_sas()
    assert len(old) == 1, old
    old_spi = old[0]["initiator-spi"]
    with open(peer.config_path) as f:
        conf = yaml.safe_load(f)
    peer.proc.kill()  # a crash: no INFORMATIONAL DELETE leaves
    peer.proc.wait(timeout=5)
    peer.stop()
    again = env.peer(env.right, conf, name="peer-restarted")
    assert again.wait_log("ChildSaUp", timeout=15), again.log()[-2000:]
    assert "N(INITIAL_CONTACT)" in again.log()
    sas = charon.wait_for(lambda s: s if len(s) == 1 and s[0]["initiator-spi"] != old_spi
                          else None, timeout=10)
    assert sas is not None, charon.list_sas()
    assert sas[0]["state"] == "ESTABLISHED" and established_child(sas, "net") is not None
    log = charon.log()
    assert f"destroying duplicate IKE_SA for peer '{PEER_ID}', received INITIAL_CONTACT" in log, \
        log[-3000:]
    sent, received, out = env.left.ping(env.right.inner[0], count=3, interval=0.2,
                                        src=env.left.inner[0])
    assert sent == 3 and received == 3, out[-600:]
    assert again.stop() == 0


def test_charon_sends_initial_contact_by_default(interop) -> None:  # noqa: F811
    # charon 5.9.8 as the initiator, unique = no (default): ike_auth.c build_i() adds the
    # notify when remote.id has no wildcards and has_contact() finds no IKE_SA with us, so
    # unique = no does not suppress it (only never does)
    env = interop
    charon, peer = start_tunnel(env, "charon", ["aes128gcm16-prfsha256-x25519"],
                                ["aes128gcm16"])
    auth = [line for line in peer.log().splitlines() if "IKE_AUTH request" in line]
    assert auth and "N(INITIAL_CONTACT)" in auth[0], peer.log()[-2000:]
    assert peer.stop() == 0
