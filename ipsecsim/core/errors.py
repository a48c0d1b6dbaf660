"""Error types of the core, and the closed set of drop reasons.

Two families, as h11 separates them:

* :class:`DecodeError` -- bytes from the wire are malformed. Every codec raises
  only this for bad input; callers turn it into a counted drop (``MALFORMED``).
* :class:`PacketDrop` -- a well-formed packet that must not be accepted
  (unknown SPI, bad ICV, replay, policy). It carries one of the reason strings
  below, which are the keys of ``summary.json``'s ``dropped`` object.

Local misuse (a bad configuration, an impossible request) raises
:class:`ConfigError`, which names what is wrong and, where it can, what would
be right.

IKE's errors derive from :class:`IpsecSimError` too and stay inside the engine:
``ike.ikesa.IkeError`` (a peer's request we refuse: the notify to answer with and
the sentence why; the task manager turns it into the answer), ``ike.negotiate.
NegotiationError`` (no acceptable proposal or selectors), ``ike.certs.AuthError``,
``ike.sk.IntegrityError``, ``ike.dh.DhError`` (a :class:`DecodeError`) and
``ike.states.TransitionError`` (a transition the table does not allow: a bug in the
engine, also a ``RuntimeError``).
"""

from __future__ import annotations

# --- drop reasons: stable strings, used as counter keys in traces and summaries ---
MALFORMED = "malformed"
UNKNOWN_SPI = "unknown_spi"
BAD_ICV = "bad_icv"
REPLAY = "replay"
POLICY_MISMATCH = "policy_mismatch"  # decrypted inner packet not allowed by the SA's selectors
POLICY_DISCARD = "policy_discard"  # SPD said DISCARD
NO_SA = "no_sa"  # SPD said PROTECT but no SA is installed (yet)
SA_EXPIRED = "sa_expired"  # hard byte/packet limit reached
BAD_PADDING = "bad_padding"
SEQ_OVERFLOW = "seq_overflow"  # sequence number space exhausted without ESN
CLEARTEXT_REFUSED = "cleartext_refused"  # plain packet arrived where policy demands IPsec
# IP reassembly (core/ip/reassembly.py): a fragment refused, or a datagram given up
FRAG_TIMEOUT = "frag_timeout"  # not complete within the timeout after its first fragment
FRAG_OVERSIZE = "frag_oversize"  # would reassemble to more than 65,535 bytes (Ping of Death)
FRAG_OVERLAP = "frag_overlap"  # overlaps held data, or disagrees about the end: datagram discarded
FRAG_DUPLICATE = "frag_duplicate"  # wholly inside data already held
FRAG_TOO_MANY = "frag_too_many"  # more fragments than one datagram may have
FRAG_TABLE_FULL = "frag_table_full"  # as many datagrams in reassembly as allowed

DROP_REASONS: frozenset[str] = frozenset(
    {
        MALFORMED,
        UNKNOWN_SPI,
        BAD_ICV,
        REPLAY,
        POLICY_MISMATCH,
        POLICY_DISCARD,
        NO_SA,
        SA_EXPIRED,
        BAD_PADDING,
        SEQ_OVERFLOW,
        CLEARTEXT_REFUSED,
        FRAG_TIMEOUT,
        FRAG_OVERSIZE,
        FRAG_OVERLAP,
        FRAG_DUPLICATE,
        FRAG_TOO_MANY,
        FRAG_TABLE_FULL,
    }
)


class IpsecSimError(Exception):
    """Base class of every error ipsecsim raises on purpose."""


class DecodeError(IpsecSimError, ValueError):
    """Bytes that do not parse: truncated, wrong version, bad length or checksum."""


class PacketDrop(IpsecSimError):
    """A packet that parsed but must be dropped; ``reason`` is a drop-reason string."""

    __slots__ = ("reason", "detail")

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class ConfigError(IpsecSimError, ValueError):
    """Local misuse: a configuration or argument that cannot work, said in a sentence."""
