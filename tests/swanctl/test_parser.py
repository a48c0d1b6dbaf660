"""strongSwan's settings syntax: sections, values, quotes, comments, includes, references.

Each case follows strongswan.conf(5) (SYNTAX, REFERENCING OTHER SECTIONS, INCLUDING FILES)
and strongSwan's lexer/grammar (src/libstrongswan/settings/settings_lexer.l,
settings_parser.y): where the man page is silent, the lexer decides (a value is its
words joined by one space; a quoted string keeps its spaces; ``#``/``}`` end a value).
"""

from __future__ import annotations

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.swanctl.parser import Section, parse


def values(tree: Section) -> dict[str, str]:
    return {path: s.value for path, s in tree.walk()}


def test_sections_keys_and_locations():
    tree, warnings = parse("a = b\nsection-one {\n  somevalue = asdf\n  subsection {\n"
                           "    othervalue = xxx\n  }\n  # yei, a comment\n  yetanother = zz\n}\n"
                           "section-two {\n  x = 12\n}\n", "ex.conf")
    assert warnings == []
    assert values(tree) == {"a": "b", "section-one.somevalue": "asdf",
                            "section-one.yetanother": "zz",
                            "section-one.subsection.othervalue": "xxx", "section-two.x": "12"}
    assert tree.sections["section-one"].settings["yetanother"].where == "ex.conf:8"
    assert tree.sections["section-two"].where == "ex.conf:10"


def test_value_words_join_with_one_space_and_run_to_end_of_line():
    tree, _ = parse("k = a   b\tc\nl = x, y ,z\nm = /path/_updown iptables # comment\n", "f")
    assert values(tree) == {"k": "a b c", "l": "x, y ,z", "m": "/path/_updown iptables"}


def test_value_may_hold_braces_equals_and_colons_but_ends_at_a_closing_brace():
    tree, _ = parse("s { k = a{b=c:d }\nt { u = v } w = 1\n", "f")
    assert values(tree) == {"s.k": "a{b=c:d", "t.u": "v", "w": "1"}


def test_one_line_sections_and_newlines_between_tokens():
    tree, _ = parse("a { b { c = 1 } d = 2 }\ne\n{\n f\n = 3\n}\n", "f")
    assert values(tree) == {"a.d": "2", "a.b.c": "1", "e.f": "3"}


def test_quoted_strings_and_escapes():
    tree, _ = parse('a = "two  spaces"\n'
                    'b = "tab\\there\\nnewline \\"quoted\\" back\\\\slash \\q"\n'
                    'c = "joined \\\nline"\n'
                    'd = "multi\nline"\n'
                    'e = "#not a comment } nor a brace"\n'
                    'f = x"y"z\n', "f")
    v = values(tree)
    assert v["a"] == "two  spaces"
    assert v["b"] == 'tab\there\nnewline "quoted" back\\slash q'
    assert v["c"] == "joined line"
    assert v["d"] == "multi\nline"
    assert v["e"] == "#not a comment } nor a brace"
    assert v["f"] == "x y z"  # words and strings are separate parts, joined by a space
    assert tree.settings["e"].line == 7  # lines inside strings are counted


def test_single_quotes_are_ordinary_characters():
    # strongSwan's ikev2/net2net-psk has secret = 'My "home" is my "castle"!': the
    # lexer takes 'My, "home", is, my, "castle", !' as six parts
    tree, _ = parse("""secret = 'My "home" is my "castle"!'\n""", "f")
    assert tree.settings["secret"].value == "'My home is my castle !'"


def test_empty_value_and_crlf():
    tree, _ = parse("a =\r\nb = 1\r\nc = \n", "f")
    assert values(tree) == {"a": "", "b": "1", "c": ""}
    assert tree.settings["b"].line == 2


def test_comments_everywhere():
    tree, _ = parse("# head\na { # after a brace\n b = 1 # after a value\n # alone\n}# tail", "f")
    assert values(tree) == {"a.b": "1"}


