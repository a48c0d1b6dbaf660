"""swanctl 5.9.8's commands and options, as ``command.c`` registers and prints them.

The table drives option parsing (long and short spellings, which take an argument) and the
usage text printed on a bad option -- copied from ``swanctl --COMMAND --help`` on strongSwan
5.9.8 (Debian 12), so an error reads as the real one.
"""

from __future__ import annotations

from dataclasses import dataclass

VERSION = "5.9.8"

PLUGINS = ("aesni aes rc2 sha2 sha1 md5 mgf1 random nonce x509 revocation constraints pubkey "
           "pkcs1 pkcs7 pkcs12 pgp dnskey sshkey pem openssl pkcs8 fips-prf gmp agent xcbc "
           "hmac kdf gcm drbg")
"""``loaded plugins:`` of swanctl on the reference machine (shown by ``swanctl --help``)."""


@dataclass(frozen=True)
class Option:
    name: str
    op: str
    arg: bool
    desc: str


@dataclass(frozen=True)
class Command:
    cmd: str
    op: str
    desc: str
    lines: tuple[str, ...]
    options: tuple[Option, ...]


_DEFAULTS = (Option("debug", "v", True, "set debug level, default: 1"),
             Option("options", "+", True, "read command line options from file"),
             Option("uri", "u", True, "service URI to connect to"))
_H = Option("help", "h", False, "show usage information")
_RAW = (Option("raw", "r", False, "dump raw response message"),
        Option("pretty", "P", False, "dump raw response message in pretty print"))


def _c(cmd: str, op: str, desc: str, lines: tuple[str, ...], *opts: Option) -> Command:
    return Command(cmd, op, desc, lines, (_H, *opts, *_DEFAULTS))


COMMANDS: tuple[Command, ...] = (
    _c("counters", "C", "list or reset IKE event counters", ()),
    _c("initiate", "i", "initiate a connection",
       ("[--child <name>] [--ike <name>] [--timeout <s>] [--raw|--pretty]",),
       Option("child", "c", True, "initiate a CHILD_SA configuration"),
       Option("ike", "i", True, "initiate an IKE_SA, or name of child's parent"),
       Option("timeout", "t", True, "timeout in seconds before detaching"), *_RAW,
       Option("loglevel", "l", True, "verbosity of redirected log")),
    _c("terminate", "t", "terminate a connection",
       ("--child <name> | --ike <name> | --child-id <id> | --ike-id <id>",
        "[--timeout <s>] [--raw|--pretty]"),
       Option("child", "c", True, "terminate by CHILD_SA name"),
       Option("ike", "i", True, "terminate by IKE_SA name"),
       Option("child-id", "C", True, "terminate by CHILD_SA unique identifier"),
       Option("ike-id", "I", True, "terminate by IKE_SA unique identifier"),
       Option("force", "f", False, "terminate IKE_SA without waiting, unless timeout is set"),
       Option("timeout", "t", True, "timeout in seconds before detaching"), *_RAW,
       Option("loglevel", "l", True, "verbosity of redirected log")),
    _c("rekey", "R", "rekey an SA",
       ("--child <name> | --ike <name> | --child-id <id> | --ike-id <id>",
        "[--reauth] [--raw|--pretty]"),
       Option("child", "c", True, "rekey by CHILD_SA name"),
       Option("ike", "i", True, "rekey by IKE_SA name"),
       Option("child-id", "C", True, "rekey by CHILD_SA unique identifier"),
       Option("ike-id", "I", True, "rekey by IKE_SA unique identifier"),
       Option("reauth", "a", False, "reauthenticate instead of rekey an IKEv2 SA"), *_RAW),
    _c("redirect", "d", "redirect an IKE_SA", ()),
    _c("uninstall", "u", "uninstall a trap or shunt policy", ()),
    _c("install", "p", "install a trap or shunt policy", ()),
    _c("list-sas", "l", "list currently active IKE_SAs",
       ("[--ike <name>|--ike-id <id>] [--child <name>|--child-id <id>]", "[--raw|--pretty]"),
       Option("ike", "i", True, "filter IKE_SAs by name"),
       Option("ike-id", "I", True, "filter IKE_SAs by unique identifier"),
       Option("child", "c", True, "filter CHILD_SAs by name"),
       Option("child-id", "C", True, "filter CHILD_SAs by unique identifier"),
       Option("noblock", "n", False, "don't wait for IKE_SAs in use"), *_RAW),
    _c("monitor-sa", "m", "monitor for IKE_SA and CHILD_SA changes", ()),
    _c("list-pols", "P", "list currently installed policies", ()),
    _c("list-authorities", "B", "list loaded authority configurations", ()),
    _c("list-conns", "L", "list loaded configurations", ("[--raw|--pretty]",), *_RAW),
    _c("list-certs", "x", "list stored certificates",
       ("[--subject <dn/san>] [--pem]",
        "[--type x509|x509_ac|x509_crl|ocsp_response|pubkey]",
        "[--flag none|ca|aa|ocsp|any] [--raw|--pretty|--short|--utc]"),
       Option("subject", "s", True, "filter by certificate subject"),
       Option("type", "t", True, "filter by certificate type"),
       Option("flag", "f", True, "filter by X.509 certificate flag"),
       Option("pem", "p", False, "print PEM encoding of certificate"), *_RAW,
       Option("short", "S", False, "omit some certificate details"),
       Option("utc", "U", False, "use UTC for time fields")),
    _c("list-pools", "A", "list loaded pool configurations",
       ("[--leases] [--raw|--pretty]",), *_RAW,
       Option("leases", "l", False, "list leases of each pool"),
       Option("name", "n", True, "filter pools by name")),
    _c("list-algs", "g", "show loaded algorithms", ()),
    _c("flush-certs", "f", "flush cached certificates", ()),
    _c("load-all", "q", "load credentials, authorities, pools and connections",
       ("[--raw|--pretty] [--clear] [--noprompt]",),
       Option("clear", "c", False, "clear previously loaded credentials"),
       Option("noprompt", "n", False, "do not prompt for passwords"), *_RAW,
       Option("file", "f", True, "custom path to swanctl.conf")),
    _c("load-authorities", "b", "(re-)load authority configuration", ()),
    _c("load-conns", "c", "(re-)load connection configuration", ()),
    _c("load-creds", "s", "(re-)load credentials", ()),
    _c("load-pools", "a", "(re-)load pool configuration", ()),
    _c("log", "T", "trace logging output", ()),
    _c("version", "v", "show version information", ("[--raw|--pretty]",),
       Option("daemon", "d", False, "query daemon version"), *_RAW),
    _c("stats", "S", "show daemon stats information", ()),
    _c("reload-settings", "r", "reload daemon strongswan.conf", ()),
    Command("help", "h", "show usage information", (), ()),
)

