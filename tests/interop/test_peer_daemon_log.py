"""``ipsecsim peer`` writes its daemon log in charon's wording (``daemon_log: FILE``).

Differential (strongSwan 5.9.8 in network namespaces): charon in the left namespace
initiates, then terminates, a tunnel twice with the same configuration -- once to
``ipsecsim peer`` and once to a second charon -- in the right namespace. The responders' logs
agree on the lines of establishment, authentication, CHILD_SAs and delete (masked and counted
as tests/console/test_charonlog_oracle.py compares them).
"""

from __future__ import annotations

import os
import re

import pytest

from tests.console.test_charonlog_oracle import charon_messages, compared, wait_log
from tests.interop.charon import established_child
from tests.interop.fixtures import Interop, interop  # noqa: F401 - the fixture
from tests.interop.swanctl import site_config
from tests.interop.tunnel import CHARON_ID, PEER_ID, start_tunnel

pytestmark = pytest.mark.oracle

IKE, ESP = ["aes128-sha256-x25519"], ["aes128gcm16"]
_LINE = re.compile(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d peer charon: \d\d\[[A-Z]+\] (.*)$")


def test_the_peer_logs_as_a_charon_responder_does(interop: Interop) -> None:  # noqa: F811
    env = interop
    path = os.path.join(env.dir, "peer-daemon.log")
    charon, peer = start_tunnel(env, "charon", IKE, ESP, peer_extra={"daemon_log": path})
    charon.swanctl("--terminate", "--ike", "interop", "--timeout", "5")
    wait_log(charon, "IKE_SA deleted")
    assert peer.wait_log("IkeSaDown")
    assert peer.stop() == 0
    text = open(path).read()
    assert all(_LINE.match(line) for line in text.splitlines()), text
    ours = [m.group(1) for line in text.splitlines() if (m := _LINE.match(line))]
    assert ours[0].startswith("Starting IKE charon daemon")
    assert f"authentication of '{CHARON_ID}' with pre-shared key successful" in ours
    assert f"IKE_SA interop[1] established between {env.right.addr}[{PEER_ID}]..." \
           f"{env.left.addr}[{CHARON_ID}]" in ours

    # the same exchange with a charon as the responder (the first charon gives up UDP 500)
    charon.stop()
    a = env.charon(env.left, "moon2")
    b = env.charon(env.right, "sun2")
    a.load(site_config(env.left.addr, env.right.addr, env.left.inner, env.right.inner, CHARON_ID,
                       PEER_ID, IKE, ESP))
    b.load(site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner, PEER_ID,
                       CHARON_ID, IKE, ESP))
    a.initiate("net", "interop")
    assert b.wait_for(lambda sas: established_child(sas, "net")) is not None
    a.swanctl("--terminate", "--ike", "interop", "--timeout", "5")
    wait_log(b, "IKE_SA deleted")
    got, want = compared(ours), compared(charon_messages(b.log()))
    assert got == want, (f"charon logs but the peer does not: {sorted((want - got).elements())}\n"
                         f"the peer logs but charon does not: {sorted((got - want).elements())}")
