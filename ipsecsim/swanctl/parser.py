"""strongSwan's settings syntax (swanctl.conf(5), strongswan.conf(5)) as a located tree.

The grammar follows strongSwan's own parser (``src/libstrongswan/settings/
settings_lexer.l`` and ``settings_parser.y``), rewritten here:

* ``name { ... }`` is a section, ``name : a, b.c { ... }`` a section that inherits
  the settings and subsections of the sections it references by absolute name;
* ``key = value`` runs to the end of the line, a ``#`` or a ``}``; the words of a
  value are joined by one space, a ``"quoted string"`` keeps its spaces and
  understands ``\\n``, ``\\r``, ``\\t``, ``\\<newline>`` (the line goes on) and
  ``\\X`` (X itself); ``key =`` with nothing after it clears the key;
* names may hold any printable character but ``. , : { } = " #`` and spaces;
* ``# comment`` to the end of the line, outside quoted strings;
* ``include PATTERN`` splices in the files a glob pattern matches, relative to the
  including file, in sorted order, at the place of the include (so an included
  file adds to the section the include is in);
* a section or key given twice is merged: sections extend, a later value replaces
  an earlier one (keeping the key's first position).

Lists (``a, b, c``) stay one string here; the consumer splits them, as swanctl
does. The parser reads no file: :func:`parse` takes the text and its path, and an
``include`` callback that returns the files a pattern matches (``load.py`` has the
one that reads the disk). Every section and setting keeps its ``FILE:LINE``; a
syntax error is a :class:`ConfigError` whose message starts with ``FILE:LINE:``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from ..core.errors import ConfigError

IncludeFn = Callable[[str], list[tuple[str, str]]]
"""``include(pattern)`` -> ``[(path, text), ...]`` of the files the (joined) glob
pattern matches, sorted; ``[]`` when none does."""

MAX_INCLUDE_DEPTH = 32
"""Nested includes deeper than this are taken for a file that includes itself."""

_NAME_STOP = frozenset('#{}:.,="\r\n\t ')
"""Characters a section or key name cannot hold (strongswan.conf(5), SYNTAX)."""
_VALUE_STOP = frozenset('#}"\r\n\t ')
"""Characters that end an unquoted word of a value."""
_INCLUDE_STOP = frozenset('"\\#}\r\n\t ')


@dataclass
class Setting:
    """``key = value`` with where it was (last) given."""

    name: str
    """The key."""
    value: str
    """The value: words joined by one space, quoted strings unescaped; ``""`` when empty."""
    file: str
    """The file the value comes from."""
    line: int
    """Its line (1-based)."""

    @property
    def where(self) -> str:
        """``FILE:LINE`` for messages."""
        return f"{self.file}:{self.line}"


@dataclass
class Section:
    """``name { ... }``: settings and subsections in file order."""

    name: str
    """The section's name (``""`` for the root of a file)."""
    file: str
    """Where the section was first opened."""
    line: int
    """The line of its name."""
    settings: dict[str, Setting] = field(default_factory=dict)
    """Key-value pairs by key, in the order they first appeared."""
    sections: dict[str, Section] = field(default_factory=dict)
    """Subsections by name, in the order they first appeared."""
    refs: list[str] = field(default_factory=list)
    """Absolute names of the sections this one inherits from (``name : refs {``)."""

    @property
    def where(self) -> str:
        """``FILE:LINE`` for messages."""
        return f"{self.file}:{self.line}"

    def find(self, dotted: str) -> Section | None:
        """The subsection at ``a.b.c`` below this one, or None."""
        node: Section | None = self
        for part in dotted.split(".") if dotted else ():
            node = node.sections.get(part) if node is not None else None
        return node

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Setting]]:
        """Every setting below this section as ``(dotted.path, setting)``, in order."""
        for key, s in self.settings.items():
            yield f"{prefix}{key}", s
        for name, sub in self.sections.items():
            yield from sub.walk(f"{prefix}{name}.")