def test_duplicates_merge_sections_and_replace_values_in_place():
    tree, _ = parse("a { x = 1\n y = 2 }\nb = 0\na { x = 3\n z = 4 }\n", "f")
    a = tree.sections["a"]
    assert list(a.settings) == ["x", "y", "z"]
    assert a.settings["x"].value == "3" and a.settings["x"].where == "f:4"
    assert list(tree.sections) == ["a"] and a.where == "f:1"


def test_references_inherit_after_own_settings():
    text = """conn-defaults { local_addrs = 192.168.0.1
                  local { auth = pubkey }
                  children { net { esp_proposals = aes128gcm16 } } }
eap-defaults { remote { auth = eap-md5 } version = 1 }
connections {
  conn-a : conn-defaults, eap-defaults {
    version = 2
    children { net { local_ts = 10.1.0.0/16 } }
  }
  conn-c : connections.conn-a {
    local_addrs =
  }
}
"""
    tree, warnings = parse(text, "refs.conf")
    assert warnings == []
    a = tree.find("connections.conn-a")
    assert a is not None and list(a.settings) == ["version", "local_addrs"]
    assert a.settings["version"].value == "2"  # own value wins over eap-defaults
    assert values(a) == {"version": "2", "local_addrs": "192.168.0.1",
                         "children.net.local_ts": "10.1.0.0/16",
                         "children.net.esp_proposals": "aes128gcm16",
                         "local.auth": "pubkey", "remote.auth": "eap-md5"}
    assert a.settings["local_addrs"].where == "refs.conf:1"  # where the inherited value is
    c = tree.find("connections.conn-c")
    assert c is not None
    assert c.settings["local_addrs"].value == ""  # an empty assignment clears it
    assert values(c)["children.net.esp_proposals"] == "aes128gcm16"  # inherited twice over


def test_missing_and_looping_references_are_warnings():
    tree, warnings = parse("a : nowhere { x = 1 }\nb : b { y = 2 }\n", "f")
    assert values(tree) == {"a.x": "1", "b.y": "2"}
    assert warnings == ["f:1: section 'a' references 'nowhere', which does not exist (ignored)",
                        "f:2: section 'b' references 'b', which contains or references it "
                        "(the loop is cut)"]


# --------------------------------------------------------------------------- includes


def opener(files: dict[str, str]):
    """An include callback over a dict of files, with fnmatch-style globs."""
    import fnmatch
    import posixpath

    calls: list[str] = []

    def include(pattern: str) -> list[tuple[str, str]]:
        calls.append(pattern)
        norm = posixpath.normpath(pattern)
        return [(p, files[p]) for p in sorted(files) if fnmatch.fnmatchcase(p, norm)]

    include.calls = calls  # type: ignore[attr-defined]
    return include


def test_include_globs_relative_to_the_including_file_into_the_current_section():
    files = {
        "etc/swanctl/conf.d/b.conf": "gw-b { version = 2 }\n",
        "etc/swanctl/conf.d/a.conf": "gw-a { version = 1 }\ninclude ../secrets/*.conf\n",
        "etc/swanctl/secrets/psk.conf": "late = yes\n",
        "etc/swanctl/conf.d/a.txt": "not = included\n",
    }
    inc = opener(files)
    tree, warnings = parse("connections {\n  include conf.d/*.conf\n  gw-c { }\n}\n",
                           "etc/swanctl/swanctl.conf", inc)
    assert warnings == []
    assert inc.calls == ["etc/swanctl/conf.d/*.conf", "etc/swanctl/conf.d/../secrets/*.conf"]
    conns = tree.sections["connections"]
    assert list(conns.sections) == ["gw-a", "gw-b", "gw-c"]  # sorted, spliced in place
    assert conns.settings["late"].where == "etc/swanctl/secrets/psk.conf:1"
    assert conns.sections["gw-b"].settings["version"].where == "etc/swanctl/conf.d/b.conf:1"


