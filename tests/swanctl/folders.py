"""moon and sun as swanctl folders, written by these tests (not strongSwan's files).

Modelled on strongSwan's standard test network (strongswan/strongswan
``testing/hosts/default/etc/hosts``: moon 192.168.0.1 with 10.1.0.0/16 behind it, sun
192.168.0.2 with 10.2.0.0/16) and its scenarios ``testing/tests/ikev2/net2net-psk``
and ``net2net-cert`` (one IKE_SA ``gw-gw``, one CHILD_SA ``net-net``, aes128-sha256-x25519
for IKE, aes128gcm128-x25519 for ESP, reauthentication every 3 h). The files are
written here in our own words; the certificates are minted per test run with
``cryptography`` (a "strongSwan Root CA" look-alike, not strongSwan's keys).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

HOSTS = {"moon.strongswan.org": "192.168.0.1", "sun.strongswan.org": "192.168.0.2",
         "carol.strongswan.org": "192.168.0.100"}
"""A few lines of the test network's /etc/hosts."""

GATEWAYS = {  # name: (address, protected subnet, peer)
    "moon": ("192.168.0.1", "10.1.0.0/16", "sun"),
    "sun": ("192.168.0.2", "10.2.0.0/16", "moon"),
}

PSK_B64 = "0sv+NkxY9LLZvwj4qCC2o/gGrWDF2d21jL"
"""A 24-byte key in swanctl's base64 notation (any 0s value serves)."""


def psk_conf(me: str, peer_by_name: bool = False) -> str:
    """swanctl.conf of a net-to-net gateway authenticating with a pre-shared key."""
    addr, net, peer = GATEWAYS[me]
    peer_addr, peer_net, _ = GATEWAYS[peer]
    remote = f"{peer}.strongswan.org" if peer_by_name else peer_addr
    return f"""# {me}: net-to-net with a pre-shared key (after strongSwan's ikev2/net2net-psk)
connections {{

   gw-gw {{
      local_addrs  = {addr}
      remote_addrs = {remote}

      local {{
         auth = psk
         id = {me}.strongswan.org
      }}
      remote {{
         auth = psk
         id = {peer}.strongswan.org
      }}
      children {{
         net-net {{
            local_ts  = {net}
            remote_ts = {peer_net}

            rekey_time = 5400
            rekey_bytes = 500000000
            rekey_packets = 1000000
            esp_proposals = aes128gcm128-x25519
         }}
      }}
      version = 2
      reauth_time = 10800
      proposals = aes128-sha256-x25519
   }}
}}

secrets {{
   ike-gw {{
      id-{me} = {me}.strongswan.org
      id-{peer} ={peer}.strongswan.org   # no blank after '=' is fine
      secret = {PSK_B64}
   }}
}}
"""


def cert_conf(me: str) -> str:
    """swanctl.conf of a net-to-net gateway authenticating with certificates."""
    addr, net, peer = GATEWAYS[me]
    peer_addr, peer_net, _ = GATEWAYS[peer]
    return f"""# {me}: net-to-net with X.509 certificates (after strongSwan's ikev2/net2net-cert)
connections {{
   gw-gw {{
      local_addrs  = {addr}
      remote_addrs = {peer_addr}
      local {{
         auth = pubkey
         certs = {me}Cert.pem
         id = {me}.strongswan.org
      }}
      remote {{
         auth = pubkey
         id = {peer}.strongswan.org
      }}
      children {{
         net-net {{
            local_ts  = {net}
            remote_ts = {peer_net}
            esp_proposals = aes128gcm128-x25519
         }}
      }}
      version = 2
      proposals = aes128-sha256-x25519
   }}
}}
"""


# --------------------------------------------------------------------------- certificates


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "strongSwan Project"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


