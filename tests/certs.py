"""Throwaway certificates for the TLS tests: a hall CA and the hub's certificate for
127.0.0.1 and localhost, made with ``cryptography`` into a test's folder."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HUB_NAMES = ("localhost",)
HUB_ADDRESSES = ("127.0.0.1",)


@dataclass(frozen=True)
class Certs:
    ca: Path      # the hall CA's certificate: what each device trusts (--ca)
    cert: Path    # the hub's certificate, signed by the CA (--tls-cert)
    key: Path     # the hub's private key (--tls-key)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "OneWindow test hall"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _builder(subject: str, issuer: str, public: ec.EllipticCurvePublicKey,
             days: int) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days)))


def make_certs(folder: Path, label: str = "hall") -> Certs:
    """A CA and a hub certificate it signed (SAN: localhost, 127.0.0.1), as PEM files."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = f"{label} CA"
    ca = (_builder(ca_name, ca_name, ca_key.public_key(), 3650)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
                         critical=False)
          .sign(ca_key, hashes.SHA256()))
    hub_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in HUB_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in HUB_ADDRESSES]
    hub = (_builder("onewindow hub", ca_name, hub_key.public_key(), 825)
           .add_extension(x509.SubjectAlternativeName(names), critical=False)
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                          critical=False)
           .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
               ca_key.public_key()), critical=False)
           .sign(ca_key, hashes.SHA256()))
    certs = Certs(folder / f"{label}-ca.pem", folder / f"{label}-hub.pem",
                  folder / f"{label}-hub.key")
    certs.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    certs.cert.write_bytes(hub.public_bytes(serialization.Encoding.PEM))
    certs.key.write_bytes(_pem(hub_key))
    return certs


def encrypted_copy(key: Path, out: Path, password: bytes = b"secret") -> Path:
    """The key ``key`` again, encrypted with a passphrase (which the hub cannot ask for)."""
    loaded = serialization.load_pem_private_key(key.read_bytes(), None)
    out.write_bytes(loaded.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.BestAvailableEncryption(password)))
    return out
