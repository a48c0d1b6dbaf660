"""``message.encode_chained`` (used by ``fragments.encode``, which measures the chained
payloads before deciding to fragment) writes the same bytes as ``message.encode``."""

from __future__ import annotations

import pytest

from ipsecsim.core import algorithms as A
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.message import _chain
from ipsecsim.core.ike.sk import SkCipher
from ipsecsim.core.rng import Rng
from ipsecsim.core.selectors import TrafficSelector


def _cipher(encr: A.EncrAlg, integ: A.IntegAlg | None) -> SkCipher:
    r = Rng(5, "keys")
    return SkCipher(encr, integ, r.bytes(encr.keymat_size), r.bytes(integ.key_size) if integ
                    else b"", Rng(5, "iv"))


@pytest.mark.parametrize("encr, integ", [
    (A.encr(A.ENCR_AES_GCM_16, 128), None),
    (A.encr(A.ENCR_AES_CBC, 256), A.INTEG_ALGS[A.AUTH_HMAC_SHA2_256_128]),
], ids=["gcm", "cbc"])
@pytest.mark.parametrize("payloads", [
    [],
    [M.Nonce(b"n" * 32), M.Notify(M.USE_TRANSPORT_MODE),
     M.TS(True, [TrafficSelector.parse("10.1.0.0/16")])],
], ids=["empty", "three"])
@pytest.mark.parametrize("response", [False, True])
def test_same_bytes_as_encode(encr: A.EncrAlg, integ: A.IntegAlg | None, payloads: list,
                              response: bool) -> None:
    msg = M.IkeMessage(b"i" * 8, b"r" * 8, M.CREATE_CHILD_SA, 3, True, response, payloads)
    assert M.encode_chained(msg, _cipher(encr, integ), _chain(payloads)) == \
        M.encode(msg, _cipher(encr, integ))
