"""A command line typed on a simulated node, split like a shell and answered like the real tool.

Two ways in, one behaviour:

* a topology's ``script:`` (INTERFACES.md): each ``{at, node, run}`` is typed at simulated time
  ``at``; the whole transcript goes to ``DIR/console/NODE.txt`` under a header
  ``[12.000] moon# CMD`` with the command's start time;
* Python: ``sim.node("moon").sh("swanctl --list-sas")`` types the line *now* and returns what it
  printed. A command that takes simulated time (``ping``, ``swanctl --initiate`` and
  ``--terminate``) runs the simulation forward until it completes -- the last reply or timeout,
  the CHILD_SA up or refused -- so ``sim.now`` has moved when ``sh`` returns.

What a command prints is what the real tool prints (standard output and standard error
interleaved, as a terminal shows them). Shell syntax around it is understood as far as a
transcript needs: quotes, ``2> /dev/null`` / ``> /dev/null`` / ``2>&1``, ``| cat``,
``| grep [-v] [-i] [-E] PATTERN``, and trailing ``; true``, ``|| true``, ``&& true``. An unknown
command prints ``COMMAND: command not found`` and the run goes on; nothing a line contains ends
the run with a traceback (a command's own bug is reported as one line naming it).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from simpy.events import Timeout

if TYPE_CHECKING:
    from ..sim.nodes import Node
    from ..sim.runner import Simulation

__all__ = ["Console", "Ctx", "Entry", "Job", "Output", "split"]

STDOUT = 1
STDERR = 2

POLL = 0.005
"""Seconds of simulated time between two looks of a job that waits for the IKE engine
(``swanctl --initiate`` / ``--terminate``)."""

SH_LIMIT = 3600.0
"""How long (simulated seconds) :meth:`Console.sh` runs the simulation forward at most for one
command that has no end of its own."""


class Output:
    """What a command printed so far: ``(stream, text)`` chunks in the order written."""

    def __init__(self) -> None:
        self.chunks: list[tuple[int, str]] = []

    def out(self, text: str) -> None:
        if text:
            self.chunks.append((STDOUT, text))

    def err(self, text: str) -> None:
        if text:
            self.chunks.append((STDERR, text))


class Job:
    """A command still running in simulated time; it writes into its :class:`Output` and sets
    :attr:`done` when it has finished (after which nothing more is written)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.out = ctx.out
        self.done = False
        self.deadline = ctx.now + SH_LIMIT
        """When :meth:`Console.sh` stops running the simulation for this job (events at that
        very time do not run, as at the end of :meth:`Simulation.run`)."""

    def finish(self) -> None:
        self.done = True

    def interrupted(self, now: float) -> str:
        """Text the command would add if it were interrupted now (the run ended first); the
        job itself is not changed."""
        return ""

    def stop(self, now: float) -> None:
        """Interrupt the command (:meth:`Console.sh` gave up waiting): what it prints then."""
        if not self.done:
            self.out.out(self.interrupted(now))
            self.finish()

    def poll_every(self, interval: float, check: Callable[[float], bool]) -> None:
        """Call ``check(now)`` every ``interval`` simulated seconds until it returns True."""
        env = self.ctx.env

        def tick(_ev: Any) -> None:
            if self.done:
                return
            try:
                stop = check(float(env.now))
            except Exception as exc:  # noqa: BLE001 - a console bug ends the command, not the run
                self.out.err(f"ipsecsim console: {exc!r}\n")
                stop = True
            if stop:
                self.finish()
            else:
                Timeout(env, interval).callbacks.append(tick)

        Timeout(env, interval).callbacks.append(tick)


@dataclass
class Ctx:
    """What a command sees: the node it was typed on, the console, the time, its output."""

    node: Node
    console: Console
    now: float
    out: Output = field(default_factory=Output)

    @property
    def env(self) -> Any:
        return self.node.net.env


Command = Callable[[Ctx, list[str]], "Job | None"]
"""A command: reads its argv (``argv[0]`` is its name), writes into ``ctx.out``, and returns a
:class:`Job` when it goes on in simulated time."""


