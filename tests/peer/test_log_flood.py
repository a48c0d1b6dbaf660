"""A flood of hostile datagrams costs ``ipsecsim peer`` a summary line, not a line each
(issue 15, finding 5: 100,000 attack datagrams made a 17 MB log).

The runner is driven directly (``PeerRunner.datagram``), on sockets bound to loopback
ports the kernel picks; no packet is sent.
"""

from __future__ import annotations

import io
import struct

from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.peer import runner as R
from ipsecsim.peer.config import make_node
from tests.peer.test_randomness import CONF


def test_junk_ike_and_esp_floods_log_a_bounded_summary(monkeypatch) -> None:
    clock = [100.0]
    monkeypatch.setattr(R.time, "monotonic", lambda: clock[0])
    out = io.StringIO()
    node = make_node(IkeConfig.from_dict({**CONF, "connections": {
        "c": {**CONF["connections"]["c"], "children": {"net": {"local_ts": ["10.2.0.0/16"],
                                                              "remote_ts": ["10.1.0.0/16"]}}}}}),
                     "127.0.0.1")
    runner = R.PeerRunner(node, "127.0.0.1", [], log=out, verbose=True, ports=(0, 0))
    try:
        for i in range(5000):
            clock[0] += 0.004  # 20 s in all: two summary intervals
            junk_ike = struct.pack("!QQ", i + 1, 0) + b"\x21\x20\x22\x08" + struct.pack("!II", 0, 40) + b"x" * 12
            runner.datagram(junk_ike, ("127.0.0.9", 500), ("127.0.0.1", 500))
            runner.datagram((0x1234 + i).to_bytes(4, "big") + b"\0" * 40, ("127.0.0.9", 4500),
                            ("127.0.0.1", 4500))
        runner._drop_summary(clock[0])
    finally:
        runner.close()
    log = out.getvalue()
    lines = log.splitlines()
    assert len(lines) < 60, log[:3000]
    # every drop is still counted, by reason
    assert runner.drops["unknown_spi"] == 5000
    summaries = [line for line in lines if "not logged one by one" in line]
    assert len(summaries) >= 2
    counted = sum(int(kv.split("=")[1]) for line in summaries for kv in line.split(": ")[-1].split())
    logged = len(lines) - len(summaries)
    assert counted + logged == 10000
