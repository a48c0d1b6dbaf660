"""``ip xfrm state`` and ``ip xfrm policy`` from a simulated gateway's SAD and SPD.

The text is what iproute2 6.1 prints (``ip/ipxfrm.c`` ``xfrm_state_info_print()``,
``xfrm_policy_info_print()``, ``xfrm_xfrma_print()``, ``xfrm_selector_print()``) for the
states and policies charon would have installed through netlink for the same SAs
(strongSwan 5.9 ``kernel_netlink_ipsec.c``): kernel algorithm names (``rfc4106(gcm(aes))``,
``cbc(aes)``, ``hmac(sha256)``), ``flag af-unspec`` on tunnel-mode states, a replay window on
inbound states only, UDP encapsulation as ``encap type espinudp``, an ``in`` and a ``fwd``
policy for every inbound tunnel-mode policy, the outbound template carrying the SPI, and
priorities from ``get_priority()``. The kernel lists the newest entry first, and so does this.

Not shown: ``lastused`` (the simulator keeps no wall clock), marks, interface ids, the
``-s`` statistics and the socket policies charon puts on its IKE sockets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.selectors import TrafficSelector, int_to_ip
from .vici import Reqids, proto_name

if TYPE_CHECKING:
    from ..core.keys import ChildSaKeys
    from .shell import Ctx

_ENC = {"ENCR_AES_CBC": "cbc(aes)", "ENCR_NULL": "ecb(cipher_null)", "ENCR_3DES": "cbc(des3_ede)",
        "ENCR_AES_CTR": "rfc3686(ctr(aes))"}
_AEAD = {"ENCR_AES_GCM_16": "rfc4106(gcm(aes))", "ENCR_AES_GCM_12": "rfc4106(gcm(aes))",
         "ENCR_AES_GCM_8": "rfc4106(gcm(aes))",
         "ENCR_CHACHA20_POLY1305": "rfc7539esp(chacha20,poly1305)"}
_AUTH = {"sha1": "hmac(sha1)", "sha256": "hmac(sha256)", "sha384": "hmac(sha384)",
         "sha512": "hmac(sha512)", "md5": "hmac(md5)"}

PRIO_BASE = 200000
"""``kernel_netlink_ipsec.c``: PASS policies start here, DEFAULT/ROUTED at twice, FALLBACK at
three times."""

_IP_OBJECTS = ("address", "addrlabel", "amt", "fou", "help", "ila", "ioam", "l2tp", "link",
               "macsec", "maddress", "monitor", "mptcp", "mroute", "mrule", "neighbor",
               "neighbour", "netconf", "netns", "nexthop", "ntable", "ntbl", "route", "rule",
               "sr", "stats", "tap", "tcpmetrics", "token", "tunnel", "tuntap", "vrf")
"""iproute2 6.1's other objects (``ip/ip.c``): known to ip, not modelled here."""

USAGE = ("Usage: ip xfrm XFRM-OBJECT { COMMAND | help }\n"
         "where  XFRM-OBJECT := state | policy | monitor\n")


def main(ctx: Ctx, argv: list[str]) -> None:
    """``ip xfrm state|policy [list|show]``; any other ``ip`` object is not modelled."""
    args = argv[1:]
    while args and args[0].startswith("-"):
        args = args[1:]  # -4, -s, -d ... (statistics are not shown)
    if not args or not "xfrm".startswith(args[0]):
        obj = args[0] if args else ""
        if not obj:
            ctx.out.err("Usage: ip [ OPTIONS ] OBJECT { COMMAND | help }\n")
        elif any(o.startswith(obj) for o in _IP_OBJECTS):
            ctx.out.err(f"ipsecsim console: ip {obj} is not modelled (only ip xfrm)\n")
        else:
            ctx.out.err(f'Object "{obj}" is unknown, try "ip help".\n')
        return None
    rest = args[1:]
    if not rest:
        ctx.out.err(USAGE)
        return None
    obj, verb = rest[0], (rest[1] if len(rest) > 1 else "list")
    if verb not in ("list", "show", "ls", "lst", "sh"):
        ctx.out.err(f'ipsecsim console: ip xfrm {obj} {verb} is not modelled\n')
        return None
    node = getattr(ctx.node, "node", None)  # the gateway's IpsecNode; hosts have no SAD
    reqids = Reqids(ctx.console.node_state(ctx.node.name).setdefault("reqids", {}))
    if "state".startswith(obj) and obj:
        ctx.out.out(states(node, reqids) if node is not None else "")
    elif "policy".startswith(obj) and obj:
        ctx.out.out(policies(node, reqids) if node is not None else "")
    else:
        ctx.out.err(USAGE)
    return None