@dataclass
class Ca:
    """A CA certificate and key, issuing gateway certificates."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @classmethod
    def new(cls, cn: str = "strongSwan Root CA") -> Ca:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                             False), critical=True)
                .sign(key, hashes.SHA256()))
        return cls(key, cert)

    def issue(self, fqdn: str, rsa_key: bool = False
              ) -> tuple[ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, x509.Certificate]:
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            rsa.generate_private_key(65537, 2048) if rsa_key else ec.generate_private_key(ec.SECP256R1()))
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(_name(fqdn)).issuer_name(self.cert.subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1))
                .not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(fqdn)]), critical=False)
                .sign(self.key, hashes.SHA256()))
        return key, cert


def pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def der_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def key_bytes(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, fmt: str = "pkcs8",
              password: bytes | None = None, der: bool = False) -> bytes:
    """A private key as PKCS#8 (``fmt="pkcs8"``) or traditional (PKCS#1 RSA / SEC1 EC)."""
    enc = (serialization.BestAvailableEncryption(password) if password
           else serialization.NoEncryption())
    form = (serialization.PrivateFormat.PKCS8 if fmt == "pkcs8"
            else serialization.PrivateFormat.TraditionalOpenSSL)
    return key.private_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM,
                             form, enc)


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``{relative path: text or bytes}`` under ``root``; returns ``root``."""
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            p.write_bytes(data)
        else:
            p.write_text(data)
    return root


def psk_folders(tmp: Path) -> dict[str, Path]:
    """``tmp/<gw>/etc/swanctl`` for moon and sun, net-to-net with a PSK."""
    return {gw: write(tmp / gw / "etc" / "swanctl", {"swanctl.conf": psk_conf(gw)})
            for gw in GATEWAYS}


def cert_folders(tmp: Path, ca: Ca | None = None) -> dict[str, Path]:
    """``tmp/<gw>/etc/swanctl`` for moon and sun with x509/, x509ca/ and private/."""
    ca = ca or Ca.new()
    out = {}
    for gw in GATEWAYS:
        key, cert = ca.issue(f"{gw}.strongswan.org")
        out[gw] = write(tmp / gw / "etc" / "swanctl", {
            "swanctl.conf": cert_conf(gw),
            f"x509/{gw}Cert.pem": pem_cert(cert),
            f"private/{gw}Key.pem": key_bytes(key),
            "x509ca/strongswanCert.pem": pem_cert(ca.cert),
        })
    return out


TRICKY = r"""# syntax corner cases; charon 5.9.8's list-conns for this folder is in test_testbed.py
gw-defaults {
   local_addrs = 192.168.0.1   # a template, inherited below
   version = 2
   rekey_time = 1h
   children { net { esp_proposals = aes128gcm16
                    mode = transport } }
}
connections {
   gw : gw-defaults {
      remote_addrs = 192.168.0.2 , 192.168.0.3,192.168.0.4
      rekey_time =
      local { auth = psk
              id = "moon \"the gateway\"" }
      remote { auth = psk
               id = "C=CH, O=strongSwan Project, CN=sun.strongswan.org" }
      children {
         net {
            local_ts  = 10.1.0.0/16, 10.3.0.0/24   # two selectors
            remote_ts = "10.2.0.0/16"
            mode = tunnel
         }
      }
   }
   include conf.d/*.conf
}
secrets {
   ike-1 { id-1 = "moon \"the gateway\""
           secret = 0sv+NkxY9LLZvwj4qCC2o/gGrWDF2d21jL }
}
"""

TRICKY_INCLUDED = r"""second { local_addrs = 192.168.0.1
   local { auth = psk }
   remote { auth = psk
            id = "back\\slash\q" }
   children { other { local_ts = dynamic } } }
"""


def tricky_folder(tmp: Path) -> Path:
    """A folder whose swanctl.conf uses templates, includes, quotes and escapes."""
    return write(tmp / "tricky", {"swanctl.conf": TRICKY, "conf.d/second.conf": TRICKY_INCLUDED})


def mixed_key_folders(tmp: Path) -> dict[str, Path]:
    """Like :func:`cert_folders`, but moon's RSA key in rsa/ (PKCS#1 PEM) and sun's
    ECDSA key in ecdsa/ (SEC1 PEM)."""
    ca = Ca.new()
    dirs = cert_folders(tmp, ca)
    for gw, folder, rsa_key in (("moon", "rsa", True), ("sun", "ecdsa", False)):
        key, cert = ca.issue(f"{gw}.strongswan.org", rsa_key=rsa_key)
        (dirs[gw] / "private" / f"{gw}Key.pem").unlink()
        write(dirs[gw], {f"x509/{gw}Cert.pem": pem_cert(cert),
                         f"{folder}/{gw}Key.pem": key_bytes(key, "traditional")})
    return dirs


def encrypted_key_folder(tmp: Path, password: str = "s3cret moon") -> Path:
    """moon's certificate folder with its key as encrypted PKCS#8 in pkcs8/ (DER) and the
    password in ``secrets { pkcs8-moon { ... } }``."""
    ca = Ca.new()
    m = cert_folders(tmp, ca)["moon"]
    key, cert = ca.issue("moon.strongswan.org")
    (m / "private" / "moonKey.pem").unlink()
    write(m, {"x509/moonCert.pem": pem_cert(cert),
              "pkcs8/moonKey.der": key_bytes(key, password=password.encode(), der=True)})
    conf = m / "swanctl.conf"
    conf.write_text(conf.read_text() + "secrets {\n   pkcs8-moon {\n      file = moonKey.der\n"
                    f'      secret = "{password}"\n   }}\n}}\n')
    return m
