"""``ipsecsim peer`` warns for keys it accepts but does not model (issue 12 item 2), as
``run`` and ``check`` do for a topology's ``ipsec:`` block; the peer still starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from tests.peer.test_randomness import CONF


def test_the_peer_warns_for_unmodelled_keys(tmp_path: Path) -> None:
    conf = {**CONF, "listen": "127.0.0.1"}
    conn = dict(conf["connections"]["c"])
    conn["mobike"] = True
    conn["children"] = {"net": {**conn["children"]["net"], "ipcomp": True}}
    conf["connections"] = {"c": conn}
    path = tmp_path / "peer.yaml"
    path.write_text(yaml.safe_dump(conf))
    # the warnings come before the sockets are bound; stop the peer once it has said them
    proc = subprocess.Popen([sys.executable, "-m", "ipsecsim", "peer", str(path)],
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    err = ""
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            err += line
            if "listening on" in line or "cannot bind" in line:
                break
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert f"warning: {path}: connections.c.mobike: not modelled (ignored): MOBIKE" in err, err
    assert f"warning: {path}: connections.c.children.net.ipcomp: not modelled (ignored): IPComp" in err
