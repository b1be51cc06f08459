"""Throw-away PKI and a mosquitto with TLS listeners on port 8883 (what Gizwits' brokers use).

Each TLS listener binds 8883 on its own random 127.x.y.z address, so parallel runs and the
machine's own services never collide; the broker's plain listener (127.0.0.1:<free port>)
stays for the start/reload probes and for test clients.
"""

from __future__ import annotations

from dataclasses import dataclass
import datetime
import ipaddress
from pathlib import Path
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator.broker import MosquittoBroker

TLS_PORT = 8883


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its key, as PEM."""

    cert: bytes
    key: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class CertificateAuthority:
    """A CA generated for one test."""

    def __init__(self, common_name: str) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.name = _name(common_name)
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False
            )
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )

    @property
    def pem(self) -> bytes:
        """The CA certificate (what a client trusts)."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue_server(self, ip: str) -> Issued:
        """A server certificate for the IP address `ip`."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(ip))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))]),
                critical=False,
            )
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            # Python's default context verifies strictly (X509_STRICT): the key ids must be there.
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        return Issued(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def random_loopback() -> str:
    """A random 127.x.y.z address (not 127.0.0.1)."""
    x, y, z = secrets.randbelow(200) + 20, secrets.randbelow(250) + 1, secrets.randbelow(250) + 2
    return f"127.{x}.{y}.{z}"


@dataclass(frozen=True, slots=True)
class TlsListener:
    """A TLS listener on `host`:8883 presenting `issued`."""

    host: str
    issued: Issued


class TlsMosquitto(MosquittoBroker):
    """MosquittoBroker plus TLS listeners on port 8883 (same users and ACLs)."""

    def __init__(self, ca: CertificateAuthority, listeners: list[TlsListener]) -> None:
        super().__init__()
        self._ca = ca
        self.tls_listeners = listeners

    def _write_files(self, port: int) -> str:
        token = super()._write_files(port)
        directory = self.directory
        (directory / "ca.pem").write_bytes(self._ca.pem)
        lines = []
        for index, listener in enumerate(self.tls_listeners):
            cert, key = directory / f"server{index}.pem", directory / f"server{index}.key"
            cert.write_bytes(listener.issued.cert)
            key.write_bytes(listener.issued.key)
            lines += [
                f"listener {TLS_PORT} {listener.host}",
                f"cafile {directory / 'ca.pem'}",
                f"certfile {cert}",
                f"keyfile {key}",
            ]
        conf = Path(directory / "mosquitto.conf")
        conf.write_text(conf.read_text() + "\n".join(lines) + "\n")
        return token
