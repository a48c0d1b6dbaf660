"""IPsecStack with several CHILD_SAs of the same name: a hub whose one connection
(``remote_addrs: [%any]``) serves many peers, each CHILD_SA narrowed to its peer's LAN.

Oracle: strongSwan installs policies per CHILD_SA for that CHILD_SA's own selectors
(``src/libcharon/sa/child_sa.c`` ``install_policies()`` over ``create_policy_enumerator()``),
and shares a reqid only between CHILD_SAs with equal selectors
(``src/libcharon/kernel/kernel_interface.c`` ``alloc_reqid()``): a rekey's successor keeps
its predecessor's policies, another peer's CHILD_SA gets its own. No event loop here.
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.ip import icmp_echo_packet
from ipsecsim.core.keys import ChildSaKeys
from ipsecsim.core.rng import Rng
from ipsecsim.core.selectors import TrafficSelector as TS
from ipsecsim.core.spd import OUT, PROTECT
from ipsecsim.core.stack import IPsecStack, NoSa, child_key
from tests.helpers.dataplane import GCM128

HUB = "192.0.2.1"
HUB_LAN = (TS.parse("10.255.0.0/24"),)


def spoke_addr(i: int) -> str:
    return f"172.16.{i}.1"


def keys(i: int, gen: int = 1) -> tuple[ChildSaKeys, ChildSaKeys]:
    """The hub's and spoke ``i``'s view of generation ``gen`` of spoke ``i``'s CHILD_SA ``rw``."""
    r = Rng(100 * i + gen, "rw")
    h2s, s2h = r.bytes(GCM128.keymat_size), r.bytes(GCM128.keymat_size)
    spi_hub, spi_spoke = 0xC0000000 + 0x100 * i + gen, 0x50000000 + 0x100 * i + gen
    lan = (TS.parse(f"10.0.{i}.0/24"),)
    hub = ChildSaKeys("rw", "esp", "tunnel", spi_hub, spi_spoke, GCM128, None, s2h, b"", h2s, b"",
                      HUB, spoke_addr(i), HUB_LAN, lan, unique_id=10 * i + gen, ike_sa=f"rw[{i}]")
    spoke = ChildSaKeys("rw", "esp", "tunnel", spi_spoke, spi_hub, GCM128, None, h2s, b"", s2h, b"",
                        spoke_addr(i), HUB, lan, HUB_LAN, unique_id=gen, ike_sa="hub[1]")
    return hub, spoke


def to_spoke(i: int) -> bytes:
    return icmp_echo_packet("10.255.0.10", f"10.0.{i}.10", data=b"down")


def from_spoke(i: int) -> bytes:
    return icmp_echo_packet(f"10.0.{i}.10", "10.255.0.10", data=b"up")


def spi_of(wire: bytes) -> int:
    return int.from_bytes(wire[20:24], "big")


@pytest.fixture
def net():
    """A hub with spokes 1 and 2 up, and the two spokes' stacks."""
    hub = IPsecStack(Rng(1), "hub", [HUB])
    spokes = {i: IPsecStack(Rng(10 + i), f"spoke{i}", [spoke_addr(i)]) for i in (1, 2)}
    ks = {i: keys(i) for i in (1, 2)}
    for i in (1, 2):
        hub.install_child(ks[i][0])
        spokes[i].install_child(ks[i][1])
    return hub, spokes, ks


def test_two_children_with_one_name_and_disjoint_selectors_coexist(net):
    hub, spokes, ks = net
    assert child_key(ks[1][0]) != child_key(ks[2][0])
    out = [p for p in hub.spd.policies(OUT) if p.action == PROTECT]
    assert len(out) == 2 and {p.name for p in out} == {"rw"}
    for i in (1, 2):
        wire = hub.outbound(to_spoke(i))
        # RFC 4301 §5.1: the policy for spoke i's LAN, its SA, its tunnel endpoint
        assert spi_of(wire) == ks[i][0].spi_out and wire[16:20] == bytes([172, 16, i, 1])
        assert spokes[i].inbound(wire) == to_spoke(i)
        up = spokes[i].outbound(from_spoke(i))
        assert spi_of(up) == ks[i][0].spi_in
        assert hub.inbound(up) == from_spoke(i)
    # spoke 1's SA does not carry spoke 2's LAN (RFC 4301 §5.2 step 4)
    spoofed = spokes[1].sad.outbound[ks[1][1].spi_out].sa.encapsulate(from_spoke(2))
    with pytest.raises(PacketDrop) as exc:
        hub.inbound(spoofed)
    assert exc.value.reason == "policy_mismatch"


