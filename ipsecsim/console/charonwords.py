"""charon's spellings, as tables: payload and notify abbreviations, signature schemes, the
syslog prefix. :mod:`.charonlog` puts them together into daemon.log lines.

Every table follows strongSwan 5.9's source, named beside it; the values are facts about
charon's output, not code taken from it.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.ike.events import IkeFailure

EPOCH = datetime(2024, 1, 1)
"""Simulated time 0 as syslog prints it (``Jan  1 00:00:00``); syslog has no year."""

THREADS: dict[str, int] = {"DMN": 0, "CFG": 5, "IKE": 9, "CHD": 9, "ENC": 9, "NET": 9,
                           "KNL": 13, "JOB": 14}
"""The worker thread a group's lines show (charon logs ``NN[GRP]``; a job's IKE, ENC and NET
lines share one thread, as in a real log where one worker handles one message)."""

# src/libcharon/encoding/payloads/payload.c: payload_type_short_names (IKEv2 part)
PAYLOAD_SHORT: dict[str, str] = {
    "SA": "SA", "KE": "KE", "IDi": "IDi", "IDr": "IDr", "CERT": "CERT", "CERTREQ": "CERTREQ",
    "AUTH": "AUTH", "Ni": "No", "Nr": "No", "No": "No", "D": "D", "V": "V", "TSi": "TSi",
    "TSr": "TSr", "SK": "E", "CP": "CP", "EAP": "EAP", "SKF": "EF",
}

# src/libcharon/encoding/payloads/notify_payload.c: notify_type_short_names, by the IANA
# name the simulator prints (core/ike/constants.py NOTIFY_NAMES)
NOTIFY_SHORT: dict[str, str] = {
    "UNSUPPORTED_CRITICAL_PAYLOAD": "CRIT", "INVALID_IKE_SPI": "INVAL_IKE_SPI",
    "INVALID_MAJOR_VERSION": "INVAL_MAJOR", "INVALID_SYNTAX": "INVAL_SYN",
    "INVALID_MESSAGE_ID": "INVAL_MID", "INVALID_SPI": "INVAL_SPI",
    "NO_PROPOSAL_CHOSEN": "NO_PROP", "INVALID_KE_PAYLOAD": "INVAL_KE",
    "AUTHENTICATION_FAILED": "AUTH_FAILED", "SINGLE_PAIR_REQUIRED": "SINGLE_PAIR",
    "NO_ADDITIONAL_SAS": "NO_ADD_SAS", "INTERNAL_ADDRESS_FAILURE": "INT_ADDR_FAIL",
    "FAILED_CP_REQUIRED": "FAIL_CP_REQ", "TS_UNACCEPTABLE": "TS_UNACCEPT",
    "INVALID_SELECTORS": "INVAL_SEL", "TEMPORARY_FAILURE": "TEMP_FAIL",
    "CHILD_SA_NOT_FOUND": "NO_CHILD_SA", "INITIAL_CONTACT": "INIT_CONTACT",
    "SET_WINDOW_SIZE": "SET_WINSIZE", "ADDITIONAL_TS_POSSIBLE": "ADD_TS_POSS",
    "IPCOMP_SUPPORTED": "IPCOMP_SUP", "NAT_DETECTION_SOURCE_IP": "NATD_S_IP",
    "NAT_DETECTION_DESTINATION_IP": "NATD_D_IP", "COOKIE": "COOKIE",
    "USE_TRANSPORT_MODE": "USE_TRANSP", "HTTP_CERT_LOOKUP_SUPPORTED": "HTTP_CERT_LOOK",
    "REKEY_SA": "REKEY_SA", "ESP_TFC_PADDING_NOT_SUPPORTED": "ESP_TFC_PAD_N",
    "NON_FIRST_FRAGMENTS_ALSO": "NON_FIRST_FRAG", "MOBIKE_SUPPORTED": "MOBIKE_SUP",
    "ADDITIONAL_IP4_ADDRESS": "ADD_4_ADDR", "ADDITIONAL_IP6_ADDRESS": "ADD_6_ADDR",
    "NO_ADDITIONAL_ADDRESSES": "NO_ADD_ADDR", "UPDATE_SA_ADDRESSES": "UPD_SA_ADDR",
    "COOKIE2": "COOKIE2", "NO_NATS_ALLOWED": "NO_NATS", "AUTH_LIFETIME": "AUTH_LFT",
    "MULTIPLE_AUTH_SUPPORTED": "MULT_AUTH", "ANOTHER_AUTH_FOLLOWS": "AUTH_FOLLOWS",
    "REDIRECT_SUPPORTED": "REDIR_SUP", "REDIRECT": "REDIR", "REDIRECTED_FROM": "REDIR_FROM",
    "EAP_ONLY_AUTHENTICATION": "EAP_ONLY", "CHILDLESS_IKEV2_SUPPORTED": "CHDLESS_SUP",
    "IKEV2_MESSAGE_ID_SYNC_SUPPORTED": "MSG_ID_SYN_SUP", "IKEV2_FRAGMENTATION_SUPPORTED": "FRAG_SUP",
    "SIGNATURE_HASH_ALGORITHMS": "HASH_ALG", "USE_PPK": "USE_PPK",
}
NOTIFY_NUMBER = {"INTERMEDIATE_EXCHANGE_SUPPORTED": 16438}
"""Notifies 5.9's table lacks: charon prints the number, ``N((16438))`` (enum.c's ``(%d)``)."""

CHILD_NOTIFIES = frozenset({"NO_PROPOSAL_CHOSEN", "SINGLE_PAIR_REQUIRED", "NO_ADDITIONAL_SAS",
                            "INTERNAL_ADDRESS_FAILURE", "FAILED_CP_REQUIRED", "TS_UNACCEPTABLE",
                            "INVALID_SELECTORS"})
"""Errors child_create.c ``process_i()`` answers with "received %N notify, no CHILD_SA built"."""

DH_NAMES = {"CURVE25519": "CURVE_25519", "CURVE448": "CURVE_448"}
"""key_exchange_method_names where charon's spelling differs from the IANA one we print."""