class _Scanner:
    """One file's text with a read position and the current line."""

    __slots__ = ("text", "path", "pos", "line")

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.pos = 0
        self.line = 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        ch = self.text[self.pos]
        self.pos += 1
        if ch == "\n":
            self.line += 1
        return ch

    def error(self, message: str, line: int | None = None) -> ConfigError:
        return ConfigError(f"{self.path}:{self.line if line is None else line}: {message}")

    def skip_blanks(self) -> None:
        """Spaces, tabs, newlines and comments (between the tokens of a statement)."""
        while True:
            ch = self.peek()
            if ch in (" ", "\t", "\r", "\n"):
                self.take()
            elif ch == "#":
                while self.peek() not in ("", "\n"):
                    self.pos += 1
            else:
                return

    def run(self, stop: frozenset[str]) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in stop:
            self.pos += 1
        return self.text[start:self.pos]

    def quoted(self) -> str:
        """A quoted string after its opening ``"``: the unescaped text up to the closing one."""
        start_line = self.line
        out: list[str] = []
        while True:
            ch = self.peek()
            if ch == "":
                raise self.error("unterminated string (the quote opened here is never closed)",
                                 start_line)
            self.take()
            if ch == '"':
                return "".join(out)
            if ch == "\r":
                continue
            if ch != "\\":
                out.append(ch)
                continue
            nxt = self.peek()
            if nxt == "":
                raise self.error("unterminated string (a backslash ends the file)", start_line)
            self.take()
            if nxt == "\r" and self.peek() == "\n":
                self.take()  # \<CR><LF>: the line goes on
            elif nxt != "\n":  # \<newline>: the line goes on
                out.append({"n": "\n", "r": "\r", "t": "\t"}.get(nxt, nxt))

    def value(self) -> str:
        """After ``=``: the words up to the end of the line, a ``#`` or a ``}``."""
        parts: list[str] = []
        while True:
            ch = self.peek()
            if ch in (" ", "\t", "\r"):
                self.pos += 1
            elif ch in ("", "\n", "#", "}"):
                return " ".join(parts)
            elif ch == '"':
                self.take()
                parts.append(self.quoted())
            else:
                parts.append(self.run(_VALUE_STOP))

    def include_pattern(self) -> str:
        """After ``include``: a pattern up to a blank, ``#`` or ``}`` (``\\`` escapes
        ``"``, ``#``, ``}`` and space); a quoted part ends the pattern."""
        out: list[str] = []
        while True:
            ch = self.peek()
            if ch in ("", "\n", "\t", " ", "#", "}"):
                return "".join(out)
            if ch == "\r":
                self.pos += 1
            elif ch == '"':
                self.take()
                out.append(self.quoted())
                return "".join(out)
            elif ch == "\\":
                self.pos += 1
                if self.peek() in ('"', "#", "}", " "):
                    out.append(self.take())
                else:
                    out.append("\\")
            else:
                out.append(self.run(_INCLUDE_STOP))

    def at_include(self) -> bool:
        """``include`` followed by blanks and then anything but ``=`` (settings_lexer.l)."""
        t, p = self.text, self.pos
        if not t.startswith("include", p):
            return False
        q = p + len("include")
        if q >= len(t) or t[q] not in " \t":
            return False
        while q < len(t) and t[q] in " \t":
            q += 1
        return q < len(t) and t[q] != "="


def _describe(ch: str) -> str:
    return "end of file" if ch == "" else "end of line" if ch == "\n" else repr(ch)


