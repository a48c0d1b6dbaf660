"""strongswan.conf: the ``charon.*`` options the simulator models, warnings for the rest.

strongswan.conf(5) uses the same syntax as swanctl.conf (:mod:`~ipsecsim.swanctl.parser`).
The daemon reads the section named after it: ``charon``, or ``charon-systemd``,
which falls back to ``charon`` (charon-systemd's ``add_fallback``), so options given
under ``charon-systemd`` win. Modelled, by the IkeConfig key they become:

=============================  =================================  ==============
strongswan.conf                IkeConfig                          applies to
=============================  =================================  ==============
``charon.cookie_threshold``    ``cookie_threshold``               the endpoint
``charon.keep_alive``          ``nat_keepalive``                  the endpoint
``charon.fragment_size``       ``fragment_size``                  the endpoint
``charon.fragment_size_v4``    ``fragment_size`` (IKE over IPv4)  the endpoint
``charon.retransmit_timeout``  ``retransmit_timeout``             every connection
``charon.retransmit_base``     ``retransmit_base``                every connection
``charon.retransmit_tries``    ``retransmit_tries``               every connection
``charon.retransmit_jitter``   ``retransmit_jitter``              every connection
``charon.retransmit_limit``    ``retransmit_limit``               every connection
``charon.make_before_break``   ``make_before_break``              every connection
``charon.replay_window``       ``replay_window``                  every CHILD_SA
=============================  =================================  ==============

Every other option is a warning naming it; an option strongSwan does not know
either gets a did-you-mean (strongSwan itself ignores unknown options in silence).
"""

from __future__ import annotations

import difflib
from typing import Any

from ..core.errors import ConfigError
from .keys import normal
from .parser import Section, Setting

DAEMONS = ("charon", "charon-systemd")
"""Sections whose options apply to the simulated daemon (later ones win)."""

TOP = {"cookie_threshold": "cookie_threshold", "keep_alive": "nat_keepalive",
       "block_threshold": "block_threshold", "init_limit_half_open": "init_limit_half_open",
       "fragment_size": "fragment_size", "fragment_size_v4": "fragment_size"}
"""``charon.*`` options that set IkeConfig's top level."""
PER_CONNECTION = ("retransmit_timeout", "retransmit_base", "retransmit_tries", "retransmit_jitter",
                  "retransmit_limit", "make_before_break")
"""``charon.*`` options IkeConfig takes per connection."""
PER_CHILD = ("replay_window",)
"""``charon.*`` options IkeConfig takes per CHILD_SA."""

KNOWN = (
    "accept_private_algs", "accept_unencrypted_mainmode_messages",
    "cache_crls", "cert_cache", "check_current_path", "cisco_flexvpn", "cisco_unity",
    "close_ike_on_child_failure", "cookie_threshold", "cookie_threshold_ip", "delete_rekeyed",
    "delete_rekeyed_delay", "dh_exponent_ansi_x9_42", "dlopen_use_rtld_now", "dns1", "dns2",
    "dos_protection", "flush_auth_cfg", "follow_redirects", "force_eap_only_authentication",
    "fragment_size", "fragment_size_v4", "fragment_size_v6", "group", "half_open_timeout",
    "hash_and_url", "i_dont_care_about_security_and_use_aggressive_mode_psk",
    "ignore_acquire_ts", "ignore_routing_tables", "ikesa_limit", "ikesa_table_segments",
    "ikesa_table_size", "inactivity_close_ike", "init_limit_job_load",
    "initiator_only", "install_routes", "install_virtual_ip", "install_virtual_ip_on",
    "integrity_test", "interfaces_ignore", "interfaces_use", "keep_alive",
    "keep_alive_dpd_margin", "load", "load_modular", "make_before_break", "max_ikev1_exchanges",
    "max_packet", "multiple_authentication", "nbns1", "nbns2", "port", "port_nat_t",
    "prefer_best_path", "prefer_configured_proposals", "prefer_temporary_addrs",
    "process_route", "rdn_matching", "receive_delay", "receive_delay_request",
    "receive_delay_response", "receive_delay_type", "replay_window", "retransmit_base",
    "retransmit_jitter", "retransmit_limit", "retransmit_timeout", "retransmit_tries",
    "retry_initiate_interval", "reuse_ikesa", "routing_table", "routing_table_prio", "rsa_pss",
    "rsa_pss_trailerfield", "send_delay", "send_delay_request", "send_delay_response",
    "send_delay_type", "send_vendor_id", "signature_authentication",
    "signature_authentication_constraints", "spi_label", "spi_mask", "spi_max", "spi_min",
    "start-scripts", "stop-scripts", "threads", "user",
)
"""``charon.<key>`` options of strongswan.conf(5) (5.9.8), sections aside."""