# --- the line -------------------------------------------------------------------------------
_OPS = ("||", "&&", ">>", ";", "|", "&", ">", "<")


class ShellSyntaxError(ValueError):
    pass


def split(line: str) -> list[str | tuple[str]]:
    """Words and operators of a command line: a word is a ``str`` (quotes and backslashes
    removed, as ``sh`` does), an operator a 1-tuple such as ``("|",)`` or ``("2>",)``."""
    out: list[str | tuple[str]] = []
    i, n = 0, len(line)
    word: list[str] | None = None
    while i < n:
        c = line[i]
        if c in " \t\n":
            if word is not None:
                out.append("".join(word))
                word = None
            i += 1
            continue
        if c == "#" and word is None:
            break
        op = next((o for o in _OPS if line.startswith(o, i)), None)
        if op is not None:
            fd = ""
            if op[0] in "<>" and word is not None and "".join(word).isdigit():
                fd = "".join(word)  # 2> and 2>>: a file descriptor glued to the operator
            elif word is not None:
                out.append("".join(word))
            word = None
            i += len(op)
            op = fd + op
            if op.endswith(">") and i < n and line[i] == "&":  # >&1, 2>&1
                j = i + 1
                while j < n and line[j].isdigit():
                    j += 1
                out.append((op + line[i:j],))
                i = j
            else:
                out.append((op,))
            continue
        word = word if word is not None else []
        if c == "\\":
            if i + 1 < n:
                word.append(line[i + 1])
            i += 2
        elif c == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise ShellSyntaxError("unterminated quoted string")
            word.append(line[i + 1:end])
            i = end + 1
        elif c == '"':
            j = i + 1
            while j < n and line[j] != '"':
                if line[j] == "\\" and j + 1 < n and line[j + 1] in '"\\$`':
                    j += 1
                word.append(line[j])
                j += 1
            if j >= n:
                raise ShellSyntaxError("unterminated quoted string")
            i = j + 1
        else:
            word.append(c)
            i += 1
    if word is not None:
        out.append("".join(word))
    return out


@dataclass
class Pipeline:
    """A parsed command line: the command's argv and what the shell does with its output."""

    argv: list[str]
    stdout: bool = True
    """False: ``> /dev/null``."""
    stderr: bool = True
    """False: ``2> /dev/null``."""
    filters: list[list[str]] = field(default_factory=list)
    """``| cat`` / ``| grep ...`` stages, applied to standard output."""


_TRUE = {"true", ":"}


def parse(line: str) -> Pipeline:
    """Split ``line`` into the command and the trailing shell noise this console honours;
    raises :class:`ShellSyntaxError` for what it does not."""
    tokens = split(line)
    pipe = Pipeline([])
    stages: list[list[str]] = [[]]
    k = 0
    while k < len(tokens):
        t = tokens[k]
        if isinstance(t, str):
            stages[-1].append(t)
            k += 1
            continue
        op = t[0]
        if op in (";", "&&", "||", "&"):
            rest = [x for x in tokens[k + 1:] if isinstance(x, str)]
            if all(isinstance(x, str) for x in tokens[k + 1:]) and (not rest or rest[0] in _TRUE):
                break  # `; true`, `|| true`: nothing more to run
            raise ShellSyntaxError(f"'{op}' with another command is not supported")
        if op == "|":
            stages.append([])
            k += 1
            continue
        if op in ("2>&1", ">&2", "1>&2"):
            if op == "2>&1":
                pipe.stderr = pipe.stdout  # after `> /dev/null` both go there
            k += 1
            continue
        if re.fullmatch(r"\d*(>>?|<)", op):
            target = tokens[k + 1] if k + 1 < len(tokens) else None
            if not isinstance(target, str):
                raise ShellSyntaxError(f"syntax error near unexpected token `{op}'")
            if op == "<":
                pass
            elif target != "/dev/null" or op[0] not in "12>":
                raise ShellSyntaxError(f"redirection to {target} is not supported")
            elif op[0] == "2":
                pipe.stderr = False
            else:
                pipe.stdout = False
            k += 2
            continue
        raise ShellSyntaxError(f"syntax error near unexpected token `{op}'")
    pipe.argv = stages[0]
    for st in stages[1:]:
        if not st:
            raise ShellSyntaxError("syntax error near unexpected token `|'")
        if st[0] not in ("cat", "grep"):
            raise ShellSyntaxError(f"| {st[0]} is not supported (only | cat and | grep)")
        pipe.filters.append(st)
    return pipe


