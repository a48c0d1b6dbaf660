"""``IkeEndpoint.receive_datagram`` never raises, also for messages sealed with the real
keys (issue 15: an outside test found a crash in 15 of 75,800 sealed, mutated messages).

An authenticated peer gets past the integrity check, so its mutated payloads reach the
tasks. Each example seals (with the established IKE_SA's own keys, RFC 7296 §3.14) either
random payload bytes behind a chosen first payload type, or a real CREATE_CHILD_SA rekey
request with bytes replaced, and hands it to the responder with the message ID it
expects. Whatever it is, the responder answers, refuses or drops it -- never an exception.
"""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core.ike import message as M
from tests.core.test_node_pair import Pair
from tests.fuzz.budget import fuzz, only

FUZZ = fuzz(250)  # make fuzz scales it
PAYLOAD_TYPES = [33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 47, 48, 53, 0, 1, 200]


class Target:
    """An established pair; gw-b is the endpoint under test, gw-a's keys seal the input."""

    def __init__(self) -> None:
        self.pair = Pair()
        self.pair.start()
        [self.sa_a] = list(self.pair.a.ike.ike_sas.values())
        self.rekey_inner = self._rekey_request()

    def sa_b(self):  # the responder's IKE_SA, while it lives
        for sa in self.pair.b.ike.ike_sas.values():
            if sa.state == "ESTABLISHED":
                return sa
        return None

    def _rekey_request(self) -> bytes:
        """The plaintext payload chain of a real CREATE_CHILD_SA rekey request from gw-a."""
        [keys] = list(self.pair.a.children.values())
        self.pair.a.ike.rekey_child(keys.spi_in, 1.0)
        [(data, _s, _d)] = self.pair.a.ike.datagrams_to_send(1.0)
        sa = self.sa_b()
        assert sa is not None and sa.sk_in is not None
        head = data[:M.IKE_HEADER_LEN + 4]
        self.rekey_first = data[M.IKE_HEADER_LEN]  # the SK payload names the first inner one
        return sa.sk_in.open(head, data[M.IKE_HEADER_LEN + 4:])

    def send(self, exchange: int, first: int, inner: bytes) -> None:
        sa_b = self.sa_b()
        sk = self.sa_a.sk_out
        assert sa_b is not None and sk is not None
        flags = 0x08  # from the original initiator, a request
        sk_len = 4 + sk.sealed_size(len(inner))
        aad = struct.pack("!8s8sBBBBII", self.sa_a.spi_i, self.sa_a.spi_r, 46, 0x20, exchange,
                          flags, sa_b.next_recv_mid, M.IKE_HEADER_LEN + sk_len)
        aad += struct.pack("!BBH", first, 0, sk_len)
        data = aad + sk.seal(aad, inner)
        ep = self.pair.b.ike
        with only("IkeEndpoint.receive_datagram (sealed)"):
            ep.receive_datagram(data, (self.sa_a.local[0], 500), (self.sa_a.remote[0], 500), 2.0)
            ep.datagrams_to_send(2.0)
            while ep.next_event() is not None:
                pass


_TARGET: list[Target] = []


def target() -> Target:
    if not _TARGET or _TARGET[0].sa_b() is None:  # the last input deleted the IKE_SA: anew
        _TARGET[:] = [Target()]
    return _TARGET[0]


@FUZZ
@given(st.sampled_from([M.CREATE_CHILD_SA, M.INFORMATIONAL]), st.sampled_from(PAYLOAD_TYPES),
       st.binary(max_size=300))
def test_random_sealed_payloads(exchange: int, first: int, inner: bytes) -> None:
    target().send(exchange, first, inner)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_real_rekey_request_with_bytes_replaced(edits: list[tuple[int, int]]) -> None:
    t = target()
    inner = bytearray(t.rekey_inner)
    for pos, value in edits:
        inner[pos % len(inner)] = value
    t.send(M.CREATE_CHILD_SA, t.rekey_first, bytes(inner))


def test_the_inverted_selector_of_issue_15_is_among_them() -> None:
    """The finding itself: TSi's end one below its start, in a sealed rekey request."""
    t = target()
    inner = bytearray(t.rekey_inner)
    i = inner.find(bytes([7, 0, 0, 16]))  # TS_IPV4_ADDR_RANGE, any protocol, 16 bytes
    assert i > 0
    start = int.from_bytes(inner[i + 8:i + 12], "big")
    inner[i + 12:i + 16] = (start - 1).to_bytes(4, "big")
    t.send(M.CREATE_CHILD_SA, t.rekey_first, bytes(inner))
