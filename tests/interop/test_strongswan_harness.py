"""The interop harness proven on its own: two strongSwan charons, no ipsecsim involved.

Two network namespaces joined by a veth pair; in each, a charon with the userland
ESP plugin ``kernel-libipsec`` (TUN device ``ipsec0``, routes in table 220, ESP
always in UDP 4500), its own mount namespace and /run, its own vici socket. If
these fail, the ipsecsim interop tests cannot mean anything: the setup is broken,
not ipsecsim.
"""

from __future__ import annotations

import pytest

from tests.interop.charon import established_child
from tests.interop.fixtures import interop  # noqa: F401 - the fixture
from tests.interop.logs import child_keys, child_spis, ike_keys
from tests.interop.swanctl import site_config, swanctl_conf

pytestmark = pytest.mark.oracle


def _pair_configs(env, proposals, esp_proposals):
    a = site_config(env.left.addr, env.right.addr, env.left.inner, env.right.inner,
                    "a.example", "b.example", proposals, esp_proposals)
    b = site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner,
                    "b.example", "a.example", proposals, esp_proposals)
    return a, b


def test_swanctl_conf_text_from_the_yaml_shape() -> None:
    conf = swanctl_conf(site_config("10.0.0.1", "10.0.0.2", ["192.168.10.1"], ["192.168.20.1"],
                                    "a.example", "b.example", ["aes256gcm16-prfsha384-ecp384"]))
    assert "proposals = aes256gcm16-prfsha384-ecp384" in conf
    assert "local_ts = 192.168.10.1/32" in conf
    assert 'secret = "a long pre-shared key for interop"' in conf


@pytest.mark.parametrize(
    "proposals, esp, want_encr, want_dh",
    [
        (["aes256gcm16-prfsha384-ecp384"], ["aes256gcm16"], "AES_GCM_16", "ECP_384"),
        # Debian's defaults: IKE prefers AES-CBC with SHA2 and x25519 first (ORACLES.md)
        (["default"], ["default"], "AES_CBC", "CURVE_25519"),
    ],
    ids=["aes256gcm16-ecp384", "default"],
)
def test_two_charons_negotiate_and_ping(interop, proposals, esp, want_encr, want_dh) -> None:  # noqa: F811
    env = interop
    a, b = env.charon(env.left, "a"), env.charon(env.right, "b")
    conf_a, conf_b = _pair_configs(env, proposals, esp)
    a.load(conf_a)
    b.load(conf_b)
    a.initiate("net", "interop")

    child = established_child(a.list_sas(), "net")
    assert child is not None, "charon a has no INSTALLED child SA"
    assert child["encap"] == "yes", "kernel-libipsec always encapsulates ESP in UDP"
    ike = a.list_sas()[0]
    assert ike["encr-alg"] == want_encr and ike["dh-group"] == want_dh

    sent, received, out = env.left.ping(env.right.inner[0], count=5, src=env.left.inner[0])
    assert (sent, received) == (5, 5), out
    child_b = b.wait_for(lambda sas: established_child(sas, "net"))
    assert int(child_b["packets-in"]) == 5 and int(child_b["packets-out"]) == 5

    # both logs carry the same IKE keys, and each side's inbound SPI is the other's outbound
    ka, kb = ike_keys(a.log()), ike_keys(b.log())
    assert ka and ka[-1] == kb[-1] and set(ka[-1]) >= {"SKEYSEED", "SK_d", "SK_ei", "SK_er"}
    assert child_keys(a.log())[-1] == child_keys(b.log())[-1]
    (_, a_in, a_out), (_, b_in, b_out) = child_spis(a.log())[-1], child_spis(b.log())[-1]
    assert (a_in, a_out) == (b_out, b_in)
