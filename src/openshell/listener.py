"""The public API listener: address, TLS credentials and the plaintext rule."""

from __future__ import annotations

import ipaddress

import grpc

from openshell.config import GatewayConfig
from openshell.errors import ConfigError


def listener_address(config: GatewayConfig) -> str:
    """Return the gRPC bind address, with brackets around an IPv6 host."""
    ip, port = config.bind_address.value
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def server_credentials(config: GatewayConfig) -> grpc.ServerCredentials | None:
    """Return TLS credentials, or None to serve plaintext.

    Plaintext is the default only on a loopback address: elsewhere it needs
    an explicit `disable_tls`, so an API without authentication is never
    exposed by accident.
    """
    tls = config.tls.value
    if tls is None:
        ip, _ = config.bind_address.value
        if not ipaddress.ip_address(ip).is_loopback and not config.disable_tls.value:
            raise ConfigError(
                f"plaintext is not allowed on {listener_address(config)} "
                f"({config.bind_address.source}) because it is not a loopback address: "
                "configure [openshell.gateway.tls] cert_path and key_path, or set "
                "disable_tls = true (or --disable-tls) to accept plaintext"
            )
        return None
    try:
        certificate = tls.cert_path.read_bytes()
        key = tls.key_path.read_bytes()
        client_ca = tls.client_ca_path.read_bytes() if tls.client_ca_path else None
    except OSError as error:
        raise ConfigError(
            f"cannot read TLS file {error.filename} ({config.tls.source}): "
            f"{error.strerror}"
        ) from None
    for label, path, data in (
        ("certificate", tls.cert_path, certificate),
        ("private key", tls.key_path, key),
    ):
        # grpcio only reports a bad file as a failed bind, so check the form here.
        if b"-----BEGIN " not in data:
            raise ConfigError(
                f"TLS {label} {path} ({config.tls.source}) is not a PEM file: give "
                "a PEM-encoded file (it starts with '-----BEGIN ')"
            )
    return grpc.ssl_server_credentials(
        [(key, certificate)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )
