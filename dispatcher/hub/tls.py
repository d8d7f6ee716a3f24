"""TLS for the hub: the server context from the hall's certificate and key
(docs/security.md#certificates-tls), and whether a plain listener is on the network."""

from __future__ import annotations

import ssl


class TLSConfigError(ValueError):
    """A certificate or key the hub cannot use; the message is one line for the operator."""


class _EncryptedKey(Exception):
    pass


def _ask_password() -> bytes:
    raise _EncryptedKey


def _readable(flag: str, path: str) -> None:
    try:
        with open(path, "rb") as file:
            file.read(1)
    except OSError as exc:
        raise TLSConfigError(f"{flag} {path}: cannot read it: {exc.strerror or exc}") from None


def _is_certificate(path: str) -> bool:
    try:
        ssl.create_default_context(cafile=path)
    except ssl.SSLError:
        return False
    return True


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """A TLS 1.2+ server context with the hub's certificate (chain) and unencrypted key."""
    _readable("--tls-cert", cert)
    _readable("--tls-key", key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key, password=_ask_password)
    except _EncryptedKey:
        raise TLSConfigError(f"--tls-key {key}: the key is encrypted with a passphrase; the "
                             "hub starts unattended, so give it an unencrypted key "
                             "(openssl pkey -in KEY -out hub.key) readable only by its "
                             "user") from None
    except ssl.SSLError as exc:
        raise TLSConfigError(_why(cert, key, exc)) from None
    return context


def _why(cert: str, key: str, exc: ssl.SSLError) -> str:
    if exc.reason == "KEY_VALUES_MISMATCH":
        return f"--tls-key {key} does not belong to --tls-cert {cert} (key values mismatch)"
    if not _is_certificate(cert):
        return f"--tls-cert {cert}: no PEM certificate in it"
    return f"--tls-key {key}: no PEM private key in it"
