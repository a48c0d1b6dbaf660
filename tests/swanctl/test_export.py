"""``ipsecsim export-swanctl``: design to deploy, and back.

A topology whose gateways import the exported folders (``swanctl: DIR/<node>``, and the
exported strongswan.conf where one is written) must run as the original: the same summary
figures, the same traffic delivered, the same SAs. The minted certificates are the run's own
(same seed, same CA, same key per identity), so even the certificates match. That charon
loads the folders and establishes with them is tests/interop/test_export_swanctl_charon.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from ipsecsim.cli import main
from ipsecsim.sim import topology as T
from ipsecsim.sim.runner import Simulation
from ipsecsim.swanctl import load_swanctl
from tests.helpers.paths import REPO

TOPOS = REPO / "topologies"


def imported(topo_path: Path, out: Path) -> dict:
    """The topology with each gateway's ipsec: block replaced by its exported folder."""
    topo = copy.deepcopy(dict(T.load(topo_path)))
    for name, n in topo["nodes"].items():
        if n.get("role") == "gateway":
            n.pop("ipsec", None)
            n["swanctl"] = str(out / name)
            n.pop("strongswan_conf", None)
            if (out / name / "strongswan.conf").exists():
                n["strongswan_conf"] = str(out / name / "strongswan.conf")
    return topo


def figures(sim: Simulation) -> dict:
    s = sim.summary()
    return {k: s[k] for k in ("packets", "ike", "child_sas")}


@pytest.mark.parametrize("name", ["site-to-site", "road-warriors", "hub-and-spoke",
                                  "strongswan-testbed/rw-cert"])
def test_a_topology_importing_its_export_runs_the_same(tmp_path: Path, name: str):
    src = TOPOS / f"{name}.yaml"
    out = tmp_path / "export"
    assert main(["export-swanctl", str(src), "--out", str(out)]) == 0
    orig = Simulation.from_file(src).run()
    again = Simulation.from_dict(imported(src, out), seed=orig.seed).run()
    assert figures(again) == figures(orig)
    assert again.summary()["packets"]["delivered"] > 0


def test_minted_certificates_are_the_runs_own(tmp_path: Path):
    """The exported certificate is the one the gateway sends in IKE_AUTH during the run."""
    src = TOPOS / "road-warriors.yaml"
    out = tmp_path / "export"
    assert main(["export-swanctl", str(src), "--out", str(out)]) == 0
    sim = Simulation.from_file(src).run(3)
    sent = {i.cert_der for i in sim.node("hub").node.ike.issued.values()}  # type: ignore[attr-defined]
    pem = (out / "hub" / "x509" / "hub.exampleCert.pem").read_bytes()
    from cryptography.hazmat.primitives.serialization import Encoding

    assert x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER) in sent
    assert (out / "hub" / "private" / "hub.exampleKey.pem").stat().st_mode & 0o077 == 0


def test_the_exported_text_reads_back_as_the_same_config(tmp_path: Path):
    """swanctl.conf in swanctl's syntax: our reader (which agrees with charon's, see
    test_charon_oracle.py) gives back the connections and secrets of the YAML block."""
    src = TOPOS / "site-to-site.yaml"
    out = tmp_path / "export"
    assert main(["export-swanctl", str(src), "--out", str(out)]) == 0
    topo = T.load(src)
    from ipsecsim.core.ike.config import IkeConfig

    for gw in ("gw-a", "gw-b"):
        back = load_swanctl(str(out / gw)).config
        block = {k: v for k, v in topo["nodes"][gw]["ipsec"].items() if k != "manual"}
        want = IkeConfig.from_dict(block)
        assert back.connections == want.connections
        assert back.secrets == want.secrets


def test_options_without_a_swanctl_spelling_go_to_strongswan_conf_or_warn(tmp_path: Path, capsys):
    topo = yaml.safe_load((TOPOS / "site-to-site.yaml").read_text())
    a = topo["nodes"]["gw-a"]["ipsec"]
    a["cookie_threshold"] = 3
    conn = next(iter(a["connections"].values()))
    conn["retransmit_tries"] = 2
    a["manual"] = [{"spi_in": 0x1000, "spi_out": 0x1001, "esp_proposal": "aes128gcm16",
                    "local_addr": "198.51.100.1", "remote_addr": "203.0.113.1"}]
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(topo))
    out = tmp_path / "export"
    assert main(["export-swanctl", str(path), "--out", str(out)]) == 0, capsys.readouterr().err
    err = capsys.readouterr().err
    conf = (out / "gw-a" / "strongswan.conf").read_text()
    assert "cookie_threshold = 3" in conf and "retransmit_tries = 2" in conf
    assert "retransmit_tries" not in (out / "gw-a" / "swanctl.conf").read_text()
    assert "warning: gw-a: manual: SAs (static keys) have no swanctl.conf spelling" in err


def test_a_bad_topology_is_located(tmp_path: Path, capsys):
    path = tmp_path / "t.yaml"
    path.write_text("nodes: {a: {role: gatway, addresses: [10.0.0.1/24]}}\n")
    assert main(["export-swanctl", str(path), "--out", str(tmp_path / "o")]) == 2
    assert f"{path}:1: nodes.a.role: 'gatway' is not one of" in capsys.readouterr().err
