"""The anti-replay sliding window (RFC 4303 §3.4.3 and Appendix A).

Receive side of ESP and AH. Two steps, as RFC 4303 §3.4.3 orders them:

1. :meth:`ReplayWindow.check` before the ICV is verified: infer the 64-bit
   sequence number (ESN, Appendix A2.2) and reject duplicates and packets left
   of the window -- cheap, so a flood of replays costs no crypto;
2. :meth:`ReplayWindow.accept` only after the ICV verified: slide the window.

The window is an integer bitmap: bit ``i`` set means sequence ``top - i`` was
received. Sequence 0 is never sent (the first packet is 1), so it starts
marked as seen.
"""

from __future__ import annotations

from .errors import REPLAY, PacketDrop

_M32 = 0xFFFFFFFF


class ReplayWindow:
    """Anti-replay state of one inbound SA.

    ``size`` 0 disables replay checking (sequence numbers are still tracked so
    ESN high bits can be inferred).
    """

    __slots__ = ("size", "esn", "top", "bitmap", "_mask", "_infer_w")

    def __init__(self, size: int = 32, esn: bool = False) -> None:
        if size < 0:
            raise ValueError("replay window size must be >= 0")
        self.size = size
        self.esn = esn
        self.top = 0
        """Highest authenticated sequence number seen (64-bit with ESN)."""
        self.bitmap = 1
        self._mask = (1 << size) - 1 if size else 0
        # window used to infer the ESN high half; RFC 4303 A2.2 uses the replay window
        self._infer_w = max(size, 64)

    def infer(self, seq_lo: int) -> int:
        """The full sequence number for the 32 low bits on the wire (RFC 4303 Appendix A2.2)."""
        if not self.esn:
            return seq_lo
        w = self._infer_w
        tl = self.top & _M32
        th = self.top >> 32
        if tl >= w - 1:  # case A: window within one sub-space
            seq_hi = th if seq_lo >= tl - w + 1 else th + 1
        else:  # case B: window spans two sub-spaces
            seq_hi = th - 1 if seq_lo >= ((tl - w + 1) & _M32) else th
            if seq_hi < 0:
                seq_hi = 0
        return (seq_hi << 32) | seq_lo

    def check(self, seq_lo: int) -> int:
        """The inferred sequence number, or :class:`PacketDrop` (``replay``) if already seen
        or left of the window. Does not change the window."""
        seq = self.infer(seq_lo) if self.esn else seq_lo
        if self.size == 0:
            return seq
        top = self.top
        if seq > top:
            return seq
        diff = top - seq
        if diff >= self.size:
            raise PacketDrop(REPLAY, f"seq {seq} is left of the window (top {top}, size {self.size})")
        if (self.bitmap >> diff) & 1:
            raise PacketDrop(REPLAY, f"seq {seq} was already received")
        return seq

    def accept(self, seq: int) -> None:
        """Mark authenticated sequence ``seq`` as received, sliding the window if it is new."""
        top = self.top
        if seq > top:
            shift = seq - top
            self.bitmap = ((self.bitmap << shift) | 1) & self._mask if shift < self.size else 1
            self.top = seq
        elif self.size:
            self.bitmap |= 1 << (top - seq)

    def seen(self, seq: int) -> bool:
        """Whether ``seq`` would be refused now (for tests and explanations)."""
        try:
            self.check(seq & _M32 if self.esn else seq)
        except PacketDrop:
            return True
        return False
