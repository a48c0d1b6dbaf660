"""strongswan.conf: the charon options the simulator models, warnings for the rest.

Option names and defaults: strongswan.conf(5) of strongSwan 5.9.8 (charon.*, IKEv2
RETRANSMISSION). charon-systemd reads its own section and falls back to charon's
(src/charon-systemd/charon-systemd.c, ``add_fallback``).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.swanctl.parser import parse
from ipsecsim.swanctl.strongswan_conf import apply_charon_options, charon_options

F = "moon/etc/strongswan.conf"

TESTBED = """# /etc/strongswan.conf - strongSwan configuration file (as in strongSwan's testing)

swanctl {
  load = pem pkcs1 pubkey openssl random
}

charon-systemd {
  load = random nonce openssl pem pkcs1 revocation curl kernel-netlink socket-default updown vici
}
"""


def options(text: str) -> tuple[dict, list[str]]:
    tree, warnings = parse(text, F)
    assert warnings == []
    return charon_options(tree)


def test_the_testbed_file_models_nothing_and_says_so():
    opts, warnings = options(TESTBED)
    assert opts == {}
    assert warnings == [
        f"{F}:3: swanctl: not modelled by the simulator (ignored): only charon.* options apply",
        f"{F}:8: charon-systemd.load: not modelled by the simulator (ignored): the simulator has "
        "every algorithm it models built in"]


def test_modelled_options():
    opts, warnings = options("""charon {
  retransmit_tries = 3
  retransmit_timeout = 2.0
  retransmit_base = 1.4
  make_before_break = yes
  cookie_threshold = 5
  keep_alive = 10s
  fragment_size = 1400
  replay_window = 64
}
""")
    assert warnings == []
    assert opts == {"retransmit_tries": 3, "retransmit_timeout": 2.0, "retransmit_base": 1.4,
                    "make_before_break": True, "cookie_threshold": 5, "nat_keepalive": "10s",
                    "fragment_size": 1400, "replay_window": 64}


def test_charon_systemd_wins_over_charon_and_v4_size_over_the_common_one():
    opts, _ = options("charon-systemd { retransmit_tries = 7 }\n"
                      "charon { retransmit_tries = 3\n fragment_size_v4 = 1200\n"
                      " fragment_size = 1400 }\n")
    assert opts == {"retransmit_tries": 7, "fragment_size": 1200}


def test_other_options_and_sections_are_warned_unknown_ones_with_a_hint():
    opts, warnings = options("""charon {
  retransmit_trie = 3
  dns1 = 10.1.0.20
  half_open_timeout = 20
  fragment_size = 0
  plugins {
    kernel-libipsec { load = yes }
  }
  filelog { charon { path = /var/log/charon.log } }
  filelogs { }
}
load_modular = yes
""")
    assert opts == {}
    why = "not modelled by the simulator (ignored)"
    assert warnings == [
        f"{F}:12: load_modular: {why}: only charon.* options apply",
        f"{F}:2: charon.retransmit_trie: unknown strongswan.conf option (did you mean "
        "'retransmit_tries' or 'retransmit_timeout'?) (ignored)",
        f"{F}:3: charon.dns1: {why}: DNS attributes are not modelled",
        f"{F}:4: charon.half_open_timeout: {why}: not a simulator setting",
        f"{F}:5: charon.fragment_size: {why}: 0 (per address family defaults); 1280 applies",
        f"{F}:6: charon.plugins: {why}: plugin settings are not modelled",
        f"{F}:9: charon.filelog: {why}: the simulator writes its own log (DIR/logs/NODE.log)",
        f"{F}:10: charon.filelogs: unknown strongswan.conf section (did you mean 'filelog'?) "
        "(ignored)"]


@pytest.mark.parametrize("text, message", [
    ("charon {\n retransmit_tries = three }", f"{F}:2: charon.retransmit_tries: expected a "
                                              "number, got 'three'"),
    ("charon {\n make_before_break = maybe }", f"{F}:2: charon.make_before_break: expected yes "
                                               "or no, got 'maybe'"),
])
def test_bad_values_are_located(text, message):
    with pytest.raises(ConfigError, match="^" + message):
        options(text)


def test_apply_to_every_connection_and_child_that_does_not_set_its_own():
    cfg = {"connections": {
        "a": {"local_addrs": ["192.0.2.1"], "children": {"x": {}, "y": {"replay_window": 0}}},
        "b": {"local_addrs": ["192.0.2.1"], "retransmit_tries": 9}}}
    opts, _ = options("charon {\n retransmit_tries = 3\n replay_window = 128\n keep_alive = 5s\n"
                      " make_before_break = no }\n")
    out = apply_charon_options(cfg, opts)
    assert cfg["connections"]["a"] == {"local_addrs": ["192.0.2.1"],
                                       "children": {"x": {}, "y": {"replay_window": 0}}}
    ike = IkeConfig.from_dict(out)
    a, b = ike.connection("a"), ike.connection("b")
    assert (a.retransmit_tries, b.retransmit_tries) == (3, 9)
    assert a.make_before_break is False
    assert (a.child("x").replay_window, a.child("y").replay_window) == (128, 0)
    assert ike.nat_keepalive == 5.0
