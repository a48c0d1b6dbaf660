"""Fuzz properties of the configuration readers: swanctl.conf, strongswan.conf, swanctl
folders and topology files (issue 15: "the swanctl.conf reader, the topology loader").

Each starts from a shipped file (the strongSwan testbed's swanctl folders, every
``topologies/*.yaml``) with characters of the syntax inserted, deleted or replaced, and
expects a result or the documented located error -- :class:`ConfigError` for the strongSwan
readers, :class:`TopologyError` for topologies -- never a traceback (issue 15, finding 7:
``check`` must report bad input itself).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from ipsecsim.core.errors import ConfigError
from ipsecsim.sim import topology
from ipsecsim.sim.topology import TopologyError
from ipsecsim.swanctl import parser
from ipsecsim.swanctl.load import load_swanctl, read_settings
from ipsecsim.swanctl.strongswan_conf import charon_options
from tests.fuzz.budget import fuzz, only

ROOT = Path(__file__).parents[2]
TOPOLOGIES = sorted((ROOT / "topologies").rglob("*.yaml"))
FOLDERS = sorted(p.parent for p in (ROOT / "topologies").rglob("swanctl.conf"))
SWANCTL = [p / "swanctl.conf" for p in FOLDERS]

STRONGSWAN_CONF = """\
# a strongswan.conf of the kind the guides show
charon {
    load_modular = yes
    retransmit_tries = 3
    retransmit_timeout = 2.0
    retransmit_base = 1.4
    make_before_break = yes
    fragment_size = 1280
    cookie_threshold = 10
    block_threshold = 5
    init_limit_half_open = 1000
    keep_alive = 20s
    dns1 = 10.1.0.53
    plugins {
    }
    filelog {
        stderr { default = 1 }
    }
}
"""
SYNTAX = "{}=,\"'#\\\n\t :;.$%*/-_0123456789abcxyz"


@st.composite
def bent_text(draw: st.DrawFn, text: str) -> str:
    """``text`` with 1-4 edits: a syntax character in, a run of characters out, one
    replaced, or a line doubled."""
    s = text
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, max(0, len(s) - 1)))
        kind = draw(st.sampled_from(("insert", "insert", "delete", "replace", "line")))
        if kind == "insert":
            s = s[:pos] + draw(st.text(st.sampled_from(SYNTAX), min_size=1, max_size=4)) + s[pos:]
        elif kind == "delete":
            s = s[:pos] + s[pos + draw(st.integers(1, 12)):]
        elif kind == "replace":
            s = s[:pos] + draw(st.sampled_from(SYNTAX)) + s[pos + 1:]
        else:
            start = s.rfind("\n", 0, pos) + 1
            end = s.find("\n", pos)
            end = len(s) if end < 0 else end + 1
            s = s[:end] + s[start:end] + s[end:]
    return s


def _texts(paths: list[Path]) -> list[str]:
    return [p.read_text() for p in paths]


@fuzz(300)
@given(st.sampled_from(_texts(SWANCTL) + [STRONGSWAN_CONF]).flatmap(bent_text))
def test_settings_parser_raises_only_config_error(text: str) -> None:
    with only("swanctl.parser.parse", ConfigError):
        parser.parse(text, "/etc/swanctl/swanctl.conf")


@fuzz(200)
@given(bent_text(STRONGSWAN_CONF))
def test_strongswan_conf_options_raise_only_config_error(text: str) -> None:
    with only("strongswan.conf charon_options", ConfigError):
        tree, _warnings = parser.parse(text, "/etc/strongswan.conf")
        charon_options(tree)


# swanctl folders and topologies are read from files: work on a copy of topologies/
_WORK = Path(tempfile.mkdtemp(prefix="ipsecsim-fuzz-"))
shutil.copytree(ROOT / "topologies", _WORK / "topologies")
atexit.register(shutil.rmtree, _WORK, True)


def _copy(original: Path) -> Path:
    return _WORK / original.relative_to(ROOT)


@fuzz(60)
@given(st.data())
def test_swanctl_folders_raise_only_config_error(data) -> None:  # noqa: ANN001
    """A damaged swanctl.conf beside the folder's real certificates and keys."""
    folder = data.draw(st.sampled_from(FOLDERS))
    text = data.draw(bent_text((folder / "swanctl.conf").read_text()))
    work = _copy(folder)
    bent = work / "fuzz.conf"
    bent.write_text(text)
    with only("swanctl load_swanctl (folder)", ConfigError):
        load_swanctl(str(work), hosts={"moon": "192.168.0.1", "sun": "192.168.0.2"},
                     file=str(bent))
    with only("swanctl read_settings (file)", ConfigError):
        read_settings(str(bent))


@fuzz(60)
@given(st.data())
def test_topology_loader_raises_only_topology_error(data) -> None:  # noqa: ANN001
    original = data.draw(st.sampled_from(TOPOLOGIES))
    text = data.draw(bent_text(original.read_text()))
    bent = _copy(original).with_name("fuzz-" + original.name)
    bent.write_text(text)
    with only("sim.topology.load", TopologyError):
        topo = topology.load(bent)
        assert isinstance(topology.warnings(topo, str(bent)), list)


def test_every_shipped_input_loads_unbent() -> None:
    """The starting points are valid, so the damage above is what gets reported."""
    assert len(TOPOLOGIES) >= 10 and len(FOLDERS) >= 5
    for t in TOPOLOGIES:
        topology.load(_copy(t))
    tree, _ = parser.parse(STRONGSWAN_CONF, "/etc/strongswan.conf")
    options, _ = charon_options(tree)
    assert options["retransmit_tries"] == 3