@pytest.mark.parametrize("gone,stays", [(1, 2), (2, 1)])
def test_removing_one_peers_child_keeps_the_others(net, gone, stays):
    hub, spokes, ks = net
    hub.remove_child(ks[gone][0])
    assert hub.outbound(to_spoke(gone)) == to_spoke(gone)  # no policy left for its LAN
    with pytest.raises(PacketDrop) as exc:
        hub.inbound(spokes[gone].outbound(from_spoke(gone)))
    assert exc.value.reason == "unknown_spi"
    wire = hub.outbound(to_spoke(stays))
    assert spi_of(wire) == ks[stays][0].spi_out and spokes[stays].inbound(wire) == to_spoke(stays)
    assert hub.inbound(spokes[stays].outbound(from_spoke(stays))) == from_spoke(stays)
    assert [p.dst for p in hub.spd.policies(OUT)] == [(TS.parse(f"10.0.{stays}.0/24"),)]
    hub.remove_child(ks[stays][0])
    assert len(hub.spd) == 0 and not hub.sa_entries()


def test_rekey_of_one_peers_child_moves_only_its_outbound(net):
    hub, spokes, ks = net
    new_hub, new_spoke = keys(2, gen=2)
    # make-before-break as the rekey initiator: installing moves spoke 2's traffic at once
    spokes[2].install_child(new_spoke)
    hub.install_child(new_hub)
    assert spi_of(hub.outbound(to_spoke(2))) == new_hub.spi_out
    assert spi_of(hub.outbound(to_spoke(1))) == ks[1][0].spi_out
    assert hub.current_outbound(new_hub) == new_hub
    assert hub.current_outbound(ks[1][0]) == ks[1][0]
    hub.remove_child(ks[2][0])
    assert spi_of(hub.outbound(to_spoke(2))) == new_hub.spi_out
    assert len([p for p in hub.spd.policies(OUT) if p.action == PROTECT]) == 2


def test_rekey_responder_holds_only_that_peers_outbound(net):
    """The responder installs the new SA but keeps sending on the old one until the DELETE
    (strongSwan child_delete.c install_outbound()); the other peer is not involved."""
    hub, spokes, ks = net
    new_hub, new_spoke = keys(1, gen=2)
    keep = hub.current_outbound(new_hub)  # which of the *selectors'* generations sends now
    assert keep == ks[1][0]
    hub.install_child(new_hub)
    assert hub.use_outbound(keep)
    assert spi_of(hub.outbound(to_spoke(1))) == ks[1][0].spi_out
    assert spi_of(hub.outbound(to_spoke(2))) == ks[2][0].spi_out
    spokes[1].install_child(new_spoke)
    assert hub.inbound(spokes[1].outbound(from_spoke(1))) == from_spoke(1)  # new SA inbound
    assert hub.use_outbound(new_hub)  # ChildSaRekeyed: the DELETE of the old SA arrived
    assert spi_of(hub.outbound(to_spoke(1))) == new_hub.spi_out
    assert spi_of(hub.outbound(to_spoke(2))) == ks[2][0].spi_out


def test_a_name_shared_by_several_children_needs_the_keys(net):
    hub, _spokes, ks = net
    with pytest.raises(ValueError, match="2 children are named 'rw'"):
        hub.current_outbound("rw")
    hub.remove_child(ks[1][0])
    assert hub.current_outbound("rw") == ks[2][0]  # one child of that name: the name will do
    assert hub.current_outbound("other") is None


def test_an_outbound_sa_removed_leaves_only_its_own_policy_without_sa(net):
    hub, _spokes, ks = net
    assert hub.remove_sa(ks[1][0].spi_out, "out") == 1
    with pytest.raises(NoSa) as exc:
        hub.outbound(to_spoke(1))
    assert exc.value.child == "rw"
    assert spi_of(hub.outbound(to_spoke(2))) == ks[2][0].spi_out