def test_included_values_replace_and_sections_extend():
    files = {"inc.conf": "# from inc\nsomevalue = asdf\nsubsection { othervalue = yyy }\n",
             "other.conf": "section-one { subsection { othervalue = xxx } }\n"}
    tree, _ = parse("section-one {\n somevalue = before include\n include inc.conf\n}\n"
                    "include other.conf\n", "main.conf", opener(files))
    assert values(tree) == {"section-one.somevalue": "asdf",
                            "section-one.subsection.othervalue": "xxx"}


def test_include_quoted_and_escaped_patterns_absolute_paths():
    files = {"/abs/with space.conf": "a = 1\n", "/abs/b#c.conf": "b = 2\n", "d/e f.conf": "c = 3\n"}
    tree, _ = parse('include "/abs/with space.conf"\ninclude /abs/b\\#c.conf # comment\n'
                    "include e\\ f.conf\n", "d/x.conf", opener(files))
    assert values(tree) == {"a": "1", "b": "2", "c": "3"}


def test_include_matching_nothing_is_a_warning_and_a_key_named_include_is_a_key():
    tree, warnings = parse("include missing/*.conf\ninclude = 5\n", "dir/f.conf", opener({}))
    assert values(tree) == {"include": "5"}
    assert warnings == ["dir/f.conf:1: include missing/*.conf: no files found matching "
                        "'dir/missing/*.conf'"]


def test_include_without_a_callback_and_a_self_include():
    with pytest.raises(ConfigError, match=r"^f:1: include x.conf: this text cannot include"):
        parse("include x.conf\n", "f")
    with pytest.raises(ConfigError, match=r"^loop.conf:2: include loop.conf: includes nested "
                                          r"deeper than 32"):
        parse("a = 1\ninclude loop.conf\n", "loop.conf",
              opener({"loop.conf": "a = 1\ninclude loop.conf\n"}))


def test_a_section_may_close_in_an_included_file():
    # the lexer splices included files into one token stream (settings_lexer.l)
    tree, _ = parse("a {\ninclude close.conf\nb = 2\n", "m.conf",
                    opener({"close.conf": "x = 1\n}\n"}))
    assert values(tree) == {"a.x": "1", "b": "2"}


# --------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize("text, message", [
    ("connections {\n  gw {\n", "f.conf:2: section 'gw' is never closed (a '}' is missing)"),
    ("a = 1\n}\n", "f.conf:2: unexpected '}': no section is open"),
    ("charon.retransmit_tries = 3\n", "f.conf:1: unexpected '.' after 'charon': expected '=' or "
                                      "'{' (names cannot hold dots: write nested sections)"),
    ("a {\n  local_ts 10.1.0.0/16\n}\n", "f.conf:2: unexpected '1' after 'local_ts': expected '=' or '{'"),
    ("\n\nkey\n\n", "f.conf:3: unexpected end of file after 'key': expected '=' or '{'"),
    ('"quoted" = 1\n', "f.conf:1: unexpected quoted string: quotes are allowed in values only"),
    ("a {\n b = \"open\n\n\n", "f.conf:2: unterminated string (the quote opened here is never closed)"),
    ('b = "ends in a backslash\\', "f.conf:1: unterminated string (a backslash ends the file)"),
    ("= 3\n", "f.conf:1: unexpected '=': expected a section or key name"),
    ("a : {\n", "f.conf:1: section 'a': expected the absolute name of a section to inherit from"),
    ("a : b c {\n}\n", "f.conf:1: section 'a': unexpected 'c' in its references, expected ',' or '{'"),
    ("a {\n, = 1\n}", "f.conf:2: unexpected ',': expected a section or key name"),
])
def test_syntax_errors_are_located(text, message):
    with pytest.raises(ConfigError) as err:
        parse(text, "f.conf")
    assert str(err.value).startswith(message)


def test_errors_in_included_files_name_that_file():
    with pytest.raises(ConfigError, match=r"^conf.d/bad.conf:3: unexpected '}'"):
        parse("include conf.d/*.conf\n", "swanctl.conf",
              opener({"conf.d/bad.conf": "a = 1\nb = 2\n}\n"}))
