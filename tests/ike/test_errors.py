"""Every error the IKE engine raises on purpose is an ``IpsecSimError`` (core/errors.py),
with the builtin bases it had before kept, so existing ``except`` clauses still match."""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import DecodeError, IpsecSimError
from ipsecsim.core.ike import message as M
from ipsecsim.core.ike.certs import AuthError
from ipsecsim.core.ike.dh import DhError
from ipsecsim.core.ike.ikesa import IkeError
from ipsecsim.core.ike.negotiate import NegotiationError
from ipsecsim.core.ike.sk import IntegrityError
from ipsecsim.core.ike.states import TransitionError, ike_next


@pytest.mark.parametrize("cls", [IkeError, NegotiationError, AuthError, IntegrityError, DhError,
                                 TransitionError])
def test_under_the_project_base(cls: type[Exception]) -> None:
    assert issubclass(cls, IpsecSimError)


def test_builtin_bases_kept() -> None:
    assert issubclass(TransitionError, RuntimeError)
    assert issubclass(DhError, DecodeError) and issubclass(DhError, ValueError)


def test_ike_error_carries_notify_and_sentence() -> None:
    err = IkeError(M.TS_UNACCEPTABLE, "CHILD_SA 'net': no overlap", fatal=False, child="net")
    assert (err.notify, err.sentence, err.fatal, err.child, str(err)) == (
        M.TS_UNACCEPTABLE, "CHILD_SA 'net': no overlap", False, "net", "CHILD_SA 'net': no overlap")
    with pytest.raises(IpsecSimError):
        raise err


def test_transition_error_is_caught_as_project_error() -> None:
    with pytest.raises(IpsecSimError, match="no transition from DESTROYED on 'rekey'"):
        ike_next("DESTROYED", "rekey")