class _Parser:
    def __init__(self, include: IncludeFn | None, warnings: list[str]) -> None:
        self.include = include
        self.warnings = warnings
        self.files: list[_Scanner] = []
        self.stack: list[Section] = []

    def run(self, text: str, path: str) -> Section:
        root = Section("", path, 1)
        self.stack = [root]
        self.files = [_Scanner(text, path)]
        while self.files:
            sc = self.files[-1]
            sc.skip_blanks()
            if sc.peek() == "":
                self.files.pop()
                continue
            self.statement(sc)
        if len(self.stack) > 1:
            open_ = self.stack[-1]
            raise ConfigError(f"{open_.where}: section '{open_.name}' is never closed "
                              "(a '}' is missing)")
        return root

    def statement(self, sc: _Scanner) -> None:
        ch = sc.peek()
        if ch == "}":
            sc.take()
            if len(self.stack) == 1:
                raise sc.error("unexpected '}': no section is open")
            self.stack.pop()
            return
        if ch == '"':
            raise sc.error("unexpected quoted string: quotes are allowed in values only "
                           "(key = \"value\")")
        if ch in _NAME_STOP:
            hint = " (names cannot hold dots: write nested sections)" if ch == "." else ""
            raise sc.error(f"unexpected {_describe(ch)}: expected a section or key name{hint}")
        if sc.at_include():
            self.do_include(sc)
            return
        line = sc.line
        name = sc.run(_NAME_STOP)
        sc.skip_blanks()
        ch = sc.peek()
        if ch == "=":
            sc.take()
            self.add_setting(Setting(name, sc.value(), sc.path, line))
        elif ch == "{":
            sc.take()
            self.open_section(name, sc.path, line, [])
        elif ch == ":":
            sc.take()
            refs = self.references(sc, name)
            self.open_section(name, sc.path, line, refs)
        else:
            hint = " (names cannot hold dots: write nested sections)" if ch == "." else ""
            raise sc.error(f"unexpected {_describe(ch)} after '{name}': expected '=' or '{{'{hint}",
                           line if ch == "" else None)

    def references(self, sc: _Scanner, name: str) -> list[str]:
        refs: list[str] = []
        while True:
            sc.skip_blanks()
            ref = sc.run(frozenset('#{}:,="\r\n\t '))
            if not ref or any(not part for part in ref.split(".")):
                raise sc.error(f"section '{name}': expected the absolute name of a section "
                               f"to inherit from after ':', got {_describe(sc.peek()) if not ref else repr(ref)}")
            refs.append(ref)
            sc.skip_blanks()
            ch = sc.peek()
            if ch == ",":
                sc.take()
            elif ch == "{":
                sc.take()
                return refs
            else:
                raise sc.error(f"section '{name}': unexpected {_describe(ch)} in its references, "
                               "expected ',' or '{'")

    def open_section(self, name: str, path: str, line: int, refs: list[str]) -> None:
        parent = self.stack[-1]
        sec = parent.sections.get(name)
        if sec is None:
            sec = parent.sections[name] = Section(name, path, line)
        for r in refs:
            if r not in sec.refs:
                sec.refs.append(r)
        self.stack.append(sec)

    def add_setting(self, s: Setting) -> None:
        section = self.stack[-1]
        old = section.settings.get(s.name)
        if old is None:
            section.settings[s.name] = s
        else:  # a later value replaces the earlier one and keeps its position
            old.value, old.file, old.line = s.value, s.file, s.line

    def do_include(self, sc: _Scanner) -> None:
        line = sc.line
        sc.pos += len("include")
        while sc.peek() in (" ", "\t"):
            sc.pos += 1
        pattern = sc.include_pattern()
        if not pattern:
            self.warnings.append(f"{sc.path}:{line}: include without a file pattern (ignored)")
            return
        full = pattern if os.path.isabs(pattern) else os.path.join(os.path.dirname(sc.path), pattern)
        if self.include is None:
            raise sc.error(f"include {pattern}: this text cannot include files", line)
        if len(self.files) > MAX_INCLUDE_DEPTH:
            raise sc.error(f"include {pattern}: includes nested deeper than {MAX_INCLUDE_DEPTH} "
                           "(does a file include itself?)", line)
        found = self.include(full)
        if not found:
            self.warnings.append(f"{sc.path}:{line}: include {pattern}: no files found "
                                 f"matching '{full}'")
        for path, text in reversed(found):
            self.files.append(_Scanner(text, path))


def parse(text: str, path: str, include: IncludeFn | None = None) -> tuple[Section, list[str]]:
    """Parse settings text read from ``path``; return the root section and warnings.

    ``include`` resolves ``include`` statements (see :data:`IncludeFn`); without it an
    include is an error. References (``name : other {``) are resolved: every section
    that references others holds their settings and subsections too, after its own
    (strongswan.conf(5), REFERENCING OTHER SECTIONS). A reference to a section that
    does not exist is a warning, as strongSwan ignores it.
    """
    warnings: list[str] = []
    root = _Parser(include, warnings).run(text, path)
    _resolve_refs(root, warnings)
    return root, warnings


def _resolve_refs(root: Section, warnings: list[str]) -> None:
    """Merge referenced sections into the sections naming them.

    A section's own settings come first, then those of its own subsections' references,
    then what its references bring (left to right); a reference loop is cut.
    """
    done: set[int] = set()
    active: set[int] = set()

    def resolve(sec: Section) -> None:
        if id(sec) in done:
            return
        active.add(id(sec))
        for sub in list(sec.sections.values()):
            resolve(sub)
        for ref in sec.refs:
            target = root.find(ref)
            if target is None:
                warnings.append(f"{sec.where}: section '{sec.name}' references '{ref}', which "
                                "does not exist (ignored)")
            elif id(target) in active:
                warnings.append(f"{sec.where}: section '{sec.name}' references '{ref}', which "
                                "contains or references it (the loop is cut)")
            else:
                resolve(target)
                _inherit(sec, target)
        active.discard(id(sec))
        done.add(id(sec))

    resolve(root)


def _inherit(sec: Section, base: Section) -> None:
    for key, s in base.settings.items():
        if key not in sec.settings:
            sec.settings[key] = Setting(s.name, s.value, s.file, s.line)
    for name, sub in base.sections.items():
        mine = sec.sections.get(name)
        if mine is None:
            mine = sec.sections[name] = Section(name, sub.file, sub.line)
        _inherit(mine, sub)
