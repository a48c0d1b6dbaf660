"""strongswan.conf and swanctl.conf text for one private charon.

:func:`swanctl_conf` turns the swanctl-shaped dict ipsecsim reads from YAML
(``connections`` / ``secrets``, INTERFACES.md) into swanctl.conf syntax, so a test
writes one dict and gives it to both implementations. Keys swanctl does not know
(``listen``, ``inner_addrs``) are left out.
"""

from __future__ import annotations

from typing import Any

# keys of ipsecsim's peer config that are not swanctl.conf settings
NOT_SWANCTL = {"listen", "inner_addrs", "seed", "retransmit", "log"}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    s = str(v)
    if any(c in s for c in ' \t"{}#,=') or s == "":
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return s


def _block(d: dict[str, Any], indent: int) -> list[str]:
    pad = "    " * indent
    out: list[str] = []
    for k, v in d.items():
        if isinstance(v, dict):
            out.append(f"{pad}{k} {{")
            out += _block(v, indent + 1)
            out.append(f"{pad}}}")
        else:
            out.append(f"{pad}{k} = {_value(v)}")
    return out


def swanctl_conf(config: dict[str, Any]) -> str:
    """swanctl.conf text for the ``connections`` and ``secrets`` of ``config``."""
    tree = {k: v for k, v in config.items() if k not in NOT_SWANCTL}
    return "\n".join(_block(tree, 0)) + "\n"


def strongswan_conf(workdir: str, log_path: str, vici_uri: str, extra: str = "",
                    settings: dict[str, Any] | None = None) -> str:
    """A strongswan.conf for one charon: userland ESP, private vici socket, verbose file log.

    ``ike = 4`` and ``chd = 4`` make charon print SK_* and the ESP keys (see
    :mod:`interop.logs`). ``retransmit_*`` keep a failing test short. ``settings`` are
    more ``charon.*`` options (e.g. ``{"keep_alive": "1s"}``); ``extra`` goes under plugins.
    """
    more = "\n".join(_block(settings or {}, 1))
    return f"""# written by tests/interop for one private charon in {workdir}
charon {{
    load_modular = yes
    install_virtual_ip = no
    retransmit_tries = 3
    retransmit_timeout = 2.0
    retransmit_base = 1.4
{more}
    filelog {{
        charon {{
            path = {log_path}
            time_format = %H:%M:%S
            flush_line = yes
            default = 1
            ike = 4
            chd = 4
            cfg = 2
            knl = 2
            net = 1
            enc = 1
        }}
    }}
    syslog {{
        daemon {{
            default = -1
        }}
        auth {{
            default = -1
        }}
    }}
    plugins {{
        include /etc/strongswan.d/charon/*.conf
        kernel-libipsec {{
            load = yes
        }}
        vici {{
            socket = {vici_uri}
        }}
        {extra}
    }}
}}
"""


def site_config(
    local_addr: str,
    remote_addr: str,
    local_inner: list[str],
    remote_inner: list[str],
    local_id: str,
    remote_id: str,
    proposals: list[str] | None = None,
    esp_proposals: list[str] | None = None,
    start_action: str | None = None,
    psk: str = "a long pre-shared key for interop",
    conn: str = "interop",
    child: str = "net",
    child_extra: dict[str, Any] | None = None,
    conn_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The swanctl-shaped dict of one side of a host-to-host tunnel between inner addresses."""
    c: dict[str, Any] = {
        "local_addrs": [local_addr],
        "remote_addrs": [remote_addr],
        "version": 2,
        "proposals": proposals or ["default"],
        "local": {"auth": "psk", "id": local_id},
        "remote": {"auth": "psk", "id": remote_id},
        "children": {
            child: {
                "mode": "tunnel",
                "local_ts": [f"{a}/32" for a in local_inner],
                "remote_ts": [f"{a}/32" for a in remote_inner],
                "esp_proposals": esp_proposals or ["default"],
                **({"start_action": start_action} if start_action else {}),
                **(child_extra or {}),
            }
        },
        **(conn_extra or {}),
    }
    return {
        "connections": {conn: c},
        "secrets": {"ike-1": {"id-1": local_id, "id-2": remote_id, "secret": psk}},
    }