# --- states ---------------------------------------------------------------------------------
def _keys_by_spi(node: Any) -> dict[int, tuple[ChildSaKeys, bool]]:
    """SPI -> (the CHILD_SA's keys, inbound?)."""
    out: dict[int, tuple[ChildSaKeys, bool]] = {}
    for k in node.children.values():
        out[k.spi_in] = (k, True)
        out[k.spi_out] = (k, False)
    return out


def states(node: Any, reqids: Reqids) -> str:
    """Every SAD entry, newest first, as ``ip xfrm state`` prints it."""
    keys = _keys_by_spi(node)
    entries = sorted(node.sa_entries(), key=lambda e: (e.installed_at, e.unique_id,
                                                       e.direction != "in"))
    return "".join(_state(e, keys.get(e.sa.spi), reqids) for e in reversed(entries))


def _state(e: Any, found: tuple[ChildSaKeys, bool] | None, reqids: Reqids) -> str:
    sa = e.sa
    inbound = e.direction == "in"
    src, dst = (sa.tunnel_src, sa.tunnel_dst)
    k = found[0] if found else None
    if k is not None:
        src, dst = (k.remote_addr, k.local_addr) if inbound else (k.local_addr, k.remote_addr)
    lts, rts = (e.dst_ts, e.src_ts) if inbound else (e.src_ts, e.dst_ts)
    local, remote = (dst, src) if inbound else (src, dst)
    reqid = reqids.get((e.child, local or "", remote or "", tuple(map(str, lts)),
                        tuple(map(str, rts))))
    lines = [f"src {src or '0.0.0.0'} dst {dst or '0.0.0.0'}\n",
             f"\tproto {sa.proto} spi 0x{sa.spi:08x} reqid {reqid} mode {sa.mode}\n"]
    esn = bool(sa.esn)
    window = sa.replay.size if inbound else 0
    big = inbound and (esn or window > 32) or (not inbound and esn)
    flags = []
    if sa.mode == "tunnel":
        flags.append("af-unspec")
    if sa.proto == "ah":
        flags.append("align4")
    if esn:
        flags.append("esn")
    shown_window = 0 if big else window
    lines.append(f"\treplay-window {shown_window} " + (f"flag {' '.join(flags)}" if flags else "")
                 + "\n")
    if sa.integ is not None:
        key = (k.key_in_integ if inbound else k.key_out_integ) if k is not None else b""
        name = _AUTH.get(sa.integ.hash_name, sa.integ.hash_name)
        lines.append(f"\tauth-trunc {name} {_hex(key)} {sa.integ.icv_size * 8}\n")
    encr = sa.encr
    if sa.proto == "esp" and encr is not None:
        key = (k.key_in_encr if inbound else k.key_out_encr) if k is not None else b""
        if encr.aead:
            name = _AEAD.get(encr.iana_name, encr.iana_name)
            lines.append(f"\taead {name} {_hex(key)} {encr.icv_size * 8}\n")
        else:
            lines.append(f"\tenc {_ENC.get(encr.iana_name, encr.iana_name)} {_hex(key)}\n")
    if sa.encap:
        sport, dport = (sa.encap[1], sa.encap[0]) if inbound else (sa.encap[0], sa.encap[1])
        lines.append(f"\tencap type espinudp sport {sport} dport {dport} addr 0.0.0.0\n")
    lines += _replay(sa, inbound, esn, big)
    if sa.mode == "transport" and lts and rts:
        s, d = (rts[0], lts[0]) if inbound else (lts[0], rts[0])
        lines.append(f"\tsel src {_prefix(s)} dst {_prefix(d)} \n")
    return "".join(lines)


