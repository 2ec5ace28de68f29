"""Certificates: a self-signed one for HTTPS, and a DTLS identity for FFmpeg publishers.

Browsers allow camera and microphone only in a secure context: localhost, or HTTPS. On a
LAN address the guest page must be served over HTTPS, so a self-signed certificate is
made once (the guest accepts it once) and reused on later runs.

`ensure_dtls_identity` makes a P-256 certificate and key for FFmpeg's WHIP muxer
(`cert_file`/`key_file`): FFmpeg builds on GnuTLS otherwise use a P-224 key for DTLS, which
the OpenSSL under aiortc no longer accepts (see session.FFMPEG_DTLS_HINT).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_NAME = "guestrec-cert.pem"
KEY_NAME = "guestrec-key.pem"
VALID_DAYS = 825  # the longest validity Apple platforms accept for a server certificate
RENEW_BEFORE = datetime.timedelta(days=7)


def _san(hostnames: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for host in hostnames:
        host = (host or "").strip().strip("[]")
        if not host or host in seen or host in ("0.0.0.0", "::"):
            continue
        seen.add(host)
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names or [x509.DNSName("localhost")]


def _covers(cert: x509.Certificate, hostnames: list[str]) -> bool:
    """Whether a certificate is still valid for a while and names every host."""
    now = datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc - RENEW_BEFORE < now or cert.not_valid_before_utc > now:
        return False
    try:
        present = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return False
    return all(name in present for name in _san(hostnames))


def _write_private(path: Path, data: bytes) -> None:
    """Write a key file readable by its owner only, replacing any old one atomically."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)


def _make(hostnames: list[str], common_name: str, server: bool) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(_san(hostnames)), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_self_signed(dir: Path, hostnames: list[str]) -> tuple[Path, Path]:
    """(cert, key) PEM paths in `dir`; made on first use, remade when expiring or when
    a host name is missing from it."""
    folder = Path(dir)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    if cert_path.exists() and key_path.exists():
        try:
            if _covers(x509.load_pem_x509_certificate(cert_path.read_bytes()), hostnames):
                return cert_path, key_path
        except ValueError:
            pass  # unreadable: make a new one
    cert_pem, key_pem = _make(hostnames, "Guest Recorder", server=True)
    _write_private(key_path, key_pem)
    cert_path.write_bytes(cert_pem)
    return cert_path, key_path


def ensure_dtls_identity(dir: Path) -> tuple[Path, Path]:
    """(cert, key) PEM paths of a P-256 DTLS identity for FFmpeg's WHIP muxer."""
    folder = Path(dir)
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "dtls-cert.pem", folder / "dtls-key.pem"
    if not (cert_path.exists() and key_path.exists()):
        cert_pem, key_pem = _make([], "whip-publisher", server=False)
        _write_private(key_path, key_pem)
        cert_path.write_bytes(cert_pem)
    return cert_path, key_path


def ssl_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server-side TLS context for aiohttp from PEM files."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context
