"""Differential: the simulator's daemon.log against live charon's for the same two configs.

Two charons (strongSwan 5.9.8, in network namespaces, as the interop tests run them) load
the same swanctl-shaped configuration as two simulated gateways on one link with the same
addresses -- pre-shared keys, or ECDSA / RSA certificates from ipsecsim's CA (charon names
the signature scheme it verified: ``ECDSA_WITH_SHA256_DER``, ``RSA_EMSA_PKCS1_SHA2_256``).
Both pairs establish a tunnel, rekey its CHILD_SA, rekey the IKE_SA and delete it. On each end, the set of log lines about establishment, authentication, CHILD_SAs
established, rekeys and deletes must be the same (each line as often) once what has to differ is masked: SPIs,
unique ids, reqids, byte counts, ports (charon's kernel-libipsec always encapsulates ESP,
so its IKE floats to 4500).

What the comparison leaves out is what charon logs and the simulator does not model here:
packets and payload lists (charon offers MOBIKE, REDIRECT, EAP_ONLY ... notifies), NAT
detection, MOBIKE address updates, vici and kernel lines, timers.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import pytest

from ipsecsim.core.ike.ca import CertificateAuthority, write_swanctl
from ipsecsim.core.rng import Rng
from ipsecsim.sim import Simulation
from tests.interop.charon import Charon, established_child
from tests.interop.fixtures import Interop, interop  # noqa: F401 - the fixture
from tests.interop.swanctl import site_config

pytestmark = pytest.mark.oracle

IKE, ESP = ["aes128-sha256-x25519"], ["aes128gcm16"]
IDS = ("moon.example", "sun.example")

KINDS = re.compile(
    r"initiating IKE_SA |.* is initiating an IKE_SA$|IKE_SA \S+ established between |"
    r"authentication of |establishing CHILD_SA |(inbound |outbound )?CHILD_SA \S+ established with |"
    r"IKE_SA \S+ rekeyed between |closing CHILD_SA |sending DELETE for |received DELETE for |"
    r"CHILD_SA closed$|deleting IKE_SA |IKE_SA deleted$")
"""The lines compared: establishment, authentication, CHILD_SA established, rekey, delete."""

MASKS = [
    (re.compile(r"\b[0-9a-f]{8}(_[io])\b"), r"SPI\1"),  # CHILD_SA SPIs
    (re.compile(r"(with SPI) [0-9a-f]{8}\b"), r"\1 SPI"),
    (re.compile(r"\[\d+\]"), "[N]"),  # IKE_SA unique ids (a port would be [500]/[4500])
    (re.compile(r"\{\d+\}"), "{N}"),  # CHILD_SA unique ids
    (re.compile(r"reqid \d+"), "reqid N"),
    (re.compile(r"\(\d+ bytes\)"), "(B bytes)"),
]


def mask(text: str) -> str:
    for pat, repl in MASKS:
        text = pat.sub(repl, text)
    return text


def compared(messages: list[str]) -> Counter[str]:
    """The masked lines of :data:`KINDS`, with how often each was logged (order left out:
    charon's threads may interleave two IKE_SAs' lines differently from run to run)."""
    return Counter(mask(m) for m in messages if KINDS.match(m))


def charon_messages(log: str) -> list[str]:
    """The texts of a charon file log (``HH:MM:SS NN[GRP] text``)."""
    out = []
    for line in log.splitlines():
        m = re.match(r"^\S+ \d\d\[[A-Z]+\] (.*)$", line)
        if m:
            out.append(m.group(1))
    return out


def configs(env: Interop, auth: str, charon: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both ends' swanctl-shaped configs; with certificates, charon's name its files relative
    to its x509/ and x509ca/ folders (``moon/``, ``sun/`` in the work folder), the simulator's
    by path."""
    left = site_config(env.left.addr, env.right.addr, env.left.inner, env.right.inner, IDS[0], IDS[1],
                       IKE, ESP)
    right = site_config(env.right.addr, env.left.addr, env.right.inner, env.left.inner, IDS[1], IDS[0],
                        IKE, ESP)
    if auth == "psk":
        return left, right
    ca = CertificateAuthority(Rng(11, "charonlog-ca"), "ipsecsim charonlog CA", auth)
    for conf, me, peer, folder in ((left, IDS[0], IDS[1], "moon"), (right, IDS[1], IDS[0], "sun")):
        paths = write_swanctl(f"{env.dir}/{folder}", ca, ca.issue(me, auth), folder)
        c = conf["connections"]["interop"]
        if charon:
            c["local"] = {"auth": "pubkey", "id": me, "certs": [paths["x509"].name]}
            c["remote"] = {"auth": "pubkey", "id": peer, "cacerts": [paths["x509ca"].name]}
        else:
            c["local"] = {"auth": "pubkey", "id": me, "certs": [str(paths["x509"])],
                          "key": str(paths["private"])}
            c["remote"] = {"auth": "pubkey", "id": peer, "cacerts": [str(paths["x509ca"])]}
        conf["secrets"] = {}
    return left, right