_FRAGS = re.compile(r"SKF\((\d+) fragments\)")


def payload_tokens(summary: str) -> tuple[list[str], int]:
    """The payloads of a ladder summary (``IKE_AUTH request { IDi, N(INITIAL_CONTACT), ... }``)
    as charon's ``message.c`` ``get_string()`` writes them (``IDi N(INIT_CONTACT) ...``), and
    the number of SKF fragments the message travelled in (0: one datagram)."""
    lo, hi = summary.find("{"), summary.rfind("}")
    inner = summary[lo + 1:hi].strip() if 0 <= lo < hi else ""
    out: list[str] = []
    frags = 0
    for item in (p.strip() for p in inner.split(",")):
        if not item:
            continue
        m = _FRAGS.fullmatch(item)
        if m:
            frags = int(m.group(1))
        elif item.startswith("N(") and item.endswith(")"):
            name = item[2:-1]
            short = NOTIFY_SHORT.get(name)
            if short is None:
                num = NOTIFY_NUMBER.get(name, name)
                short = f"({num})"
            out.append(f"N({short})")
        elif item.startswith("UNKNOWN("):
            out.append("UNKN")
        else:
            out.append(PAYLOAD_SHORT.get(item, item))
    return out, frags


def message_text(exchange: str, response: bool, msg_id: int, tokens: list[str]) -> str:
    """``IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) ]`` (an empty message: ``[ ]``)."""
    body = " ".join(tokens)
    return f"{exchange} {'response' if response else 'request'} {msg_id} [ {body + ' ' if body else ''}]"


def stamp(now: float) -> str:
    """syslog's ``%b %e %H:%M:%S`` for simulated time ``now`` (seconds after :data:`EPOCH`)."""
    t = EPOCH + timedelta(seconds=int(now))
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S}"


def ts_text(ts: object) -> str:
    """One traffic selector as charon's ``%R`` prints it: a subnet, or ``a..b`` for a range."""
    s = str(ts)
    addr, _, rest = s.partition("[")
    if "/" not in addr and "-" in addr:
        addr = addr.replace("-", "..")
    return addr + ("[" + rest if rest else "")


def ts_list(selectors: tuple[object, ...] | list[object]) -> str:
    """``%#R``: the selectors separated by spaces."""
    return " ".join(ts_text(t) for t in selectors)


# --- how a peer proved its identity (psk_authenticator.c, pubkey_authenticator.c) ---------

AUTH_METHOD_TEXT = {1: "RSA signature", 2: "pre-shared key", 3: "DSS signature",
                    9: "ECDSA-256 signature", 10: "ECDSA-384 signature",
                    11: "ECDSA-521 signature", 14: "digital signature"}
"""authenticator.c ``auth_method_names`` (what charon prints for a classic method)."""

_HASH_UPPER = {1: "SHA1", 2: "SHA2_256", 3: "SHA2_384", 4: "SHA2_512"}
"""RFC 7427 hash number -> ``hash_algorithm_short_names_upper``."""


