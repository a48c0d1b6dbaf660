"""Notebook 05: SA lifecycle -- lifetimes, rekeying with and without PFS, DPD, a rekey collision."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 05 · The life of a Security Association

**What you will learn**

* why SAs are given lifetimes, and how `rekey_time`, `life_time` and `rand_time` (strongSwan's
  names) decide when a CHILD_SA is replaced;
* how a rekey works on the wire (`CREATE_CHILD_SA` with `N(REKEY_SA)`) and why the old SA
  stays installed for a moment after the new one (*make-before-break*);
* what **Perfect Forward Secrecy** adds to a rekey: a fresh Diffie-Hellman exchange, visible
  as a `KE` payload and a bigger message;
* how **Dead Peer Detection** notices that the other gateway is gone;
* what happens when both gateways decide to rekey at the same moment (a **rekey collision**,
  RFC 7296 §2.8.1).

Timers are shortened to seconds so that everything happens in a short simulation; real
deployments use hours.
"""),
    code(SETUP + """
import copy
import pandas as pd
import yaml
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.ladder import draw_ike_ladder
from ipsecsim.viz.states import draw_state_diagram
from ipsecsim.viz.timeline import draw_sa_timeline
from ipsecsim.core.ike.states import CHILD_TRANSITIONS

base = yaml.safe_load(open("../topologies/site-to-site.yaml"))

def child(d, gw):
    return d["nodes"][gw]["ipsec"]["connections"]["office-link"]["children"]["lan-lan"]

def conn(d, gw):
    return d["nodes"][gw]["ipsec"]["connections"]["office-link"]

def first(sim, exchange, node=None):
    return next(r for r in sim.trace.dicts("ike_msg") if r["exchange"] == exchange
                and r["direction"] == "out" and (node is None or r["node"] == node))"""),
    md("""
## The states a CHILD_SA goes through

This diagram is drawn from the transition table the IKE engine itself runs on
(`ipsecsim.core.ike.states.CHILD_TRANSITIONS`): an SA is INSTALLED, may be REKEYING while a
`CREATE_CHILD_SA` is in flight, becomes REKEYED once its successor is installed, and is
finally DELETED.
"""),
    code("""
draw_state_diagram(CHILD_TRANSITIONS, title="CHILD_SA states (from the engine's table)");"""),
    md("""
## Lifetimes and rekeying

Each gateway gets `rekey_time: 4` and `life_time: 6` seconds for the child. strongSwan (and
ipsecsim) rekeys at `rekey_time` minus a random jitter of up to `rand_time` (by default
`life_time − rekey_time`), so that the two ends and many tunnels do not all rekey at once;
`life_time` is the hard limit at which an SA is deleted even if no rekey succeeded.

The timeline shows gw-a's SAs: one inbound and one outbound SA per generation, the arrow
from each SA to its successor, and the configured rekey (orange) and life (red) times as
dotted ticks. Every rekey happened before the hard limit.
"""),
    code("""
life = copy.deepcopy(base)
life["duration"] = 14
for gw in ("gw-a", "gw-b"):
    child(life, gw).update({"rekey_time": 4, "life_time": 6})
sim = Simulation.from_dict(life).run()
print(sim.summary()["child_sas"])
draw_sa_timeline(sim, node="gw-a", title="gw-a: CHILD_SA generations, rekey every 2-4 s");"""),
    code("""
t = first(sim, "CREATE_CHILD_SA")["t"]
draw_ike_ladder(sim, window=(t - 0.001, t + 0.2), title=f"The first rekey, at t = {t:.2f} s");"""),
    md("""
The new SA is installed by both sides *before* the old one is deleted: the `INFORMATIONAL`
exchange with a `D` payload comes last. Even then the old *inbound* SA is not removed from
the data plane at once, so that packets already on their way under the old SPI are still
accepted — the hatched part of each bar in the timeline. The cell below measures that
overlap from the trace.
"""),
    code("""
rk = next(r for r in sim.trace.dicts("sa") if r["event"] == "rekeyed" and r["node"] == "gw-a")
gone = next(r for r in sim.trace.dicts("sa") if r["event"] in ("deleted", "hard_expired")
            and r["node"] == "gw-a" and str(r["spi"]) == str(rk["old_spi"]))
print(f"old inbound SA 0x{int(rk['old_spi']):08x}: replaced at {rk['t']:.3f} s, "
      f"removed at {gone['t']:.3f} s ({gone['t'] - rk['t']:.3f} s of overlap)")"""),
    md("""

## Rekeying with Perfect Forward Secrecy

Without PFS, the new SA's keys are derived from the IKE SA's `SK_d` and fresh nonces: anyone
who later learns `SK_d` can compute every CHILD_SA key ever derived from it. Adding a DH
group to the ESP proposal (`aes128gcm16-ecp256`) makes each rekey run a new Diffie-Hellman
exchange (`KE` payloads), so one compromised SA key reveals nothing about the others.
"""),
    code("""
pfs = copy.deepcopy(life)
for gw in ("gw-a", "gw-b"):
    child(pfs, gw)["esp_proposals"] = ["aes128gcm16-ecp256"]
sim_pfs = Simulation.from_dict(pfs).run()
rows = []
for name, s in (("without PFS", sim), ("with PFS (ecp256)", sim_pfs)):
    for resp in (False, True):
        r = next(r for r in s.trace.dicts("ike_msg") if r["exchange"] == "CREATE_CHILD_SA"
                 and r["direction"] == "out" and r["response"] == resp)
        rows.append({"rekey": name, "message": "response" if resp else "request",
                     "payloads": r["payloads"].split("{")[1].rstrip("} "), "bytes": r["size"]})
pd.DataFrame(rows)"""),
    md("""
## Dead Peer Detection

With `dpd_delay: 2`, a gateway that has heard nothing from its peer for two seconds sends an
empty `INFORMATIONAL` request; the peer must answer. At t = 12 s the link in front of gw-b
goes down. The probes go unanswered, are retransmitted (dashed arrows, here twice, one and
then two seconds apart), and when the last retransmission times out the IKE SA and its
CHILD_SAs are torn down — the failure box carries the engine's explanation.
"""),
    code("""
dpd = copy.deepcopy(base)
dpd["duration"] = 22
for gw in ("gw-a", "gw-b"):
    conn(dpd, gw).update({"dpd_delay": 2, "retransmit_tries": 2, "retransmit_timeout": 1})
dpd["links"]["wan-b"]["down"] = [[12, 60]]
dpd["traffic"] = {"ping": {"type": "ping", "from": "host-a", "to": "10.2.0.10", "start": 1,
                           "rate": 1, "count": 3}}
sim_dpd = Simulation.from_dict(dpd).run()
for f in sim_dpd.summary()["ike"]["failures"]:
    print(f"{f['node']}: {f['notify']}: {f['reason']}")
draw_ike_ladder(sim_dpd, window=(9.9, 22), title="DPD probes, then the link goes down at t = 12 s");"""),
    code("""
draw_sa_timeline(sim_dpd, node="gw-a", title="gw-a: DPD probes on the IKE SA until it is torn down");"""),
    md("""
## A rekey collision

Give both gateways the same timer with no jitter (`rand_time: 0`; gw-a's is 20 ms shorter so
that both requests leave before either arrives). Each side now sends a `CREATE_CHILD_SA`
for the same child, each answers the other's request, and for a moment there are *two* new
SAs. RFC 7296 §2.8.1: the SA created with the lowest nonce is redundant and is deleted by
its initiator. Read the ladder and the timeline; the drop counter below shows whether any
packet was caught in the changeover.
"""),
    code("""
col = copy.deepcopy(base)
col["duration"] = 8
for gw, rk in (("gw-a", 3.98), ("gw-b", 4.0)):
    child(col, gw).update({"rekey_time": rk, "life_time": 6, "rand_time": 0})
sim_col = Simulation.from_dict(col).run()
t = first(sim_col, "CREATE_CHILD_SA")["t"]
print("packets:", sim_col.summary()["packets"])
draw_ike_ladder(sim_col, window=(t - 0.001, t + 0.1), title="Both gateways rekey at once");"""),
    code("""
draw_sa_timeline(sim_col, node="gw-a", window=(t - 0.5, t + 0.6), title="gw-a's SAs around the collision");"""),
    md("""
## Exercises

1. Remove `life_time` (keep `rekey_time: 4`) and rerun the first experiment. What are
   `life_time` and `rand_time` now? Ask the gateway, as on a real one:
   `print(sim.node("gw-a").sh("swanctl --list-sas"))` prints `rekeying in …, expires in …` for
   the child (strongSwan's swanctl.conf man page states the defaults: `life_time` is 110 % of
   `rekey_time`, `rand_time` their difference). Why must `life_time` be larger than `rekey_time`?
2. Measure how much bigger the PFS rekey messages are with `modp3072` instead of `ecp256`. How
   many bytes of each message are the `KE` payload?
3. In the DPD experiment, what happens to the ping flow and to traffic after t = 12 s? Change
   `dpd_action` to `restart` on gw-a and bring the link back at t = 16 s
   (`down: [[12, 16]]`): does the tunnel come back?
4. In the collision, which of the two new SAs survived, and which side deleted the other?
   Check the nonces' role in RFC 7296 §2.8.1.
5. Were any packets dropped during the collision? Using the timeline, explain in which window
   a packet could arrive under an SPI its receiver has already removed.
6. Lifetimes can also count packets or bytes. Give both children `rekey_packets: 150` and
   `life_packets: 200` (and no `rekey_time`) and draw gw-a's timeline: the orange ticks are
   soft expiries, a red cross a hard expiry. Which flow's SA reaches its limit first, and why?
"""),
]
