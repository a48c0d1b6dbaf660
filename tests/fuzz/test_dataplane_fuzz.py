"""Fuzz properties of ESP and AH inbound processing, per algorithm and mode (issue 15:
"ESP/AH inbound per algorithm").

``SecurityAssociation.decapsulate`` either returns the inner packet or raises
:class:`PacketDrop` with a reason -- nothing else. Inputs are real packets sealed by the
peer SA and then damaged, and random bytes behind a valid outer header with the live SPI.
Damage anywhere the ICV covers (RFC 4303 §3.4.4: the whole ESP packet; RFC 4302 §3.3.3:
AH, the payload and the immutable outer header) must be refused: 0 forgeries accepted.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core import ip
from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.sa import SecurityAssociation
from tests.fuzz.budget import fuzz, only
from tests.fuzz.strategies import mutated
from tests.helpers.dataplane import (
    AH_ALGS,
    ESP_ALGS,
    MODES,
    TUNNEL_DST,
    TUNNEL_SRC,
    alg_id,
    sa_pair,
)

CASES = ([("esp", m, e, i) for e, i in ESP_ALGS for m in MODES]
         + [("ah", m, None, i) for i in AH_ALGS for m in MODES])
IDS = [f"{p}-{m}-{alg_id(e, i)}" for p, m, e, i in CASES]
_PAIRS: dict[str, tuple[SecurityAssociation, SecurityAssociation]] = {}


def _pair(case_id: str, proto: str, mode: str, encr, integ):  # noqa: ANN001
    if case_id not in _PAIRS:
        _PAIRS[case_id] = sa_pair(proto, mode, encr, integ, replay_window=64)
    return _PAIRS[case_id]


def _inner(mode: str, payload: bytes) -> bytes:
    if mode == "tunnel":
        return ip.udp_packet("10.1.0.5", "10.2.0.7", 1000, 2000, payload)
    return ip.udp_packet(TUNNEL_SRC, TUNNEL_DST, 1000, 2000, payload)


@pytest.mark.parametrize("proto,mode,encr,integ", CASES, ids=IDS)
@fuzz(60)
@given(data=st.data(), payload=st.binary(max_size=100), protected=st.booleans())
def test_damaged_packets_are_dropped_never_raised(proto, mode, encr, integ, data, payload,
                                                  protected) -> None:
    case_id = f"{proto}-{mode}-{alg_id(encr, integ)}"
    tx, rx = _pair(case_id, proto, mode, encr, integ)
    sent = tx.encapsulate(_inner(mode, payload))
    # protected: damage only behind the outer header, where every byte is under the ICV
    wire = data.draw(mutated(sent, start=20 if protected else 0))
    accepted = None
    with only(f"{proto.upper()} decapsulate ({alg_id(encr, integ)})", PacketDrop):
        accepted = rx.decapsulate(wire)
    if protected and wire != sent:
        assert accepted is None, "a damaged packet was accepted"


@pytest.mark.parametrize("proto,mode,encr,integ", CASES, ids=IDS)
@fuzz(30)
@given(body=st.binary(max_size=160))
def test_random_bytes_with_the_live_spi_are_dropped(proto, mode, encr, integ, body) -> None:
    """What an attacker who saw the SPI can forge without the keys: always refused."""
    case_id = f"{proto}-{mode}-{alg_id(encr, integ)}"
    _tx, rx = _pair(case_id, proto, mode, encr, integ)
    if proto == "esp":
        forged = struct.pack("!II", rx.spi, 1) + body
        pkt = ip.build_ipv4(TUNNEL_SRC, TUNNEL_DST, ip.IPPROTO_ESP, forged)
    else:
        nh = 4 if mode == "tunnel" else 17
        ah_len = 3 + (len(body) // 4)
        forged = struct.pack("!BBHII", nh, ah_len - 2, 0, rx.spi, 1) + body
        pkt = ip.build_ipv4(TUNNEL_SRC, TUNNEL_DST, ip.IPPROTO_AH, forged)
    accepted = None
    with only(f"{proto.upper()} decapsulate ({alg_id(encr, integ)})", PacketDrop):
        accepted = rx.decapsulate(pkt)
    assert accepted is None, "a forged packet was accepted"