def scheme_text(method: int, key: str = "", hash_id: int = 0, pss: bool = False) -> str:
    """What follows "with" in ``authentication of 'ID' with ... successful``.

    Method 14 (RFC 7427) names the signature scheme (``signature_scheme_names``:
    ``RSA_EMSA_PKCS1_SHA2_256``, ``ECDSA_WITH_SHA384_DER``, ``ED25519``, RSA-PSS as
    ``RSA_EMSA_PSS_SHA2_256_SALT_32``); the classic methods name the method.
    """
    if method != 14:
        return AUTH_METHOD_TEXT.get(method, f"({method})")
    if key == "Ed25519":
        return "ED25519"
    h = _HASH_UPPER.get(hash_id, "SHA2_256")
    if key == "ECDSA":
        return f"ECDSA_WITH_{h.replace('SHA2_', 'SHA')}_DER"
    if pss:
        salt = {"SHA2_256": 32, "SHA2_384": 48, "SHA2_512": 64}.get(h, 32)
        return f"RSA_EMSA_PSS_{h}_SALT_{salt}"
    return f"RSA_EMSA_PKCS1_{h}"


# --- failures (ike_init.c, ike_auth.c, child_create.c, ike_sa.c, task_manager_v2.c) -----------

SAD_FAILED = "unable to install inbound and outbound IPsec SA (SAD) in kernel"
"""child_create.c ``select_and_install()`` when the kernel refuses both SAs."""


def failure_lines(ev: IkeFailure, state: str, remote: str) -> list[tuple[str, str]]:
    """(group, text) lines charon logs for a failed exchange; ``state`` is the IKE_SA's state
    before it (a timeout says what was being done), ``remote`` the peer's address."""
    notify, child, reason = ev.notify, ev.child, ev.reason
    out: list[tuple[str, str]] = []
    if not ev.sent_by_us:
        if notify == "TIMEOUT":
            m = re.search(r"after (\d+) retransmissions", reason)
            if m:
                out.append(("IKE", f"giving up after {m.group(1)} retransmits"))
            if reason.startswith("half-open"):
                out.append(("JOB", f"deleting half open IKE_SA with {remote} after timeout"))
            elif state == "CONNECTING":
                out.append(("IKE", "establishing IKE_SA failed, peer not responding"))
            elif state == "REKEYING":
                out.append(("IKE", "rekeying IKE_SA failed, peer not responding"))
        elif child and notify in CHILD_NOTIFIES:
            out.append(("IKE", f"received {notify} notify, no CHILD_SA built"))
            out.append(("IKE", "failed to establish CHILD_SA, keeping IKE_SA"))
        elif notify == "TEMPORARY_FAILURE":
            out.append(("IKE", f"received {notify} notify, will retry later"))
        elif notify == "INVALID_KE_PAYLOAD":
            groups = [DH_NAMES.get(g, g) for g in re.findall(r"\b((?:MODP|ECP|CURVE)\w*)", reason)]
            if len(groups) >= 2:  # "peer wants a KE for X instead of Y"
                out.append(("IKE", f"peer didn't accept DH group {groups[1]}, it requested {groups[0]}"))
            else:
                out.append(("IKE", f"received {notify} notify error"))
        else:
            out.append(("IKE", f"received {notify} notify error"))
        return out
    if "AH cannot cross a NAT" in reason:  # Linux refuses AH with UDP encapsulation
        return [("IKE", SAD_FAILED), ("IKE", "failed to establish CHILD_SA, keeping IKE_SA")]
    if notify == "NO_PROPOSAL_CHOSEN":
        m = re.match(r"no connection accepts (\S+) -> (\S+)$", reason)
        out.append(("IKE", f"no IKE config found for {m.group(2)}...{m.group(1)}, sending "
                           "NO_PROPOSAL_CHOSEN" if m else "no acceptable proposal found"))
    elif notify == "AUTHENTICATION_FAILED":
        m = re.search(r"pre-shared key configured for (\S+)/(\S+)$", reason)
        if m:
            out.append(("IKE", f"tried 1 shared key for '{m.group(1)}' - '{m.group(2)}', "
                               "but MAC mismatched"))
    if child and notify in CHILD_NOTIFIES:
        out.append(("IKE", "failed to establish CHILD_SA, keeping IKE_SA"))
    return out


def drop_lines(reason: str, detail: str) -> list[tuple[str, str]]:
    """(group, text) lines for a datagram the node dropped, where charon logs one."""
    if reason == "retransmitted_request":
        m = re.match(r"message ID (\d+): resending", detail)
        mid = m.group(1) if m else ("0" if detail.startswith("IKE_SA_INIT: resending") else None)
        if mid is not None:
            return [("IKE", f"received retransmit of request with ID {mid}, retransmitting response")]
    elif reason == "integrity":
        return [("ENC", "could not decrypt payloads"), ("IKE", "integrity check failed")]
    return []
