"""A self-signed serving certificate made when the emulator starts, so clients speak HTTPS to it.

kubectl sends a kubeconfig's bearer token only over HTTPS (over plain HTTP every call is anonymous), so
the emulator serves TLS with a fresh certificate per instance; the kubeconfig it writes carries that
certificate as `certificate-authority-data`. The certificate is its own CA (a self-signed leaf with
`CA:TRUE` and SANs for the listen address, `localhost` and `127.0.0.1`), which Go's and OpenSSL's
verifiers both accept as a trust anchor. An EC P-256 key keeps the start-up cost under a millisecond.
"""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class ServingCertificate:
    cert_pem: bytes
    key_pem: bytes


def _san(host: str) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    else:
        if str(address) != "127.0.0.1":
            names.append(x509.IPAddress(address))
    return x509.SubjectAlternativeName(names)


def make_certificate(host: str = "127.0.0.1") -> ServingCertificate:
    """A new key and a self-signed certificate for `host`, valid from a minute ago for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-emulator")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(host), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ServingCertificate(cert.public_bytes(serialization.Encoding.PEM), key_pem)


def server_context(certificate: ServingCertificate) -> ssl.SSLContext:
    """A TLS server context for the certificate (the key touches disk only for the time of loading)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # Go's HTTP client offers h2 via ALPN; answering http/1.1 keeps it on the protocol served here.
    context.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="kube-emulator-tls-") as directory:
        cert_file, key_file = Path(directory) / "tls.crt", Path(directory) / "tls.key"
        cert_file.write_bytes(certificate.cert_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(certificate.key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context
