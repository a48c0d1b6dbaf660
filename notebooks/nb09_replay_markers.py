"""Notebook 09: the anti-replay window, and the non-ESP marker that lets IKE and ESP share UDP 4500."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 09 · Two small mechanisms: the anti-replay window and the non-ESP marker

**What you will learn**

* how a receiver refuses a **replayed** ESP packet with a sliding window over sequence numbers
  (RFC 4303 §3.4.3), worked through one exact example: window 64, highest sequence number
  received 100 — what happens to 30, to a first 50, to a second 50?
* why the window is checked *before* the integrity check and moved only *after* it;
* what a simulated gateway counts when replays arrive, and how strongSwan's `replay_window`
  key sets the window;
* how one UDP port, 4500, carries both IKE and ESP behind a NAT: the four-byte **non-ESP
  marker** (RFC 3948 §2.2) in front of every IKE message, where an ESP packet has its SPI.
"""),
    code(SETUP + """
import pandas as pd
from ipsecsim.core.errors import PacketDrop
from ipsecsim.core.natt import classify
from ipsecsim.core.replay import ReplayWindow
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.lessons import draw_port_4500, draw_replay_window, replay_verdicts"""),
    md("""
## The window

Every ESP packet carries a sequence number, 1 for the first packet of an SA and one more for
each packet after it. The receiver remembers the highest sequence number it has accepted
(`top`) and, for the `size` numbers up to it, which ones it has seen: one bit each. A packet
arriving with a number

* **above `top`** is new: it is accepted and the window slides right;
* **inside the window** is accepted if its bit is still clear (it arrived late, out of order)
  and refused if the bit is set (a duplicate: a replay);
* **left of the window** is refused: the receiver can no longer tell whether it saw it.

Here packets 1 to 100 have arrived except 50, which is late. The window is 64 wide, so it
covers 37 to 100.
"""),
    code("""
w = ReplayWindow(size=64)
replay_verdicts(w, [s for s in range(1, 101) if s != 50])
draw_replay_window(w, title="Window 64, highest received 100, packet 50 still missing");"""),
    md("""
Now three packets arrive: 30, then 50, then 50 again.
"""),
    code("""
verdicts = replay_verdicts(w, [30, 50, 50])
for seq, verdict in verdicts:
    print(f"{seq:>3}: {verdict}")
draw_replay_window(w, marks=verdicts, title="30 is left of the window; the first 50 fills its hole; the second is a replay");"""),
    md("""
30 is refused although it was never a replay: 100 − 30 = 70 is beyond the window, and the
receiver keeps no memory that far back. That is the price of a bounded window: a packet
delayed by more than `size` packets is lost. The first 50 is inside the window with its bit
clear: accepted, and the bit is set. The second 50 finds the bit set: refused.

### Check first, slide after

RFC 4303 §3.4.3 orders the steps: the window check comes *before* the integrity check,
because it is cheap and a flood of replays then costs no cryptography; but the window only
*moves* after the ICV verified. Otherwise an attacker could send one forged packet with
sequence number 1,000,000, slide every receiver's window past all real traffic, and have it
all refused. A forged packet fails its ICV and leaves the window as it was:
"""),
    code("""
w2 = ReplayWindow(size=64)
replay_verdicts(w2, range(1, 101))
w2.check(1_000_000)          # passes the cheap check: it is "new" ...
# ... but the ICV fails, so accept() is never called: the window does not move
print("top after a forged packet:", w2.top)
print("packet 101 still accepted:", replay_verdicts(w2, [101]))"""),
    md("""
## Replays against a real SA

strongSwan sets the window per CHILD_SA with `replay_window` (default 32; 0 turns the check
off). Below, a real ESP SA (AES-GCM, keys from a seeded generator) sends five packets; an
attacker who recorded packets 1 and 2 on the wire sends them again. (Notebook 08 does the
same with an attacker node in a simulated network, where gw-b counts each as a `replay` drop.)
"""),
    code("""
from ipsecsim.viz.anatomy import example_packet, make_sa

tx = make_sa("esp", "tunnel", "aes128gcm16", seed=3)
rx = make_sa("esp", "tunnel", "aes128gcm16", seed=3)
sent = [tx.encapsulate(example_packet(84)) for _ in range(5)]
rows = []
for i, pkt in enumerate(sent + sent[:2]):
    seq = int.from_bytes(pkt[24:28], "big")   # after the 20-byte outer IP header and the SPI
    try:
        rx.decapsulate(pkt)
        rows.append({"arrival": i + 1, "seq": seq, "verdict": "delivered"})
    except PacketDrop as exc:
        rows.append({"arrival": i + 1, "seq": seq, "verdict": f"dropped: {exc.reason} ({exc.detail})"})
print("receiver's window size:", rx.replay.size)
pd.DataFrame(rows)"""),
    md("""
The last two rows are byte-for-byte copies of packets 1 and 2. Their ICV is *valid* — they
are genuine packets — and only the sequence number gives them away.

## One port, two protocols: the non-ESP marker

Behind a NAT, IKE moves from UDP 500 to UDP 4500 and ESP is carried in UDP on the same
port 4500 (notebook 06). The receiver must tell each datagram apart from its first bytes:

* an **ESP** packet starts with its SPI, and an SPI is never 0 (RFC 4303 §2.1 reserves 0);
* an **IKE** message on port 4500 is sent behind four zero bytes, the *non-ESP marker*
  (RFC 3948 §2.2) — exactly where an ESP packet would have its SPI;
* a one-byte datagram 0xFF is a **NAT keepalive** (RFC 3948 §2.3), sent only to keep the
  NAT's mapping open.

The datagrams below are taken from the NAT-traversal network's capture.
"""),
    code("""
nat = Simulation.from_file("../topologies/nat-traversal.yaml").run()
found = {}
for r in nat.trace.dicts("link_tx"):
    data = bytes.fromhex(r["data"]) if r["data"] else b""   # the captured bytes, as hex
    if len(data) < 28 or data[9] != 17:
        continue
    hl = (data[0] & 0x0F) * 4
    if int.from_bytes(data[hl + 2:hl + 4], "big") != 4500:
        continue
    payload = data[hl + 8:]
    found.setdefault(classify(payload), payload)
    if len(found) == 3:
        break
if "keepalive" not in found:
    found["keepalive"] = b"\\xff"   # the run was too short for a keepalive: one as RFC 3948 §2.3 sends it
order = [("IKE_AUTH on 4500", found["ike"]), ("ESP in UDP", found["esp"]),
         ("NAT keepalive", found["keepalive"])]
draw_port_4500(order);"""),
    md("""
The yellow boxes are the same four bytes in every packet: zeros for IKE, the SPI for ESP. A
receiver that checks them first never passes ESP to IKE or IKE to the ESP decryption. Port 500
needs no marker: nothing but IKE is ever sent there.

## Exercises

1. With window 64 and highest 100, which sequence numbers can still be accepted? If packet
   50 had arrived earlier, what would the first 50 get? Check with `replay_verdicts`.
2. Make the window 32 (`ReplayWindow(size=32)`) and rerun the example. What happens to 50
   now, and why? What does that mean for a link that reorders packets a lot?
3. Why must a receiver not slide its window before the ICV has verified? Describe the attack
   in two sentences, then show it with `w2`: call `accept(1_000_000)` by hand (as a careless
   receiver would) and try packet 101.
4. In the last figure, why could an ESP packet never be mistaken for IKE, even with a
   random-looking SPI? What would go wrong if a gateway chose SPI 0?
5. Make the receiver `make_sa(...)` again and set `rx.replay = ReplayWindow(size=0)` (what
   `replay_window: 0` does): which rows of the table change? What protection is lost?
"""),
]