BY_NAME = {c.cmd: c for c in COMMANDS}
BY_OP = {c.op: c for c in COMMANDS}


def usage(cmd: Command | None, error: str | None = None) -> str:
    """``command_usage()``: the error line (if any), the version, the usage of ``cmd`` (None:
    the list of commands, after the loaded plugins)."""
    out = [f"Error: {error}\n"] if error else []
    out.append(f"strongSwan {VERSION} swanctl\n")
    if cmd is None:
        out.append(f"loaded plugins: {PLUGINS}\n")
    out.append("usage:\n")
    if cmd is None:
        out += [f"  swanctl --{c.cmd:<16} (-{c.op})  {c.desc}\n" for c in COMMANDS]
    else:
        for i, line in enumerate(cmd.lines):
            out.append(f"  swanctl --{cmd.cmd} {line}\n" if i == 0 else f"                 {line}\n")
        out += [f"           --{o.name:<15} (-{o.op})  {o.desc}\n" for o in cmd.options]
    return "".join(out)


class BadOption(Exception):
    """getopt refused an argument; ``message`` is what getopt printed."""


def getopt(args: list[str], options: tuple[Option, ...]) -> list[tuple[str, str | None]]:
    """``getopt_long`` over ``args``: (short op, argument) per option, in order; non-options
    are skipped (GNU getopt permutes them to the end and swanctl ignores them)."""
    out: list[tuple[str, str | None]] = []
    by_op = {o.op: o for o in options}
    k = 0
    while k < len(args):
        a = args[k]
        k += 1
        if a == "--":
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            exact = [o for o in options if o.name == name]
            found = exact or [o for o in options if o.name.startswith(name)]
            if len(found) != 1 or not name:
                what = "is ambiguous" if len(found) > 1 else None
                raise BadOption(f"swanctl: option '{a}' {what}\n" if what
                                else f"swanctl: unrecognized option '{a}'\n")
            o = found[0]
            if o.arg and not eq:
                if k >= len(args):
                    raise BadOption(f"swanctl: option '--{o.name}' requires an argument\n")
                val, k = args[k], k + 1
            elif not o.arg and eq:
                raise BadOption(f"swanctl: option '--{o.name}' doesn't allow an argument\n")
            out.append((o.op, val if o.arg else None))
        elif a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                op = a[j]
                short = by_op.get(op)
                if short is None:
                    raise BadOption(f"swanctl: invalid option -- '{op}'\n")
                if short.arg:
                    rest = a[j + 1:]
                    if not rest:
                        if k >= len(args):
                            raise BadOption(f"swanctl: option requires an argument -- '{op}'\n")
                        rest, k = args[k], k + 1
                    out.append((op, rest))
                    break
                out.append((op, None))
                j += 1
    return out