def wait_log(c: Charon, needle: str, count: int = 1, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if c.log().count(needle) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"charon {c.dir}: {needle!r} x{count} not logged within {timeout} s")


def live(env: Interop, auth: str) -> tuple[list[str], list[str]]:
    """Two charons: establish, rekey the CHILD_SA, rekey the IKE_SA, delete it."""
    a, b = env.charon(env.left, "moon"), env.charon(env.right, "sun")
    left, right = configs(env, auth, charon=True)
    a.load(left)
    b.load(right)
    a.initiate("net", "interop")
    assert b.wait_for(lambda sas: established_child(sas, "net")) is not None
    a.swanctl("--rekey", "--child", "net")
    wait_log(a, "CHILD_SA closed")
    wait_log(b, "outbound CHILD_SA")
    a.swanctl("--rekey", "--ike", "interop")
    wait_log(a, "IKE_SA deleted")
    wait_log(b, "IKE_SA deleted")
    a.swanctl("--terminate", "--ike", "interop", "--timeout", "5")
    wait_log(a, "IKE_SA deleted", 2)
    wait_log(b, "IKE_SA deleted", 2)
    return charon_messages(a.log()), charon_messages(b.log())


def simulated(env: Interop, auth: str) -> tuple[list[str], list[str]]:
    """The same configurations as two simulated gateways on one link, the same steps."""
    left, right = configs(env, auth, charon=False)
    net = ".".join(env.left.addr.split(".")[:3]) + ".0/24"
    assert env.right.addr.startswith(net[:-4])
    topo = {
        "name": "charonlog-oracle", "duration": 10,
        "nodes": {
            "moon": {"role": "gateway", "addresses": [f"{env.left.addr}/24"], "ipsec": left},
            "sun": {"role": "gateway", "addresses": [f"{env.right.addr}/24"], "ipsec": right},
        },
        "links": {"veth": {"a": "moon", "b": "sun", "delay": "1ms"}},
    }
    sim = Simulation.from_dict(topo)
    moon = sim.node("moon")
    node: Any = moon.node  # type: ignore[attr-defined]

    def step(at: float, action: Any) -> None:
        sim.run(at)
        action(sim.now)
        moon.drain()  # type: ignore[attr-defined]

    def current_ike() -> str:
        return next(sa.name for sa in node.ike.ike_sas.values() if sa.state == "ESTABLISHED")

    def current_child() -> int:
        return max(node.children.values(), key=lambda k: k.unique_id).spi_in

    step(0.5, lambda now: node.initiate("interop", now, "net"))
    step(2.0, lambda now: node.rekey_child(current_child(), now))
    step(4.0, lambda now: node.rekey_ike(current_ike(), now))
    step(6.0, lambda now: node.delete_ike(current_ike(), now))
    sim.run(8.0)
    return (sim.node("moon").charon_log.messages(),  # type: ignore[attr-defined]
            sim.node("sun").charon_log.messages())  # type: ignore[attr-defined]


@pytest.mark.parametrize("auth", ["psk", "ecdsa", "rsa"])
def test_simulated_daemon_log_says_what_charon_says(interop: Interop, auth: str) -> None:  # noqa: F811
    real = live(interop, auth)
    sim = simulated(interop, auth)
    for side, got, want in (("initiator", sim[0], real[0]), ("responder", sim[1], real[1])):
        want_lines, got_lines = compared(want), compared(got)
        assert got_lines == want_lines, (
            f"{side}: charon logs but the simulator does not: {sorted((want_lines - got_lines).elements())}\n"
            f"{side}: the simulator logs but charon does not: {sorted((got_lines - want_lines).elements())}")
        assert len(want_lines) >= 15  # establishment, auth, CHILD_SA, both rekeys, the delete
        if auth != "psk":
            scheme = "ECDSA_WITH_SHA256_DER" if auth == "ecdsa" else "RSA_EMSA_PKCS1_SHA2_256"
            assert any(m.endswith(f"with {scheme} successful") for m in want_lines)
