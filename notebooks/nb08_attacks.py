"""Notebook 08: attacks -- an adversary on the WAN, what IPsec stops and what it cannot."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 08 · Attacks on a tunnel

**What you will learn**

* what an attacker *on the path* can do to IPsec traffic: read it, change it, replay it,
  forge it, drop it, downgrade the IKE negotiation, flood the responder;
* which check of the receiver stops each attack, and how the victim counts it (its drop
  reasons `bad_icv`, `replay`, `unknown_spi`, its IKE failure, its half-open limit);
* what IPsec **does not** stop: dropped packets, and *traffic analysis* -- the sizes and the
  timing of the packets stay visible under ESP;
* how the simulator keeps its books straight with an attacker in the network.

The network is `../topologies/attacks.yaml`: the two offices of notebook 04, and `mallory`, an
attacker tapping the WAN link `wan-a` between gw-a and the Internet router. Mallory has no
address: it sees each packet on the link, both ways, just before the far end receives it, and
may change it, take it off the wire or put packets of its own beside it. Its attacks are
listed in the topology, each with a start time and a count.
"""),
    code(SETUP + """
from collections import Counter, defaultdict
import pandas as pd
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.ladder import draw_ike_ladder
from ipsecsim.viz.topology import draw_topology

sim = Simulation.from_file("../topologies/attacks.yaml").run()
summary = sim.summary()
m = summary["attacks"]["mallory"]
pd.DataFrame([{"attack": a["type"], "packets": a["acted"]} for a in m["attacks"]])"""),
    code("""
draw_topology(sim, title="Two offices, and mallory on wan-a");"""),
    md("""
## 1. Downgrade: caught at IKE_AUTH

gw-a offers two IKE proposals, AES-GCM-256 first and AES-CBC-128 second. IKE_SA_INIT travels
without any protection -- there are no keys yet -- so mallory strips the strong proposal from
the request, and gw-b, which accepts both, picks the weak one.

It does not work: in IKE_AUTH each side signs (or MACs with the pre-shared key) **the first
message exactly as it sent or received it** (RFC 7296 §2.15: InitiatorSignedOctets =
RealMessage1 | NonceRData | MACedIDForI). gw-a signed the message with two proposals, gw-b
checks the signature against the message with one: the AUTH payload does not verify, gw-b
answers AUTHENTICATION_FAILED, and no CHILD_SA is ever installed with the weak suite.
"""),
    code("""
draw_ike_ladder(sim, window=(0, 0.2), title="The downgraded IKE_SA_INIT fails at IKE_AUTH");"""),
    code("""
print("proposals mallory removed:", m["attacks"][0]["stripped"])
for f in summary["ike"]["failures"]:
    print(f"{f['node']}: {f['notify']}: {f['reason']}")
print("IKE_SAs up in the end:", summary["ike"]["established"],
      "(gw-a initiated again at 0.5 s; the attack had count: 1)")"""),
    md("""
## 2. Tamper, replay, inject: each stopped by a check of the receiver

The trace has one `attack` record for each packet mallory changed or made, with its packet
id. The victim's `drop` records carry the same ids, so we can join them: for every attack,
how did gw-b count its packets?

* a **tampered** packet (one bit flipped in the ciphertext or the ICV) fails the integrity
  check, which ESP makes *before* decrypting (RFC 4303 §3.4.4): `bad_icv`;
* a **replayed** packet carries a sequence number the receiver has seen: the anti-replay
  window refuses it (RFC 4303 §3.4.3): `replay`;
* a packet with a **made-up SPI** matches no SA (RFC 4303 §3.4.2): `unknown_spi`;
* random bytes under a **live SPI** with a fresh sequence number pass the window check and
  fail the ICV: `bad_icv`. Without the key, nothing can be forged.
"""),
    code("""
fate = {r[4]: r[5] for r in sim.trace.of("drop") if r[3] in ("gw-a", "gw-b")}
kinds = {"tamper": "tamper", "replay": "replay", "inject_random_spi": "inject (made-up SPI)",
         "inject_live_spi": "inject (live SPI)"}
rows = defaultdict(Counter)
for r in sim.trace.of("attack"):
    if r[5] in kinds:
        rows[kinds[r[5]]][fate.get(r[6], "delivered")] += 1
table = pd.DataFrame(rows).T.fillna(0).astype(int)
ax = table.plot.barh(stacked=True, figsize=(7, 2.6), title="How gw-b counted mallory's packets")
ax.set_xlabel("packets")
table"""),
    md("""
None of them was delivered. The tampered packets were the offices' own packets, so the traffic
generators count them as lost (`packets.dropped.bad_icv`); the others were mallory's.

### Replay across a rekey

The CHILD_SA is rekeyed about every 3 s. Mallory replays two batches captured on the first SA:
one at 5 s, after the rekey -- the old inbound SA is still installed for 5 s after its DELETE
(strongSwan's `delete_rekeyed_delay`, for packets still in flight), and its window refuses them
as replays -- and one at 9.5 s, when the old SA is gone: `unknown_spi`.
"""),
    code("""
fig, ax = plt.subplots(figsize=(8, 2.8))
spis = sorted({r[6] for r in sim.trace.of("sa") if r[3] == "gw-b" and r[5] == "esp" and r[7] == "in"})
for r in sim.trace.of("sa"):
    if r[3] == "gw-b" and r[5] == "esp" and r[7] == "in" and r[4] == "installed":
        ax.axvline(r[1], color="0.8", lw=1)
colours = {"replay": "tab:orange", "unknown_spi": "tab:red"}
for r in sim.trace.of("attack"):
    if r[5] == "replay":
        spi = int(r[8].split()[1], 16)
        reason = fate.get(r[6], "delivered")
        ax.scatter(r[1], spis.index(spi), color=colours.get(reason, "k"), s=18, label=reason)
handles = {h.get_label(): h for h in ax.collections}
ax.legend(handles.values(), handles.keys(), loc="upper left")
ax.set_yticks(range(len(spis)), [f"0x{s:08x}" for s in spis])
ax.set_xlabel("time (s); grey lines: a new inbound SA at gw-b")
ax.set_title("Replays of the first SA's packets: refused by the window, then by its absence");"""),
    md("""
## 3. Dropping: what IPsec cannot stop

Mallory takes four ESP packets off the wire. No cryptography can prevent that: an attacker on
the path decides what reaches the other end. IPsec only makes sure the receiver never takes
a changed or invented packet for a real one. The loss is counted with the attacker's own drop
reason, `attack_drop`, so the books still balance: every packet the offices sent was
delivered, or dropped once with a reason.
"""),
    code("""
p = summary["packets"]
print(p)
print("sent == delivered + dropped + in flight:",
      p["sent"] == p["delivered"] + sum(p["dropped"].values()) + p["in_flight"])
print("mallory's own packets (not among the offices'):", m["sent"], m["sent_by_kind"])"""),
    md("""
## 4. Flooding IKE_SA_INIT

From 7 s mallory sends 300 IKE_SA_INIT requests to gw-b from random addresses of
198.51.100.128/25. Each answered one costs gw-b a Diffie-Hellman computation and a half-open
IKE_SA. Past `cookie_threshold` (5 here) half-open SAs, gw-b answers with a **COOKIE** and
keeps no state (RFC 7296 §2.6): a host that really sent the request sends it again with the
cookie; a spoofed source never sees it.

But mallory is on the path: it sees the cookies sent to its spoofed addresses and echoes each
one. The cookie alone cannot stop that. What does is the responder's limit on half-open IKE_SAs
(`init_limit_half_open: 40`, strongSwan's `charon.init_limit_half_open`): past it, gw-b drops
IKE_SA_INIT unanswered (`ike_half_open_limit`), before any DH.
"""),
    code("""
events = []
for r in sim.trace.dicts("ike_msg"):
    if r["node"] == "gw-b" and r["direction"] == "out" and r["exchange"] == "IKE_SA_INIT" and r["t"] > 6:
        events.append((r["t"], "COOKIE" if "N(COOKIE)" in r["payloads"] else "answered (half-open SA)"))
for r in sim.trace.dicts("drop"):
    if r["node"] == "gw-b" and r["reason"] == "ike_half_open_limit":
        events.append((r["t"], "dropped: half-open limit"))
df = pd.DataFrame(sorted(events), columns=["t", "verdict"])
counts = pd.crosstab(df["t"], df["verdict"]).cumsum()
ax = counts.plot(figsize=(7, 3), title="gw-b's answers to the flood (cumulative)")
ax.axhline(40, color="0.6", ls=":", lw=1)
ax.set_xlabel("time (s)"); ax.set_ylabel("requests")
print(m["attacks"][-1])"""),
    md("""
The half-open SAs stop at 40, the cookies keep the spoofed requests cheap, and the tunnel's
traffic went on untouched. The replies to the spoofed addresses went to mallory (it owns those
sources): `attack_absorbed` drops.

## 5. What an eavesdropper learns

ESP in tunnel mode encrypts the whole inner packet, addresses and ports included. On `wan-a`
the eavesdropper sees only the two gateways, the SPIs -- and the size and time of every packet.
ESP hides *what* is said, not *how much* or *when* (RFC 4301 §1.2 leaves traffic analysis out
of scope; RFC 4303 §2.4 offers TFC padding against it -- see the end of this section).
"""),
    code("""
learned = m["learned"]
print("hosts:", learned["hosts"])
print("cleartext ports:", learned["cleartext_ports"])
print("SPIs:", learned["spis"])
print("IKE suites read from IKE_SA_INIT:", *learned["ike_suites"], sep="\\n  ")
sizes = Counter(r[8] for r in sim.trace.of("link_tx") if r[4] == "wan-a" and r[9] is not None
                and bytes(r[9])[9] == 50)
fig, ax = plt.subplots(figsize=(7, 2.6))
ax.bar([str(s) for s in sorted(sizes)], [sizes[s] for s in sorted(sizes)])
ax.set_xlabel("ESP packet size on wan-a (bytes)"); ax.set_ylabel("packets")
ax.set_title("Sizes under ESP: voice (200 B), web (1200 B) and pings stay apart");"""),
    md("""
Three sizes carry the offices' traffic: 256 bytes (the 200-byte voice packets plus 56 bytes
of ESP tunnel overhead with AES-GCM: outer IP header, SPI, sequence number, IV, padding and
trailer, ICV), 1256 (web) and 140 (the 84-byte pings); the 92-byte packets are mallory's own
injections. Anyone on the path can tell a voice call from a download, and when each started
-- without a key.

### TFC padding

swanctl's `tfc_padding: N` pads each inner packet with zeros to N bytes before it is encrypted
(the receiver drops the zeros: the inner IP header says how long the packet is). With 1300 on
both gateways every tunnel packet on the WAN has the same size -- and the link carries much
more. The timing is still there (dummy packets, next header 59, would be needed against that;
not modelled).
"""),
    code("""
import copy
padded_topo = copy.deepcopy(sim.topo)
for gw in ("gw-a", "gw-b"):
    padded_topo["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]["tfc_padding"] = 1300
padded = Simulation.from_dict(padded_topo).run()
lp = padded.summary()["attacks"]["mallory"]["learned"]
pd.DataFrame({"without TFC": {"distinct ESP sizes": len(sizes), "bytes on wan-a": summary["links"]["wan-a"]["bytes"]},
              "tfc_padding: 1300": {"distinct ESP sizes": len({r[8] for r in padded.trace.of("link_tx")
                                                              if r[4] == "wan-a" and r[9] is not None and bytes(r[9])[9] == 50}),
                                    "bytes on wan-a": padded.summary()["links"]["wan-a"]["bytes"]}})"""),
    md("""
With padding, only mallory's own 92-byte injections still stand out.

## Exercises

1. Remove the `downgrade` attack's `count: 1` (it then strips every IKE_SA_INIT). What happens to
   the tunnel, and to the offices' traffic? Compare `summary["packets"]["dropped"]` and the
   `unprotected` section. Is that an attack IPsec stops?
2. Give gw-a a single IKE proposal (`[aes128-sha256-x25519]`). What does the downgrade do now?
   What does that tell you about offering weak proposals at all?
3. Set gw-b's `init_limit_half_open: 0` (strongSwan's default: no limit) and run again. How
   many half-open IKE_SAs does the cookie-echoing flood make? What does each one cost gw-b?
4. Add `{type: drop, count: 1, match: ike, from: gw-a}` as the first attack and remove the
   downgrade. When does the tunnel come up (strongSwan retransmits after 4 s)? What do
   `learned["cleartext_ports"]` and `learned["hosts"]` show, and why? (Hint: what does gw-a do
   with the LAN's packets before its CHILD_SA exists? Compare `start_action: trap`.)
5. Move mallory to `wan-b` and use `from: internet` for the tamper and replays. Which drop
   reasons change, and which counters stay the same?
"""),
]
