"""Notebook 10: set up a gateway step by step with the console, test the tunnel, read the logs."""

from nbcells import SETUP, code, md

CELLS = [
    md("""
# 10 · Setting up a VPN gateway, and reading what it tells you

**What you will learn**

* the six steps every router-setup guide has — plan, configure, load, bring up, test,
  monitor — done on two simulated strongSwan gateways with the commands you would type on
  real ones: `swanctl --load-all`, `swanctl --initiate`, `ping`, `swanctl --list-sas`,
  `ip xfrm state`, `cat /var/log/daemon.log`;
* how to read a `swanctl.conf`: connections, the local and remote authentication rounds,
  children with their traffic selectors, and the secrets;
* how to find out *why* a tunnel does not come up, from the log, as you would on a real box.

Each code cell is a terminal: `moon.sh("...")` types a command on gateway moon at the current
simulated time and returns what strongSwan (or iputils, or iproute2) would print. Commands
that take time — `--initiate`, `ping` — run the simulated network forward until they finish.
"""),
    code(SETUP + """
import pathlib
import tempfile
import yaml
from ipsecsim.sim.runner import Simulation
from ipsecsim.viz.topology import draw_topology"""),
    md("""
## Step 1 · Plan

strongSwan's own test network: moon protects the 10.1.0.0/16 network (alice is on it), sun
protects 10.2.0.0/16 (bob). The gateways reach each other on 192.168.0.0/24. Write down,
before any configuration: each gateway's public address and name, the subnets behind each,
how they authenticate (here: a pre-shared key), and the algorithms (here: AES-128, SHA-256 and
Curve25519 for IKE; AES-GCM for ESP).
"""),
    code("""
topo = yaml.safe_load(open("../topologies/strongswan-testbed/net2net-psk.yaml"))
topo["traffic"] = {}          # no traffic generator: we type the pings ourselves
topo["duration"] = 60
draw_topology(Simulation(topo, source="../topologies/strongswan-testbed/net2net-psk.yaml"),
              title="moon and sun, strongSwan's test network");"""),
    md("""
## Step 2 · Configure

On a real gateway the configuration lives in `/etc/swanctl/swanctl.conf`. Here each gateway
gets a folder of its own; the file is the same text. Read it from the top: one connection
`gw-gw` between the two public names, authenticated with a pre-shared key on both sides, one
child `net-net` that tunnels 10.1.0.0/16 to 10.2.0.0/16, and the secret. `start_action =
none`: nothing happens until we initiate.
"""),
    code('''
MOON = """
connections {
   gw-gw {
      local_addrs  = moon.strongswan.org
      remote_addrs = sun.strongswan.org
      proposals = aes128-sha256-x25519
      local {
         auth = psk
         id = moon.strongswan.org
      }
      remote {
         auth = psk
         id = sun.strongswan.org
      }
      children {
         net-net {
            local_ts  = 10.1.0.0/16
            remote_ts = 10.2.0.0/16
            esp_proposals = aes128gcm16-x25519
            start_action = none
         }
      }
   }
}
secrets {
   ike-moon-sun {
      id-1 = moon.strongswan.org
      id-2 = sun.strongswan.org
      secret = "moon and sun share this testbed key"
   }
}
"""
# sun's file is moon's with the roles swapped
SUN = (MOON.replace("moon.strongswan.org", "@@").replace("sun.strongswan.org", "moon.strongswan.org")
           .replace("@@", "sun.strongswan.org").replace("local_ts  = 10.1.0.0/16", "local_ts  = @@")
           .replace("remote_ts = 10.2.0.0/16", "remote_ts = 10.1.0.0/16").replace("@@", "10.2.0.0/16"))

def build(moon_conf, sun_conf):
    """A fresh network whose gateways read these two swanctl.conf files."""
    folder = pathlib.Path(tempfile.mkdtemp())
    for gw, text in (("moon", moon_conf), ("sun", sun_conf)):
        (folder / gw).mkdir()
        (folder / gw / "swanctl.conf").write_text(text)
        topo["nodes"][gw]["swanctl"] = str(folder / gw)
    return Simulation(topo)

sim = build(MOON, SUN)
moon, sun, alice = sim.node("moon"), sim.node("sun"), sim.node("alice")
print(SUN[:420])'''),
    md("""
## Step 3 · Load

`swanctl --load-all` reads the folder and hands connections and secrets to the IKE daemon.
Check what it says: one secret, one connection. `--list-conns` shows what was understood.
"""),
    code("""
print(moon.sh("swanctl --load-all"))
print(moon.sh("swanctl --list-conns"))"""),
    md("""
## Step 4 · Bring the tunnel up

`--initiate --child net-net` starts the IKE exchanges and prints the daemon's log lines as
they happen: `IKE_SA_INIT` (algorithms and Diffie-Hellman), `IKE_AUTH` (identities, the
pre-shared key proof, the child), then *established*.
"""),
    code("""
print(moon.sh("swanctl --initiate --child net-net"))"""),
    md("""
## Step 5 · Test

A ping from a host behind moon to a host behind sun. The first line of each reply has the
TTL (two routers on the way: 64 − 2 = 62) and the round trip.
"""),
    code("""
print(alice.sh("ping -c 3 10.2.0.10"))"""),
    md("""
## Step 6 · Monitor

`--list-sas` is the first thing to type when something looks wrong: is the IKE_SA
ESTABLISHED, is the CHILD_SA INSTALLED, with which algorithms, which traffic selectors, and
are the byte and packet counters going up in *both* directions? `ip xfrm state` shows the
same SAs as the kernel holds them (SPIs, keys, the replay window), and the log tells the story.
"""),
    code("""
print(moon.sh("swanctl --list-sas"))
print(moon.sh("ip xfrm state"))"""),
    code("""
print(moon.sh("cat /var/log/daemon.log"))"""),
    md("""
## When it does not come up

A typo in one secret. The tunnel fails; `--initiate` says so, and the log says why — on the
side that *detected* it. moon sees only that sun refused; sun's log names the cause.
"""),
    code("""
broken = build(MOON, SUN.replace("share this testbed key", "share this testbed kee"))
print(broken.node("moon").sh("swanctl --initiate --child net-net"))
print(broken.node("moon").sh("swanctl --list-sas") or "(no SAs)")"""),
    code("""
log = broken.node("sun").sh("cat /var/log/daemon.log")
print("\\n".join(line for line in log.splitlines() if "[IKE]" in line or "[ENC]" in line))"""),
    md("""
The line to look for is sun's `tried 1 shared key for 'sun.strongswan.org' -
'moon.strongswan.org', but MAC mismatched` (the keys differ), then the `AUTH_FAILED` notify it
sends back, which moon logs as `received AUTHENTICATION_FAILED notify error`. Other classic failures, and the line that
gives each away: `no matching proposal found` (the algorithms of step 1 differ),
`no IKE config found` (an address or name in `local_addrs`/`remote_addrs`), `traffic
selectors unacceptable` (the subnets of the children do not mirror each other).

## Exercises

1. Give sun `proposals = aes256-sha384-ecp384` and initiate again. Which log line, on which
   gateway, tells you the cause? Fix it by changing only moon.
2. Swap sun's `local_ts` and `remote_ts` (a classic copy-and-paste mistake). What does the log
   say, and does the IKE_SA come up even though the CHILD_SA does not?
3. After a working setup, ping 10 times and compare the `in` and `out` counters of
   `--list-sas` on moon with those on sun. Why does one gateway's `in` equal the other's `out`?
4. `swanctl --terminate --ike gw-gw` on moon: what do both logs say, and what does a ping
   from alice get afterwards? Then set `start_action = trap` on both and ping again without
   initiating: what brought the tunnel up?
5. In `ip xfrm state`, which SA has `replay-window 32` and which has 0, and why does an
   outbound SA need no replay window?
"""),
]