SECTIONS = {
    "plugins": "plugin settings are not modelled",
    "filelog": "the simulator writes its own log (DIR/logs/NODE.log)",
    "syslog": "the simulator writes its own log (DIR/logs/NODE.log)",
    "crypto_test": "crypto self tests are not modelled",
    "host_resolver": "names resolve through the topology's hosts:",
    "leak_detective": "not a simulator concern",
    "processor": "the job processor is not modelled",
    "tls": "TLS (EAP-TLS) is not modelled",
    "x509": "X.509 enforcement options are not modelled",
    "imcv": "TNC is not modelled", "tnc": "TNC is not modelled",
    "start-scripts": "scripts are not run", "stop-scripts": "scripts are not run",
}
"""``charon.<section>``: one warning per section, with why."""

_WHY = {
    "dns1": "DNS attributes are not modelled", "dns2": "DNS attributes are not modelled",
    "nbns1": "WINS attributes are not modelled", "nbns2": "WINS attributes are not modelled",
    "fragment_size_v6": "IKE runs over IPv4 in the simulator",
    "load": "the simulator has every algorithm it models built in",
    "load_modular": "the simulator has every algorithm it models built in",
}


def _hint(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=2)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _number(s: Setting, path: str, kind: type) -> Any:
    v = s.value.strip()
    try:
        return kind(v)
    except ValueError:
        raise ConfigError(f"{s.where}: {path}: expected a number, got {s.value!r}") from None


def _value(key: str, s: Setting, path: str) -> Any:
    if key in ("cookie_threshold", "block_threshold", "init_limit_half_open", "retransmit_tries",
               "replay_window",
               "fragment_size", "fragment_size_v4"):
        return _number(s, path, int)
    if key == "retransmit_timeout":
        return _number(s, path, float)
    if key in ("retransmit_base", "retransmit_limit"):
        return _number(s, path, float)
    if key == "retransmit_jitter":
        return _number(s, path, int)
    if key == "make_before_break":
        n = normal(s.value)
        if n not in ("yes", "no", "0"):
            raise ConfigError(f"{s.where}: {path}: expected yes or no, got {s.value!r}")
        return n == "yes"
    return s.value.strip()  # keep_alive: a time (20s), read by IkeConfig


def charon_options(tree: Section) -> tuple[dict[str, Any], list[str]]:
    """The modelled options of a parsed strongswan.conf, by IkeConfig key, and warnings.

    Returns e.g. ``{"retransmit_tries": 3, "nat_keepalive": "20s"}``; hand them to
    :func:`apply_charon_options`.
    """
    out: dict[str, Any] = {}
    warnings: list[str] = []
    v4_size: Setting | None = None
    for key, s in tree.settings.items():
        warnings.append(f"{s.where}: {key}: not modelled by the simulator (ignored): only "
                        "charon.* options apply")
    for name, other in tree.sections.items():
        if name not in DAEMONS:
            warnings.append(f"{other.where}: {name}: not modelled by the simulator (ignored): "
                            "only charon.* options apply")
    for daemon in DAEMONS:
        sec = tree.sections.get(daemon)
        if sec is None:
            continue
        for key, s in sec.settings.items():
            path = f"{daemon}.{key}"
            if key in TOP or key in PER_CONNECTION or key in PER_CHILD:
                if s.value == "":
                    continue
                value = _value(key, s, path)
                if key in ("fragment_size", "fragment_size_v4") and value == 0:
                    warnings.append(f"{s.where}: {path}: not modelled by the simulator (ignored): "
                                    "0 (per address family defaults); 1280 applies")
                    continue
                if key == "fragment_size_v4":
                    v4_size = s
                elif key == "fragment_size" and v4_size is not None:
                    continue  # fragment_size_v4 is more specific
                out[TOP.get(key, key)] = value
            elif key in KNOWN:
                why = _WHY.get(key, "not a simulator setting")
                warnings.append(f"{s.where}: {path}: not modelled by the simulator (ignored): {why}")
            else:
                warnings.append(f"{s.where}: {path}: unknown strongswan.conf option"
                                f"{_hint(key, KNOWN)} (ignored)")
        for name, sub in sec.sections.items():
            path = f"{daemon}.{name}"
            reason = SECTIONS.get(name)
            if reason is None:
                warnings.append(f"{sub.where}: {path}: unknown strongswan.conf section"
                                f"{_hint(name, list(SECTIONS))} (ignored)")
            else:
                warnings.append(f"{sub.where}: {path}: not modelled by the simulator (ignored): "
                                f"{reason}")
    return out, warnings


def apply_charon_options(config: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """A copy of a swanctl-shaped dict with strongswan.conf's options in it: top-level
    ones at the top, per-connection and per-CHILD_SA ones in every connection and child
    that does not set them itself."""
    out = dict(config)
    for key in set(TOP.values()):
        if key in options:
            out[key] = options[key]
    conns = {}
    for name, conn in (config.get("connections") or {}).items():
        c = dict(conn)
        for key in PER_CONNECTION:
            if key in options and key not in c:
                c[key] = options[key]
        children = {}
        for cname, child in (c.get("children") or {}).items():
            ch = dict(child or {})
            for key in PER_CHILD:
                if key in options and key not in ch:
                    ch[key] = options[key]
            children[cname] = ch
        if children:
            c["children"] = children
        conns[name] = c
    if conns:
        out["connections"] = conns
    return out
