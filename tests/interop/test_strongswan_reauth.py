"""ipsecsim reauthenticates its IKE_SA with charon as the responder (``reauth_time``).

Oracle: charon (strongSwan 5.9) accepts a reauthentication the way it does its own
(``ike_reauth.c``, ``task_manager_v2.c`` ``trigger_mbb_reauth()``): a new IKE_SA from
IKE_SA_INIT with new SPIs, authenticated again, its CHILD_SA created again, and the old
IKE_SA deleted -- before (break-before-make) or after (make-before-break) the new one.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.peerlog import events
from tests.interop.tunnel import start_tunnel

pytestmark = pytest.mark.oracle


def _reauth(mbb: bool):
    def edit(conf: dict) -> None:
        conf["connections"]["interop"].update(reauth_time="3s", rand_time=0,
                                              make_before_break=mbb)
    return edit


def _ike_inits(log: str) -> list[str]:
    return re.findall(r"parsed IKE_SA_INIT request 0", log)


def test_make_before_break_reauth_loses_no_ping(interop) -> None:  # noqa: F811
    env = interop
    charon, peer = start_tunnel(env, "ipsecsim", ["aes128gcm16-prfsha256-x25519"],
                                ["aes128gcm16"], edit_peer=_reauth(True))
    sent, received, out = env.left.ping(env.right.inner[0], count=25, interval=0.2,
                                        src=env.left.inner[0])
    assert sent == 25 and received == 25, out[-600:]
    log = charon.log()
    # charon saw a second (and maybe third) IKE_SA_INIT, authenticated it, and was told to
    # delete the old IKE_SA only afterwards
    assert len(_ike_inits(log)) >= 2, log[-2000:]
    assert re.search(r"IKE_SA interop\[2\] established between", log), log[-2000:]
    first_delete = log.find("received DELETE for IKE_SA interop[1]")
    assert first_delete > log.find("IKE_SA interop[2] established between") > 0
    plog = peer.log()
    assert len(events(plog, "IkeSaUp")) >= 2 and len(events(plog, "ChildSaUp")) >= 2
    downs = events(plog, "IkeSaDown")
    assert downs and all(e.get("reason") == "reauthenticated" for e in downs), downs
    assert peer.stop() == 0


def test_break_before_make_reauth_is_accepted(interop) -> None:  # noqa: F811
    env = interop
    charon, peer = start_tunnel(env, "ipsecsim", ["aes128gcm16-prfsha256-x25519"],
                                ["aes128gcm16"], edit_peer=_reauth(False))
    time.sleep(4.0)
    log = charon.log()
    delete = log.find("received DELETE for IKE_SA interop[1]")
    assert delete > 0, log[-2000:]
    # the old IKE_SA went first, then the new IKE_SA_INIT came
    assert log.find("IKE_SA interop[2] established between") > delete
    assert len(_ike_inits(log)) >= 2
    # and the tunnel works over the new SAs
    sent, received, out = env.left.ping(env.right.inner[0], count=5, interval=0.2,
                                        src=env.left.inner[0])
    assert received == 5, out[-600:]
    plog = peer.log()
    assert [e.get("reason") for e in events(plog, "IkeSaDown")][:1] == ["reauthenticating"]
    # the peer's node covered the gap with a trap over the CHILD_SA's selectors (what the
    # simulator does): put in when the old CHILD_SA went, lifted when the new one installed
    lines = plog.splitlines()

    def first(pattern: str) -> int:
        return next((i for i, line in enumerate(lines) if re.search(pattern, line)), -1)

    down = first(r" ChildSaDown .*reason=reauthenticating")
    trap = first(r" BlockAdded child=net action=protect why=reauthentication ")
    lifted = first(r" BlockLifted child=net action=protect why=reauthentication")
    installed = [i for i, line in enumerate(lines) if " SaInstalled " in line]
    assert 0 <= down < trap < lifted < installed[-1], plog[-3000:]
    assert peer.stop() == 0


def test_a_child_charon_refuses_gets_a_discard_on_the_peer(interop) -> None:  # noqa: F811
    """A second CHILD_SA whose selectors charon has no config for (TS_UNACCEPTABLE, RFC 7296
    §2.9): the peer's node drops that child's traffic with the reason instead of sending it
    in the clear, and the first CHILD_SA keeps working."""
    env = interop

    def edit(conf: dict) -> None:
        children = conf["connections"]["interop"]["children"]
        children["extra"] = {**children["net"], "local_ts": ["192.168.77.0/24"],
                             "remote_ts": ["192.168.78.0/24"], "start_action": "start"}

    charon, peer = start_tunnel(env, "ipsecsim", ["aes128gcm16-prfsha256-x25519"],
                                ["aes128gcm16"], edit_peer=edit)
    assert peer.wait_log("BlockAdded child=extra action=discard", timeout=10), peer.log()[-3000:]
    plog = peer.log()
    [fail] = [e for e in events(plog, "IkeFailure") if e.get("child") == "extra"]
    assert fail["notify"] == "TS_UNACCEPTABLE", fail
    [block] = [e for e in events(plog, "BlockAdded") if e.get("child") == "extra"]
    assert block["why"].startswith("TS_UNACCEPTABLE") and block["local_ts"] == "192.168.77.0/24"
    sent, received, out = env.left.ping(env.right.inner[0], count=3, interval=0.2,
                                        src=env.left.inner[0])
    assert received == 3, out[-600:]
    assert peer.stop() == 0
