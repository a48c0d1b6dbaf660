"""The same swanctl folders loaded into a real charon: what it accepts, lists and refuses.

charon (strongSwan 5.9.8, /usr/lib/ipsec/charon) runs in its own mount and network
namespace (``unshare -m -n``: a private /run for its fixed pid file, only a loopback
interface, nothing it configures leaks out), with its vici socket in the test's
folder; ``SWANCTL_DIR=FOLDER swanctl --load-all`` loads a folder into it
(/work/shared/ORACLES.md). Without charon, swanctl, unshare or root the tests skip
with one line -- unless IPSECSIM_REQUIRE_ORACLES=1.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ipsecsim.core.errors import ConfigError
from ipsecsim.swanctl import charon_options, load_swanctl, read_settings
from ipsecsim.swanctl.load import read_credentials
from tests.helpers.oracles import need, need_root, need_tool

from .folders import (
    cert_folders,
    encrypted_key_folder,
    mixed_key_folders,
    psk_folders,
    tricky_folder,
    write,
)
from .test_testbed import listed

pytestmark = pytest.mark.oracle

CHARON = "/usr/lib/ipsec/charon"
SWANCTL = "/usr/sbin/swanctl"

STRONGSWAN_CONF = """# one private charon for tests/swanctl
charon {{
    load_modular = yes
    install_routes = no
    install_virtual_ip = no
    filelog {{
        charon {{
            path = {dir}/charon.log
            default = 1
            cfg = 2
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
        vici {{
            socket = unix://{dir}/charon.vici
        }}
    }}
}}
"""


class Charon:
    """A charon in private namespaces; :meth:`load` runs swanctl --load-all against it."""

    def __init__(self, workdir: Path) -> None:
        self.dir = workdir
        (workdir / "run").mkdir()
        conf = workdir / "strongswan.conf"
        conf.write_text(STRONGSWAN_CONF.format(dir=workdir))
        self.vici = workdir / "charon.vici"
        self.out = open(workdir / "charon.out", "w")  # noqa: SIM115 - closed in stop()
        script = f"mount --bind {workdir}/run /run && STRONGSWAN_CONF={conf} exec {CHARON}"
        self.proc = subprocess.Popen(["unshare", "-m", "-n", "--propagation", "private",
                                      "sh", "-c", script], stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"charon exited {self.proc.returncode}: "
                                   f"{(workdir / 'charon.out').read_text()[-2000:]}")
            if self.vici.exists() and self._answers():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("charon's vici socket did not appear in 15 s")

    def _answers(self) -> bool:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(self.vici))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def load(self, folder: Path) -> subprocess.CompletedProcess[str]:
        """``SWANCTL_DIR=folder swanctl --load-all --noprompt`` (replaces what was loaded)."""
        return subprocess.run([SWANCTL, "--load-all", "--noprompt", "--uri", f"unix://{self.vici}"],
                              capture_output=True, text=True, timeout=30,
                              env=dict(os.environ, SWANCTL_DIR=str(folder)))

    def conns(self) -> dict:
        """vici ``list-conns``, decoded, in CHARON_LISTED's shape (see test_testbed.py)."""
        import vici

        s = socket.socket(socket.AF_UNIX)
        s.connect(str(self.vici))
        try:
            raw = [c for entry in vici.Session(s).list_conns() for c in entry.items()]
        finally:
            s.close()

        def text(v: bytes | list) -> str | list:
            return [x.decode() for x in v] if isinstance(v, list) else v.decode()

        out = {}
        for name, c in raw:
            local, remote = c["local-1"], c["remote-1"]
            children = [(n, text(k["mode"]), int(k["rekey_time"]), text(k["local-ts"]),
                         text(k["remote-ts"])) for n, k in c["children"].items()]
            out[name] = (text(c["local_addrs"]), text(c["remote_addrs"]), int(c["rekey_time"]),
                         int(c["reauth_time"]), text(local.get("id", b"")),
                         text(remote.get("id", b"")), children)
        return out

    def stop(self) -> None:
        """SIGTERM by PID, then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.out.close()


@pytest.fixture(scope="module")
def charon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charon]:
    need_tool("charon", CHARON)
    need_tool("swanctl", SWANCTL)
    need_tool("unshare")
    need_root()
    try:
        import vici  # noqa: F401 -- the PyPI client of charon's control socket
    except ImportError:
        need(False, "the Python package vici is not installed (pip install -e .[dev])")
    c = Charon(tmp_path_factory.mktemp("charon"))
    yield c
    c.stop()


def _noise(line: str) -> bool:
    return "plugin" in line or line.startswith("opening directory")


def loaded_cleanly(proc: subprocess.CompletedProcess[str]) -> bool:
    errors = [x for x in proc.stderr.splitlines() if x.strip() and not _noise(x)]
    return proc.returncode == 0 and not errors and "failed" not in proc.stdout


def test_the_machines_own_files_parse():
    """Debian's /etc/strongswan.conf (includes of strongswan.d/, comments) and
    /etc/swanctl/swanctl.conf read without error."""
    need_tool("charon", CHARON)
    tree, _ = read_settings("/etc/strongswan.conf")
    assert tree.find("charon.plugins") is not None
    _, warnings = charon_options(tree)
    assert any(": charon.plugins: not modelled" in w for w in warnings)
    if os.path.exists("/etc/swanctl/swanctl.conf"):
        read_settings("/etc/swanctl/swanctl.conf")


@pytest.mark.parametrize("kind", ["psk", "cert", "rsa", "tricky"])
def test_charon_loads_our_folders_and_lists_what_we_read(charon, tmp_path, kind):
    folder = {"psk": lambda: psk_folders(tmp_path)["moon"],
              "cert": lambda: cert_folders(tmp_path)["moon"],
              "rsa": lambda: mixed_key_folders(tmp_path)["moon"],
              "tricky": lambda: tricky_folder(tmp_path)}[kind]()
    proc = charon.load(folder)
    assert loaded_cleanly(proc), proc.stdout + proc.stderr
    ours = listed(load_swanctl(str(folder)).config)
    theirs = charon.conns()
    if kind in ("cert", "rsa"):
        assert re.search(r"loaded (private|rsa) key from '.*/moonKey.pem'", proc.stdout)
    for name in theirs:  # charon says IKEv1/2 for version 0, we model IKEv2 only
        assert theirs[name] == ours[name]
    assert set(theirs) == set(ours)


def test_charon_opens_the_encrypted_key_we_open(charon, tmp_path):
    """The password of ``secrets.pkcs8-moon`` opens pkcs8/moonKey.der in both; a wrong one
    is refused by both (charon: "configured decryption secret ... invalid")."""
    folder = encrypted_key_folder(tmp_path)
    proc = charon.load(folder)
    assert re.search(r"loaded ECDSA key from '.*/pkcs8/moonKey.der'", proc.stdout), proc.stdout
    creds = read_credentials(str(folder), read_settings(str(folder / "swanctl.conf"))[0])
    key = next(iter(creds.keys.values()))
    assert key.encrypted and creds.key_for(creds.cert("x509", "moonCert.pem")) is key

    conf = folder / "swanctl.conf"
    conf.write_text(conf.read_text().replace("s3cret moon", "wrong"))
    proc = charon.load(folder)
    assert "configured decryption secret for 'moonKey.der' invalid" in proc.stderr
    with pytest.raises(ConfigError, match=r"moonKey.der: wrong password: the secret configured "
                                          r"at .*swanctl.conf:\d+ \(secrets.pkcs8-moon.secret\)"):
        load_swanctl(str(folder))


def test_both_refuse_an_unknown_key(charon, tmp_path):
    folder = write(tmp_path / "bad", {"swanctl.conf": "connections {\n gw {\n  mobik = no\n"
                                                      "  local { auth = psk }\n }\n}\n"})
    proc = charon.load(folder)
    assert "loading connection 'gw' failed: unknown option: mobik" in proc.stderr
    with pytest.raises(ConfigError, match=r"swanctl.conf:3: connections.gw.mobik: unknown key "
                                          r"\(did you mean 'mobike'\?\)"):
        load_swanctl(str(folder))


@pytest.mark.parametrize("text", [
    "a = 1\n}\n",
    "a {\n  local_ts 10.1.0.0/16\n}\n",
    "x = 1\ncharon.retransmit_tries = 3\n",
    '\n"quoted" = 1\n',
    "a {\n\n= 3\n}\n",
    "a {\n, = 1\n}\n",
    "a : {\n}\n",
    "a : b c {\n}\n",
])
def test_both_refuse_a_syntax_error_at_the_same_line(charon, tmp_path, text):
    folder = write(tmp_path / "bad", {"swanctl.conf": text})
    proc = charon.load(folder)
    theirs = re.search(r"swanctl\.conf:(\d+): ", proc.stderr)
    assert theirs is not None, proc.stderr
    with pytest.raises(ConfigError) as err:
        load_swanctl(str(folder))
    ours = re.match(r".*swanctl\.conf:(\d+): ", str(err.value))
    assert ours is not None and ours.group(1) == theirs.group(1), (str(err.value), proc.stderr)
