"""Notebook 03: the IKEv2 handshake step by step; a proposal and a TS mismatch explained."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 03 · The IKEv2 handshake, step by step

**What you will learn**

* the four messages that set up an IPsec tunnel with IKEv2 (RFC 7296): `IKE_SA_INIT`
  negotiates algorithms and runs Diffie-Hellman, `IKE_AUTH` proves identities and creates
  the first CHILD_SA;
* how a *proposal* string such as `aes256gcm16-prfsha384-ecp384` becomes transforms, and how
  the responder picks one;
* that both ends derive the same keys without ever sending them;
* what the two most common configuration errors look like on the wire and in the log:
  **NO_PROPOSAL_CHOSEN** and **TS_UNACCEPTABLE**.

Every message below was exchanged by ipsecsim's IKEv2 engine inside a simulated network
(`topologies/site-to-site.yaml`); the ladder is drawn from the run's trace.
"""),
    code(SETUP + """
import copy
import pandas as pd
import yaml
from ipsecsim.core.proposals import parse_proposal
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.ladder import draw_ike_ladder
from ipsecsim.viz.topology import draw_topology

base = yaml.safe_load(open("../topologies/site-to-site.yaml"))
sim = Simulation.from_dict(base).run(2.0)
draw_topology(sim, title="site-to-site: two gateways, one tunnel");"""),
    md("""
## The ladder

`gw-a` starts (its child says `start_action: start`). Read each arrow's payload list:

* **IKE_SA_INIT request** — `SA` (the proposals), `KE` (gw-a's Diffie-Hellman public value),
  `Ni` (a nonce), and `NAT_DETECTION_*` hashes of the addresses and ports, so that both
  sides can tell whether a NAT sits between them (notebook 06).
* **IKE_SA_INIT response** — the chosen proposal, gw-b's `KE` and `Nr`. From here on both
  sides share a secret, and everything else is encrypted.
* **IKE_AUTH request/response** — identities (`IDi`, `IDr`), `AUTH` (a MAC over the first
  messages made with the pre-shared key), and the CHILD_SA's proposal (`SA`) and traffic
  selectors (`TSi`, `TSr`: which addresses the tunnel carries).

Two round trips, and the tunnel is up.
"""),
    code("""
draw_ike_ladder(sim, window=(0, 0.5), title="IKEv2: IKE_SA_INIT and IKE_AUTH");"""),
    md("""
## Step through it

The ladder is the summary; the stepper below replays the same run one event at a time, like
Packet Tracer's simulation mode. **next IKE message** jumps to the next message a gateway
sends (its payloads, and whether they travel in the clear or inside `SK{…}`); **next
packet** to the next packet on a link, with the decision the sending node took (the SPD's
PROTECT and the SA it chose, or a drop and why) and a bar of its bytes: grey in the clear,
light blue authenticated only, dark blue encrypted *and* authenticated, orange the ICV.
Press ▶ to play. Step through the first ping (t = 1 s): which bytes can the Internet read?

(In a static copy of this notebook the widget is not live; `RunSteps(sim).html(k)` prints
step `k` as text.)
"""),
    code("""
from ipsecsim.viz.stepper import RunSteps, step_through

steps = RunSteps(sim, window=(0, 1.05))
print(len(steps), "steps;", "the first ESP packet is step", next(
    k for k in range(len(steps)) if steps.view(k).heading.startswith("ESP")) + 1)
step_through(sim, window=(0, 1.05))"""),
    md("""
## Proposals

A strongSwan proposal string lists one keyword per transform; several keywords of one type
are alternatives. With an AEAD cipher (AES-GCM) there is no separate integrity algorithm,
but IKE still needs a PRF for key derivation. `default` expands to a whole list.
"""),
    code("""
from ipsecsim.core import algorithms as A

def by_type(p, ttype, ids):
    return ", ".join(A.transform_name(ttype, *(i if isinstance(i, tuple) else (i,))) for i in ids) or "-"

rows = []
for text in ["aes256gcm16-prfsha384-ecp384", "aes128-sha256-x25519", "aes128-aes256-sha256-modp3072",
             "default"]:
    p = parse_proposal(text, "ike")[0]
    rows.append({"proposal": text if text != "default" else "default (1st of 2)",
                 "ENCR": by_type(p, A.TRANSFORM_ENCR, p.encr),
                 "INTEG": by_type(p, A.TRANSFORM_INTEG, p.integ),
                 "PRF": by_type(p, A.TRANSFORM_PRF, p.prf),
                 "DH": by_type(p, A.TRANSFORM_DH, p.dh)})
pd.set_option("display.max_colwidth", 80)
pd.DataFrame(rows)"""),
    md("""
## Diffie-Hellman: a shared secret nobody sent

Each side draws a private value and sends only its public value in `KE`. Combining its own
private value with the peer's public value, each side computes the same shared secret
(`g^ir`). ECP-384 public values are 96 bytes (two 48-byte coordinates).
"""),
    code("""
from ipsecsim.core.ike.dh import new_key_exchange
from ipsecsim.core.rng import Rng

alice = new_key_exchange(A.ECP_384, Rng(1, "alice"))
bob = new_key_exchange(A.ECP_384, Rng(1, "bob"))
print("KE payload data:", len(alice.public_bytes), "bytes")
s1 = alice.shared_secret(bob.public_bytes)
s2 = bob.shared_secret(alice.public_bytes)
print("same shared secret on both sides:", s1 == s2, "-", s1[:8].hex(), "...")"""),
    md("""
## The keys both gateways derived

From the shared secret and the nonces each side computes `SKEYSEED`, and from it the keys
of the IKE SA: `SK_ei`/`SK_er` encrypt IKE messages in each direction, `SK_d` derives the
CHILD_SA keys (RFC 7296 §2.14, §2.17). The table shows what each gateway derived (first
bytes only): the initiator's and the responder's rows agree, and each gateway's *outbound*
ESP key is the other's *inbound* key.
"""),
    code("""
ike = pd.DataFrame([{"initiator": e.initiator, "local": e.local[0], "encr": e.encr, "prf": e.prf,
                     "dh": e.dh, "SK_ei": e.sk_ei[:8].hex() + "…", "SK_er": e.sk_er[:8].hex() + "…"}
                    for e in sim.net.ike_keys])
child = pd.DataFrame([{"gateway": k.local_addr, "child": k.name, "SPI in": f"0x{k.spi_in:08x}",
                       "SPI out": f"0x{k.spi_out:08x}", "key in": k.key_in_encr[:6].hex() + "…",
                       "key out": k.key_out_encr[:6].hex() + "…"} for k in sim.net.child_keys])
display(ike)
child"""),
    md("""
## When it fails (1): NO_PROPOSAL_CHOSEN

Give gw-b a proposal with nothing in common with gw-a's: AES-CBC with SHA-256 and MODP-2048
instead of AES-GCM with ECP-384. gw-b cannot pick anything, answers `IKE_SA_INIT` with a
single `N(NO_PROPOSAL_CHOSEN)`, and both sides log a sentence saying what did not match.
"""),
    code("""
bad = copy.deepcopy(base)
bad["nodes"]["gw-b"]["ipsec"]["connections"]["office-link"]["proposals"] = ["aes128-sha256-modp2048"]
sim_np = Simulation.from_dict(bad).run(2.0)
for f in sim_np.summary()["ike"]["failures"]:
    print(f"{f['node']}: {f['notify']}: {f['reason']}")
draw_ike_ladder(sim_np, window=(0, 0.5), title="Proposal mismatch");"""),
    md("""
## When it fails (2): TS_UNACCEPTABLE

Now the algorithms match, but gw-b believes the other site is 10.9.0.0/16 while gw-a
offers 10.1.0.0/16. The IKE SA comes up (authentication succeeded), but gw-b refuses the
CHILD_SA's traffic selectors and answers `IKE_AUTH` with `N(TS_UNACCEPTABLE)` instead of
`SA, TSi, TSr`: there is an IKE SA and no tunnel.
"""),
    code("""
ts = copy.deepcopy(base)
ts["nodes"]["gw-b"]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]["remote_ts"] = ["10.9.0.0/16"]
sim_ts = Simulation.from_dict(ts).run(2.0)
for f in sim_ts.summary()["ike"]["failures"]:
    print(f"{f['node']}: {f['notify']}: {f['reason']}")
draw_ike_ladder(sim_ts, window=(0, 0.5), title="Traffic selector mismatch");"""),
    md("""
## Exercises

1. Change gw-b's proposal to `aes128gcm16-aes256gcm16-prfsha256-prfsha384-ecp256-ecp384`.
   Does the handshake succeed? Which transforms are chosen (look at `sim.net.ike_keys`)?
2. Give gw-b only `x25519` as DH group while gw-a offers only `ecp384`. Which notify do you
   expect — and does RFC 7296 §1.2 offer a way to recover with `INVALID_KE_PAYLOAD`?
3. Make gw-b's `remote_ts` *wider* (`10.0.0.0/8`) instead of different. Does the child
   come up? Which selectors are installed (`sim.net.child_keys[0].remote_ts`)?
4. In the TS mismatch run, look at `sim_ts.summary()["packets"]` and the drop reasons. What
   happened to the traffic between the two LANs, and is that what you would want?
5. Count the bytes of the four handshake messages (the ladder prints each size). How much
   of `IKE_SA_INIT` is the two `KE` payloads?
"""),
]
