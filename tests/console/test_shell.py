"""The console's shell: splitting a line, the trailing noise it ignores, unknown commands, and
that nothing typed ends a run with a traceback."""

from __future__ import annotations

import pytest

from ipsecsim.console import shell
from ipsecsim.console.shell import ShellSyntaxError, parse, split

from .topos import up


def test_split_is_shell_like() -> None:
    assert split("swanctl --list-sas") == ["swanctl", "--list-sas"]
    assert split("echo 'a b' \"c \\\"d\\\"\" e\\ f # comment") == ["echo", "a b", 'c "d"', "e f"]
    assert split("x 2>/dev/null|cat") == ["x", ("2>",), "/dev/null", ("|",), "cat"]
    assert split("x >/dev/null 2>&1; true") == ["x", (">",), "/dev/null", ("2>&1",), (";",), "true"]
    with pytest.raises(ShellSyntaxError):
        split("echo 'unterminated")


@pytest.mark.parametrize("line, argv, stdout, stderr, filters", [
    ("swanctl --list-sas 2> /dev/null", ["swanctl", "--list-sas"], True, False, []),
    ("ip xfrm state 2>/dev/null | cat", ["ip", "xfrm", "state"], True, False, [["cat"]]),
    ("ip xfrm policy | grep -v fwd", ["ip", "xfrm", "policy"], True, True, [["grep", "-v", "fwd"]]),
    ("ping -c 1 10.2.0.10 ; true", ["ping", "-c", "1", "10.2.0.10"], True, True, []),
    ("ping -c 1 10.2.0.10 || true", ["ping", "-c", "1", "10.2.0.10"], True, True, []),
    ("swanctl --rekey --ike x > /dev/null 2>&1", ["swanctl", "--rekey", "--ike", "x"], False, False, []),
])
def test_trailing_noise(line: str, argv: list[str], stdout: bool, stderr: bool,
                        filters: list[list[str]]) -> None:
    p = parse(line)
    assert (p.argv, p.stdout, p.stderr, p.filters) == (argv, stdout, stderr, filters)


@pytest.mark.parametrize("line", ["a && b", "a | sort", "a > /tmp/x", "a |", "a ;b"])
def test_unsupported_syntax_is_refused(line: str) -> None:
    with pytest.raises(ShellSyntaxError):
        parse(line)


def test_unknown_command_prints_command_not_found_and_the_run_goes_on() -> None:
    sim = up(1.0)
    assert sim.node("gw-a").sh("nmap -sS 10.2.0.10") == "nmap: command not found\n"
    assert sim.node("host-a").sh("/usr/bin/frobnicate") == "/usr/bin/frobnicate: command not found\n"
    assert sim.node("gw-a").sh("") == ""
    assert sim.node("gw-a").sh("a && b") == "sh: 1: '&&' with another command is not supported\n"
    sim.run(3)  # nothing above stopped or broke the simulation
    assert sim.now == 3


def test_redirections_and_pipes_apply_to_the_right_stream() -> None:
    sim = up(1.0)
    gw = sim.node("gw-a")
    err = "rekey failed: no matching SAs to rekey found\n"
    assert gw.sh("swanctl --rekey --child nope") == err
    assert gw.sh("swanctl --rekey --child nope 2> /dev/null") == ""
    assert gw.sh("swanctl --rekey --child nope > /dev/null") == err
    assert gw.sh("swanctl --rekey --child nope > /dev/null 2>&1") == ""
    pol = gw.sh("ip xfrm policy")
    assert gw.sh("ip xfrm policy | cat") == pol
    assert gw.sh("ip xfrm policy | grep 'dir '") == "".join(
        ln + "\n" for ln in pol.splitlines() if "dir " in ln)
    assert gw.sh("ip xfrm policy | grep -v -E 'tmpl|proto'").count("\n") == 6
    assert gw.sh("cat /etc/motd") == "cat: /etc/motd: No such file or directory\n"


def test_a_command_bug_is_one_line_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = up(1.0)
    shell.run_command(shell.Ctx(sim.node("gw-a"), sim.console, 1.0), ["true"])  # loads the table

    def broken(ctx: shell.Ctx, argv: list[str]) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(shell._COMMANDS, "swanctl", broken)
    out = sim.node("gw-a").sh("swanctl --list-sas")
    assert out == "ipsecsim console: swanctl failed: ZeroDivisionError('boom')\n"
    sim.run(2)


def test_cat_daemon_log_prints_the_gateways_charon_log() -> None:
    sim = up(1.0)
    gw = sim.node("gw-a")

    class Log:
        def text(self) -> str:
            return "Jan  1 00:00:00 gw-a charon: 09[IKE] initiating IKE_SA office-link[1]\n"

    assert gw.sh("cat /var/log/daemon.log") == ("" if getattr(gw, "charon_log", None) is None
                                                else gw.charon_log.text())
    gw.charon_log = Log()  # type: ignore[attr-defined]
    assert gw.sh("cat /var/log/daemon.log") == Log().text()
    assert sim.node("host-a").sh("cat /var/log/daemon.log") == \
        "cat: /var/log/daemon.log: No such file or directory\n"


def test_sh_records_the_transcript_with_the_start_time() -> None:
    sim = up(1.0)
    sim.node("host-a").sh("ping -c 2 10.2.0.10")
    sim.node("gw-a").sh("swanctl --list-pools")
    text = sim.console.transcript("host-a")
    assert text.startswith("[1.000] host-a# ping -c 2 10.2.0.10\nPING 10.2.0.10 (10.2.0.10) ")
    assert sim.console.transcript("gw-a").startswith("[2.0")  # typed after the ping's run