def _hex(key: bytes) -> str:
    return "0x" + key.hex() if key else ""


def _replay(sa: Any, inbound: bool, esn: bool, big: bool) -> list[str]:
    """``anti-replay context`` (XFRMA_REPLAY_VAL) or its ESN form (XFRMA_REPLAY_ESN_VAL)."""
    rp = sa.replay
    top = rp.top if inbound else 0
    oseq = 0 if inbound else sa.seq
    received = []
    if inbound and top:
        bits = rp.bitmap
        received = [top - i for i in range(rp.size or 0) if (bits >> i) & 1 and top - i > 0]
    if not big:
        bitmap = sum(1 << (top - s) for s in received if top - s < 32)
        return [f"\tanti-replay context: seq 0x{top & 0xFFFFFFFF:x}, oseq 0x{oseq & 0xFFFFFFFF:x}, "
                f"bitmap 0x{bitmap:08x}\n"]
    window = (rp.size or 1) if inbound else 1
    words = max(1, -(-window // 32))
    bmp = [0] * words
    for s in received:  # the kernel's ESN bitmap is positional: bit (seq - 1) mod window
        pos = (s - 1) % window
        bmp[pos // 32] |= 1 << (pos % 32)
    out = ["\tanti-replay esn context:\n",
           f"\t seq-hi 0x{top >> 32:x}, seq 0x{top & 0xFFFFFFFF:x}, oseq-hi 0x{oseq >> 32:x}, "
           f"oseq 0x{oseq & 0xFFFFFFFF:x}\n",
           f"\t replay_window {window}, bitmap-length {words}"]
    for j, w in enumerate(reversed(bmp)):
        if j % 8 == 0:
            out.append("\n\t ")
        out.append(f"{w:08x} ")
    out.append("\n")
    return ["".join(out)]


# --- policies -------------------------------------------------------------------------------
def _netbits(ts: TrafficSelector) -> tuple[int, int]:
    """(network, prefix length) of the smallest prefix covering the selector's range
    (``ts2subnet()``)."""
    bits = 32
    while bits and (ts.start >> (32 - bits)) != (ts.end >> (32 - bits)):
        bits -= 1
    mask = ((1 << bits) - 1) << (32 - bits) if bits else 0
    return ts.start & mask, bits


def _prefix(ts: TrafficSelector) -> str:
    net, bits = _netbits(ts)
    return f"{int_to_ip(net)}/{bits}"


def _port_bits(ts: TrafficSelector) -> int:
    """Mask bits of the port range (``ts2ports()``: one port 16, any 0, else the common prefix)."""
    if ts.port_start == 0 and ts.port_end == 65535:
        return 0
    bits = 16
    while bits and (ts.port_start >> (16 - bits)) != (ts.port_end >> (16 - bits)):
        bits -= 1
    return bits


def priority(src: TrafficSelector, dst: TrafficSelector, kind: str = "default") -> int:
    """``get_priority()``: ``kind`` default (a CHILD_SA), routed (a trap), pass (bypass)."""
    base = {"pass": PRIO_BASE, "default": 2 * PRIO_BASE, "routed": 2 * PRIO_BASE,
            "fallback": 3 * PRIO_BASE}[kind]
    p = base - (_netbits(src)[1] + _netbits(dst)[1]) * 512
    p -= 256 if (src.proto or dst.proto) else 0
    p -= (_port_bits(src) + _port_bits(dst)) * 4
    p -= 1 if kind != "routed" else 0
    return p


def _selector(src: TrafficSelector, dst: TrafficSelector) -> str:
    s = f"src {_prefix(src)} dst {_prefix(dst)} "
    proto = src.proto or dst.proto
    if proto:
        s += f"proto {proto_name(proto)} "
        for word, ts in (("sport", src), ("dport", dst)):
            if _port_bits(ts):
                label = {"sport": "type", "dport": "code"}[word] if proto in (1, 58) else word
                s += f"{label} {ts.port_start} "
    return s + "\n"


def policies(node: Any, reqids: Reqids) -> str:
    """The SPD as the kernel would hold charon's policies: one kernel policy per selector
    pair, ``in`` + ``fwd`` for inbound tunnel-mode PROTECT policies, newest first (charon
    installs a CHILD_SA's in, fwd, then out policy; ``child_sa.c``)."""
    out_pols = node.policies("out")
    in_pols = node.policies("in")
    group: dict[int, int] = {}
    twin: dict[int, Any] = {}
    for pin in in_pols:
        for pout in out_pols:
            if pout.name == pin.name and pout.action == pin.action == "protect" and \
                    pout.src == pin.dst and pout.dst == pin.src and id(pout) not in group:
                group[id(pin)] = group[id(pout)] = min(pin.order, pout.order)
                twin[id(pin)] = pout
                break
    entries: list[tuple[tuple[int, int, int], str]] = []
    for p in out_pols:
        entries.append(((group.get(id(p), p.order), 2, p.order), _policy(node, p, "out", p, reqids)))
    for p in in_pols:
        g = group.get(id(p), p.order)
        pout = twin.get(id(p))
        entries.append(((g, 0, p.order), _policy(node, p, "in", pout, reqids)))
        if p.action == "protect" and p.mode == "tunnel":
            entries.append(((g, 1, p.order), _policy(node, p, "fwd", pout, reqids)))
    entries.sort(key=lambda e: e[0])
    return "".join(text for _, text in reversed(entries))


def _policy(node: Any, p: Any, direction: str, pout: Any, reqids: Reqids) -> str:
    """One SPD policy: a kernel policy per (source, destination) selector pair."""
    kind = {"protect": "default", "bypass": "pass", "discard": "default"}[p.action]
    if p.action == "protect" and p.sa is None and direction == "out" and \
            any(b.policy is p and b.why == "trap" for bl in node.blocks.values() for b in bl):
        kind = "routed"
    ends = _tunnel(node, pout if pout is not None else p)
    out = []
    for s in p.src:
        for d in p.dst:
            lines = [_selector(s, d)]
            head = f"\tdir {direction} "
            if p.action == "discard":
                head += "action block "
            lines.append(f"{head}priority {priority(s, d, kind)} ptype main \n")
            if p.action == "protect":
                local, remote = ends
                tsrc, tdst = (local, remote) if direction == "out" else (remote, local)
                if p.mode != "tunnel":
                    tsrc = tdst = "0.0.0.0"
                lts, rts = (p.src, p.dst) if direction == "out" else (p.dst, p.src)
                reqid = reqids.get((p.name, local, remote, tuple(map(str, lts)),
                                    tuple(map(str, rts))))
                spi = f"spi 0x{p.sa.spi:08x} " if direction == "out" and p.sa is not None else ""
                lines.append(f"\ttmpl src {tsrc} dst {tdst}\n")
                lines.append(f"\t\tproto {p.proto} {spi}reqid {reqid} mode {p.mode}\n")
            out.append("".join(lines))
    return "".join(out)


def _tunnel(node: Any, pout: Any) -> tuple[str, str]:
    """(local, remote) tunnel endpoints of a child's policies: its outbound SA's, else an
    installed generation's, else its connection's configured addresses."""
    sa = getattr(pout, "sa", None)
    if sa is not None and sa.tunnel_src:
        return sa.tunnel_src, sa.tunnel_dst
    for k in node.children.values():
        if k.name == pout.name:
            return k.local_addr, k.remote_addr
    found = node.child_config(pout.name)
    if found is not None:
        conn = found[0]
        local = conn.local_addrs[0] if conn.local_addrs else node.local_addrs[0]
        remote = conn.remote_addrs[0] if conn.remote_addrs else "0.0.0.0"
        return local, remote
    return "0.0.0.0", "0.0.0.0"