def _grep(argv: list[str], text: str) -> str:
    invert = ignore = regex = False
    pattern: str | None = None
    for a in argv[1:]:
        if pattern is None and a.startswith("-") and len(a) > 1:
            invert |= "v" in a
            ignore |= "i" in a
            regex |= "E" in a
        elif pattern is None:
            pattern = a
    if pattern is None:
        return ""
    flags = re.IGNORECASE if ignore else 0
    if not regex:  # basic regular expressions: \| \( \) are the operators, | ( ) literal
        pattern = re.sub(r"\\([|()+?{}])|([|()+?{}])",
                         lambda m: m.group(1) or "\\" + (m.group(2) or ""), pattern)
    try:
        rx = re.compile(pattern, flags)
    except re.error:
        rx = re.compile(re.escape(pattern), flags)
    lines = text.splitlines(keepends=True)
    return "".join(ln for ln in lines if bool(rx.search(ln)) != invert)


# --- the transcript -------------------------------------------------------------------------
@dataclass
class Entry:
    """One line typed on a node and what it printed."""

    at: float
    node: str
    line: str
    pipe: Pipeline | None
    out: Output
    job: Job | None = None

    def header(self) -> str:
        return f"[{self.at:.3f}] {self.node}# {self.line}\n"

    def text(self, now: float | None = None) -> str:
        """What the terminal shows for this command; ``now``: a running command is shown as if
        interrupted then (the run ended)."""
        chunks = list(self.out.chunks)
        if self.job is not None and not self.job.done and now is not None:
            extra = self.job.interrupted(now)
            if extra:
                chunks.append((STDOUT, extra))
        pipe = self.pipe
        if pipe is None:
            return "".join(t for _, t in chunks)
        if not pipe.filters:
            return "".join(t for s, t in chunks
                           if (pipe.stdout if s == STDOUT else pipe.stderr))
        out = "".join(t for s, t in chunks if s == STDOUT) if pipe.stdout else ""
        for f in pipe.filters:
            out = _grep(f, out) if f[0] == "grep" else out
        err = "".join(t for s, t in chunks if s == STDERR) if pipe.stderr else ""
        return err + out


