"""swanctl's ``pools`` section and ``connections.<conn>.pools`` / ``vips`` (swanctl.conf(5),
strongSwan 5.9.8; charon's ``vici_attribute.c`` reads the pools): read into the same
IkeConfig as the YAML spelling, bad input located at FILE:LINE."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.core.ike.config import IkeConfig
from ipsecsim.swanctl.load import load_swanctl

GW = """connections {
   rw {
      local_addrs = 192.168.0.1
      pools = %s
      local { auth = psk
              id = moon.strongswan.org }
      remote { auth = psk }
      children { net { local_ts = 10.1.0.0/16 } }
   }
}
secrets { ike-1 { secret = 0sc3Ryb25nU3dhbg== } }
pools {
   rw_pool {
      addrs = 10.3.0.0/28
      dns = 10.1.0.53
   }
   more {
      addrs = %s
   }
}
"""

YAML_TWIN = {
    "connections": {"rw": {
        "local_addrs": ["192.168.0.1"], "pools": ["rw_pool", "more"],
        "local": {"auth": "psk", "id": "moon.strongswan.org"}, "remote": {"auth": "psk"},
        "children": {"net": {"local_ts": ["10.1.0.0/16"]}}}},
    "secrets": {"ike-1": {"secret": "0x" + b"strongSwan".hex()}},
    "pools": {"rw_pool": {"addrs": "10.3.0.0/28", "dns": ["10.1.0.53"]},
              "more": {"addrs": "10.4.0.1-10.4.0.20"}},
}


def _write(tmp_path, pools: str, more: str) -> str:
    (tmp_path / "swanctl.conf").write_text(GW % (pools, more))
    return str(tmp_path)


def test_pools_and_vips_read_as_the_yaml_spelling(tmp_path):
    got = load_swanctl(_write(tmp_path, "rw_pool, more", "10.4.0.1-10.4.0.20"))
    assert got.warnings == ()
    twin = IkeConfig.from_dict(YAML_TWIN)
    assert got.config.pools == twin.pools
    assert got.config.connections[0].pools == ("rw_pool", "more") == twin.connections[0].pools
    rw, more = got.config.pools
    # mem_pool.c: a /28 without network and broadcast serves 14 addresses from .1; vici
    # lists the network id as its base (strongSwan 5.9.8)
    assert (rw.base_text, rw.address(1), rw.size) == ("10.3.0.0", "10.3.0.1", 14)
    assert rw.attributes == (("dns", "10.1.0.53"),)
    assert (more.base_text, more.size) == ("10.4.0.1", 20)


def test_client_vips(tmp_path):
    (tmp_path / "swanctl.conf").write_text("""connections { home {
  remote_addrs = 192.168.0.1
  vips = 0.0.0.0
  local { auth = psk }
  remote { auth = psk }
  children { home { remote_ts = 10.1.0.0/16 } } } }
secrets { ike { secret = x } }
""")
    conn = load_swanctl(str(tmp_path)).config.connections[0]
    assert conn.vips == ("0.0.0.0",)


@pytest.mark.parametrize("pools, more, line, message", [
    ("rw_pool, nope", "10.4.0.1-10.4.0.20", 4,
     "connections.rw.pools: unknown pool 'nope'; pools: rw_pool, more"),
    ("rw_pool", "10.3.0.8-10.3.0.20", 18,
     "pools.more.addrs: 10.3.0.8-10.3.0.20 overlaps pool 'rw_pool' (10.3.0.0/28)"),
    ("rw_pool", "10.4.0.9-10.4.0.1", 18, "pools.more.addrs: invalid IP address range"),
])
def test_bad_pools_are_located(tmp_path, pools, more, line, message):
    with pytest.raises(ConfigError) as err:
        load_swanctl(_write(tmp_path, pools, more))
    text = str(err.value)
    assert text.startswith(f"{tmp_path}/swanctl.conf:{line}: "), text
    assert message in text
