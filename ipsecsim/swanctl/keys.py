"""Every key of swanctl.conf(5) (strongSwan 5.9.8), and what the simulator does with it.

Each table maps a key to how :mod:`~ipsecsim.swanctl.convert` treats it:

* :data:`MAPPED` -- handed to :meth:`IkeConfig.from_dict` under the same name;
* :class:`Unmodelled` -- a warning naming the key and why, unless the value is the one
  whose behaviour the simulator has anyway (``policies = yes``: it installs policies);
  ``keep`` says the key is still handed on (IkeConfig records it, so a YAML spelling of
  the same block gives an equal IkeConfig).

Keys that are in neither table are unknown to strongSwan too: an error with a
did-you-mean, as charon refuses them (``vici_config.c``: "unknown option").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unmodelled:
    """A key strongSwan knows and the simulator does not model."""

    why: str
    """Why it has no effect in the simulator (the warning's text)."""
    same_as: tuple[str, ...] = ()
    """Values (normalised, see :func:`normal`) the simulator behaves as: no warning."""
    keep: bool = False
    """Hand the key to IkeConfig anyway (it records it)."""


MAPPED = "mapped"
"""Marker: the key is modelled and handed on."""

_IKEV1 = "IKEv1 only in strongSwan; no effect with IKEv2"
_MED = "IKEv2 mediation is not modelled"
_PPK = "postquantum preshared keys (RFC 8784) are not modelled"
_IFID = "XFRM interface IDs are not modelled"
_MARK = "XFRM marks are not modelled"
_EAP = "XAuth and EAP-RADIUS are not modelled (psk, pubkey and eap-md5/-mschapv2/-tls are)"
_PKCS11 = "certificates and keys on tokens (PKCS#11) are not modelled"

CONNECTION: dict[str, str | Unmodelled] = {
    "version": MAPPED,
    "local_addrs": MAPPED,
    "remote_addrs": MAPPED,
    "local_port": MAPPED,
    "remote_port": MAPPED,
    "proposals": MAPPED,
    "vips": MAPPED,
    "aggressive": Unmodelled(_IKEV1, ("no",)),
    "pull": Unmodelled(_IKEV1, ("yes",)),
    "dscp": Unmodelled("DSCP marking of IKE packets is not modelled", ("000000", "0")),
    "encap": MAPPED,
    "mobike": Unmodelled("MOBIKE (RFC 4555) is not implemented: the simulator neither "
                         "announces nor uses it", ("no",), keep=True),
    "dpd_delay": MAPPED,
    "dpd_timeout": Unmodelled(_IKEV1, ("0",), keep=True),
    "fragmentation": MAPPED,
    "childless": Unmodelled("childless IKE_SA initiation (RFC 6023) is not modelled"),
    "send_certreq": Unmodelled("sending no CERTREQ is not modelled", ("yes",)),
    "send_cert": Unmodelled("the simulator always sends its certificate", ("always",)),
    "ocsp": Unmodelled("OCSP is not modelled"),
    "ppk_id": Unmodelled(_PPK),
    "ppk_required": Unmodelled(_PPK, ("no",)),
    "keyingtries": Unmodelled("retrying a failed IKE_SA setup is not modelled",
                              ("yes",)),  # 1, as normal() spells it: one try, as the simulator
    "unique": MAPPED,
    "reauth_time": MAPPED,
    "rekey_time": MAPPED,
    "over_time": MAPPED,
    "rand_time": MAPPED,
    "pools": MAPPED,
    "if_id_in": Unmodelled(_IFID, ("0",)),
    "if_id_out": Unmodelled(_IFID, ("0",)),
    "mediation": Unmodelled(_MED, ("no",)),
    "mediated_by": Unmodelled(_MED),
    "mediation_peer": Unmodelled(_MED),
}
"""``connections.<conn>.*`` (``local*``, ``remote*`` and ``children`` are sections)."""

NOT_SWANCTL = {
    "retransmit_timeout": "charon.retransmit_timeout",
    "retransmit_base": "charon.retransmit_base",
    "retransmit_tries": "charon.retransmit_tries",
    "retransmit_jitter": "charon.retransmit_jitter",
    "retransmit_limit": "charon.retransmit_limit",
    "make_before_break": "charon.make_before_break",
}
"""Keys ipsecsim's YAML takes per connection that are strongswan.conf options in strongSwan."""

AUTH: dict[str, str | Unmodelled] = {
    "round": MAPPED,  # orders the rounds
    "auth": MAPPED,
    "id": MAPPED,
    "certs": MAPPED,
    "cacerts": MAPPED,
    "pubkeys": Unmodelled("raw public key authentication is not modelled"),
    "eap_id": MAPPED,
    "aaa_id": Unmodelled(_EAP),
    "xauth_id": Unmodelled(_EAP),
    "groups": Unmodelled("authorization groups are not modelled"),
    "cert_policy": Unmodelled("certificate policy constraints are not modelled"),
    "ca_id": Unmodelled("CA identity constraints are not modelled"),
    "revocation": Unmodelled("revocation checking (CRL, OCSP) is not modelled", ("relaxed",)),
}
"""``connections.<conn>.local<suffix>.*`` and ``remote<suffix>.*`` (``cert<suffix>`` and
``cacert<suffix>`` are sections)."""

CERT_SECTION: dict[str, str | Unmodelled] = {
    "file": MAPPED,
    "handle": Unmodelled(_PKCS11),
    "slot": Unmodelled(_PKCS11),
    "module": Unmodelled(_PKCS11),
}
"""``local<suffix>.cert<suffix>.*``, ``remote<suffix>.cacert<suffix>.*``."""

CHILD: dict[str, str | Unmodelled] = {
    "ah_proposals": MAPPED,
    "esp_proposals": MAPPED,
    "sha256_96": Unmodelled("truncating HMAC-SHA-256 to 96 bits is not modelled", ("no",)),
    "local_ts": MAPPED,
    "remote_ts": MAPPED,
    "rekey_time": MAPPED,
    "life_time": MAPPED,
    "rand_time": MAPPED,
    "rekey_bytes": MAPPED,
    "life_bytes": MAPPED,
    "rand_bytes": Unmodelled("jitter on byte limits is not modelled", ("0",)),
    "rekey_packets": MAPPED,
    "life_packets": MAPPED,
    "rand_packets": Unmodelled("jitter on packet limits is not modelled", ("0",)),
    "updown": Unmodelled("updown scripts are not run"),
    "hostaccess": Unmodelled("host access rules of the updown script are not modelled", ("no",)),
    "mode": MAPPED,
    "policies": Unmodelled("running without IPsec policies is not modelled", ("yes",)),
    "policies_fwd_out": Unmodelled("outbound FWD policies are not modelled", ("no",)),
    "dpd_action": MAPPED,
    "ipcomp": Unmodelled("IPComp is not modelled", ("no",)),
    "inactivity": Unmodelled("closing inactive CHILD_SAs is not modelled", ("0",)),
    "reqid": Unmodelled("fixed reqids are not modelled", ("0",)),
    "priority": Unmodelled("policy priorities are not modelled", ("0",)),
    "interface": Unmodelled("restricting policies to an interface is not modelled"),
    "mark_in": Unmodelled(_MARK, ("0",)),
    "mark_in_sa": Unmodelled(_MARK, ("no",)),
    "mark_out": Unmodelled(_MARK, ("0",)),
    "set_mark_in": Unmodelled(_MARK, ("0",)),
    "set_mark_out": Unmodelled(_MARK, ("0",)),
    "if_id_in": Unmodelled(_IFID, ("0",)),
    "if_id_out": Unmodelled(_IFID, ("0",)),
    "label": Unmodelled("security labels are not modelled"),
    "label_mode": Unmodelled("security labels are not modelled", ("system",)),
    "tfc_padding": MAPPED,
    "replay_window": MAPPED,
    "hw_offload": Unmodelled("hardware offload is not modelled", ("no",)),
    "copy_df": Unmodelled("the DF bit of the outer header is not modelled", ("yes",)),
    "copy_ecn": Unmodelled("ECN copying is not modelled", ("yes",)),
    "copy_dscp": Unmodelled("DSCP copying is not modelled", ("out",)),
    "per_cpu_sas": Unmodelled("per-CPU SAs are not modelled", ("no",)),
    "icmp": Unmodelled("ICMP error forwarding is not modelled", ("no",)),
    "start_action": MAPPED,
    "close_action": MAPPED,
}
"""``connections.<conn>.children.<child>.*``."""

LIST_KEYS = frozenset({"local_addrs", "remote_addrs", "proposals", "esp_proposals",
                       "ah_proposals", "local_ts", "remote_ts", "vips", "pools", "groups",
                       "cert_policy", "certs", "cacerts", "pubkeys"})
"""Keys whose value is a comma separated list (swanctl ``load_conns.c`` ``is_list_key``)."""

BOOL_KEYS = frozenset({"encap", "mobike"})
"""Boolean keys handed on (strongSwan's spellings are normalised to yes/no)."""

ACTIONS = {
    "start_action": {"restart": "start", "route": "trap", "clear": "none"},
    "close_action": {"restart": "start", "route": "trap", "clear": "none"},
    "dpd_action": {"start": "restart", "route": "trap", "none": "clear"},
}
"""charon reads start, restart / route, trap / none, clear as one action each
(``vici_config.c`` ``parse_action``); IkeConfig takes one spelling per key."""

SECRET_TYPES = ("eap", "xauth", "ntlm", "ike", "ppk", "private", "rsa", "ecdsa", "pkcs8",
                "pkcs12", "token")
"""Prefixes of ``secrets`` sections (swanctl.conf(5))."""

SECRET_UNMODELLED = {
    "xauth": _EAP, "ntlm": "NTLM hashes for EAP-MSCHAPv2 are not modelled (give the password "
    "as an eap secret)", "ppk": _PPK,
    "pkcs12": "PKCS#12 containers are not modelled", "token": _PKCS11,
}
"""Secret types the simulator does not use."""

KEY_SECRET_FOLDERS = {"private": "private", "rsa": "rsa", "ecdsa": "ecdsa", "pkcs8": "pkcs8"}
"""Secret types that hold the password of a key file, and the folder of that file."""

POOL_ATTRS = frozenset({"dns", "nbns", "dhcp", "netmask", "server", "subnet", "p_cscf",
                        "split_include", "split_exclude"})
"""``pools.<name>.<attr>`` attribute names (or a number)."""
POOL_MODELLED = ("dns", "nbns", "dhcp", "netmask", "subnet")
"""The pool attributes a CFG_REPLY carries (``core/pools.py`` ``MODELLED_ATTRIBUTES``)."""

AUTHORITY: dict[str, str | Unmodelled] = {
    "cacert": MAPPED,
    "file": MAPPED,
    "handle": Unmodelled(_PKCS11),
    "slot": Unmodelled(_PKCS11),
    "module": Unmodelled(_PKCS11),
    "crl_uris": Unmodelled("revocation checking (CRL, OCSP) is not modelled"),
    "ocsp_uris": Unmodelled("revocation checking (CRL, OCSP) is not modelled"),
    "cert_uri_base": Unmodelled("hash and URL certificate lookup is not modelled"),
}
"""``authorities.<name>.*``: ``cacert``/``file`` add a trust anchor."""

TOP_SECTIONS = ("connections", "secrets", "pools", "authorities")
"""The sections of swanctl.conf."""

_TRUE = {"yes", "true", "enabled", "1", "on"}
_FALSE = {"no", "false", "disabled", "0", "off"}


def normal(value: str) -> str:
    """A value in a canonical spelling to compare it with a default: booleans as
    yes/no (``0`` stays ``0``), zero times and marks as ``0``, lower case."""
    v = value.strip().lower()
    if v in ("0", "0s", "0m", "0h", "0d", "0/0", "0/0x00000000", "0x00000000"):
        return "0"
    if v in _TRUE:
        return "yes"
    if v in _FALSE:
        return "no"
    return v