class Console:
    """Every node's console in one simulation: the commands, the script and the transcripts."""

    def __init__(self, sim: Simulation, hosts: dict[str, str] | None = None) -> None:
        self.sim = sim
        self.hosts: dict[str, str] = dict(hosts or {})
        """Names for addresses (the topology's ``hosts:``), as ``/etc/hosts`` gives them."""
        self.entries: dict[str, list[Entry]] = {}
        """Node name -> its commands, in the order they were typed."""
        self.state: dict[str, dict[str, Any]] = {}
        """Per node, what commands remember between two calls (ping identifiers, reqids)."""

    # --- typing ------------------------------------------------------------------------
    def schedule(self, script: list[dict[str, Any]]) -> None:
        """Type each ``{at, node, run}`` of a validated ``script:`` at its time."""
        from ..core.units import parse_time

        env = self.sim.net.env
        for item in script:
            at = parse_time(item["at"])
            node, line = str(item["node"]), str(item["run"])

            def fire(_ev: Any, node: str = node, line: str = line) -> None:
                self.type(node, line)

            Timeout(env, max(0.0, at - float(env.now))).callbacks.append(fire)

    def type(self, node: str, line: str) -> Entry:
        """Type ``line`` on ``node`` now; the :class:`Entry` fills in as the command runs."""
        n = self.sim.node(node)
        now = float(self.sim.net.env.now)
        ctx = Ctx(n, self, now)
        entry = Entry(now, node, line.strip(), None, ctx.out)
        self.entries.setdefault(node, []).append(entry)
        try:
            entry.pipe = pipe = parse(line)
        except ShellSyntaxError as exc:
            ctx.out.err(f"sh: 1: {exc}\n")
            return entry
        if not pipe.argv:
            return entry
        try:
            entry.job = run_command(ctx, pipe.argv)
        except Exception as exc:  # noqa: BLE001 - never a traceback: one line naming the bug
            ctx.out.err(f"ipsecsim console: {pipe.argv[0]} failed: {exc!r}\n")
        return entry

    def sh(self, node: str, line: str) -> str:
        """Type ``line`` on ``node`` now and return what it printed, running the simulation
        forward while the command takes simulated time (see the module docstring)."""
        entry = self.type(node, line)
        job = entry.job
        if job is not None and not job.done:
            env = self.sim.net.env
            was = gc.isenabled()
            gc.disable()
            try:
                while not job.done and env.peek() < job.deadline:
                    env.step()
            finally:
                if was:
                    gc.enable()
            if not job.done:  # what is due before the deadline runs, as in a script's run
                self.sim.run(job.deadline)
                job.stop(float(env.now))
        return entry.text(float(self.sim.net.env.now))

    # --- reading --------------------------------------------------------------------------
    def resolve(self, name: str) -> str | None:
        """The address ``hosts:`` gives ``name`` (None: no such name)."""
        return self.hosts.get(name)

    def name_of(self, addr: str) -> str | None:
        """The first ``hosts:`` name of ``addr`` (a reverse lookup in /etc/hosts)."""
        return next((n for n, a in self.hosts.items() if a == addr), None)

    def node_state(self, node: str) -> dict[str, Any]:
        return self.state.setdefault(node, {})

    def transcript(self, node: str, now: float | None = None) -> str:
        """Everything typed on ``node`` so far, with each command's output under its header."""
        return "".join(e.header() + e.text(now) for e in self.entries.get(node, []))

    def write(self, folder: str | Path) -> list[Path]:
        """``folder/NODE.txt`` for every node something was typed on (nothing otherwise)."""
        if not self.entries:
            return []
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        now = float(self.sim.net.env.now)
        paths = []
        for node in self.entries:
            path = folder / f"{node}.txt"
            path.write_text(self.transcript(node, now))
            paths.append(path)
        return paths


# --- commands -------------------------------------------------------------------------------
def _cat(ctx: Ctx, argv: list[str]) -> None:
    for name in argv[1:]:
        if name.startswith("-"):
            continue
        if name in ("/var/log/daemon.log", "/var/log/syslog", "/var/log/charon.log"):
            log = getattr(ctx.node, "charon_log", None)
            if log is not None:
                ctx.out.out(log.text())
            elif getattr(ctx.node, "node", None) is None:
                ctx.out.err(f"cat: {name}: No such file or directory\n")
        elif name == "/etc/hosts":
            ctx.out.out("127.0.0.1\tlocalhost\n"
                        + "".join(f"{a}\t{n}\n" for n, a in ctx.console.hosts.items()))
        else:
            ctx.out.err(f"cat: {name}: No such file or directory\n")
    return None


def _true(ctx: Ctx, argv: list[str]) -> None:
    return None


def _echo(ctx: Ctx, argv: list[str]) -> None:
    ctx.out.out(" ".join(argv[1:]) + "\n")
    return None


def _commands() -> dict[str, Command]:
    from . import ping, swanctl, xfrm

    return {
        "swanctl": swanctl.main,
        "ping": ping.main,
        "ping6": ping.main,
        "ip": xfrm.main,
        "cat": _cat,
        "echo": _echo,
        "true": _true,
        ":": _true,
        "sleep": _true,
    }


_COMMANDS: dict[str, Command] = {}


def run_command(ctx: Ctx, argv: list[str]) -> Job | None:
    """Run one command (``argv[0]`` may be a path such as ``/usr/sbin/swanctl``)."""
    if not _COMMANDS:
        _COMMANDS.update(_commands())
    name = argv[0]
    fn = _COMMANDS.get(name.rsplit("/", 1)[-1] if "/" in name else name)
    if fn is None:
        ctx.out.err(f"{name}: command not found\n")
        return None
    return fn(ctx, [name.rsplit("/", 1)[-1], *argv[1:]])
