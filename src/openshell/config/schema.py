"""Facts about gateway.toml, the flags and the variables: keys, types, defaults.

Every key list, default and launch option name used by the loader lives here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CONFIG_VERSION = 1
"""Highest `[openshell].version` this build reads."""

DEFAULT_BIND_IP = "127.0.0.1"
DEFAULT_PORT = 17670
DEFAULT_LOG_LEVEL = "info"
MIN_PORT = 1
MAX_PORT = 65535

LOG_LEVELS = ("trace", "debug", "info", "warning", "error", "critical")
LOG_LEVEL_ALIASES = {"warn": "warning"}
"""Other spellings accepted for a level, compared in lower case."""

ValueType = Literal["integer", "string", "boolean", "string list", "table"]

ROOT = "openshell"
OPENSHELL_TABLE = (ROOT,)
GATEWAY_TABLE = (ROOT, "gateway")
TLS_TABLE = (*GATEWAY_TABLE, "tls")
DRIVERS_TABLE = (ROOT, "drivers")

OPENSHELL_KEYS: dict[str, ValueType] = {
    "version": "integer",
    "gateway": "table",
    "drivers": "table",
}

GATEWAY_KEYS: dict[str, ValueType] = {
    "bind_address": "string",
    "health_bind_address": "string",
    "metrics_bind_address": "string",
    "log_level": "string",
    "compute_drivers": "string list",
    "default_image": "string",
    "sandbox_namespace": "string",
    "disable_tls": "boolean",
    "tls": "table",
}

TLS_KEYS: dict[str, ValueType] = {
    "cert_path": "string",
    "key_path": "string",
    "client_ca_path": "string",
}

AUTH_TABLE_KEYS: dict[str, ValueType] = {"allow_unauthenticated_users": "boolean"}
MTLS_AUTH_TABLE_KEYS: dict[str, ValueType] = {"enabled": "boolean"}
"""Upstream `[openshell.gateway.auth]` and `[openshell.gateway.mtls_auth]` keys.

Both tables describe client authentication, which this gateway does not
enforce; the loader accepts only the values that match what it does.
"""

SECRET_GATEWAY_KEYS = {"database_url": ("OPENSHELL_DB_URL", "--db-url")}
"""Keys upstream rejects in the file because their value is a secret."""

UNSUPPORTED_AUTH_TABLES = {"oidc": "OIDC authentication"}
"""Upstream tables that turn on client authentication this gateway lacks."""

IGNORED_OPENSHELL_KEYS: dict[str, str | None] = {
    "supervisor": "there is no in-sandbox supervisor",
    "credential_drivers": "credential drivers are not implemented",
}
"""Upstream `[openshell]` keys accepted with a warning, with the reason if any."""

IGNORED_GATEWAY_KEYS: dict[str, str | None] = {
    "gateway_jwt": (
        "sandbox identity tokens are unused without an in-sandbox supervisor"
    ),
    "ssh_session_ttl_secs": None,
    "grpc_rate_limit_requests": None,
    "grpc_rate_limit_window_seconds": None,
    "policy_validation_failure_mode": None,
    "server_sans": None,
    "enable_loopback_service_http": None,
    "supervisor_image": "there is no in-sandbox supervisor",
    "client_tls_secret_name": None,
    "service_account_name": None,
    "host_gateway_ip": None,
    "enable_user_namespaces": None,
    "sa_token_ttl_secs": None,
    "guest_tls_ca": None,
    "guest_tls_cert": None,
    "guest_tls_key": None,
    "credential_drivers": "credential drivers are not implemented",
    "default_credential_driver": "credential drivers are not implemented",
    "credential_storage": "credential drivers are not implemented",
    "otlp": "trace export is not implemented",
    "interceptors": None,
    "provider_profile_sources": None,
}
"""Upstream `[openshell.gateway]` keys accepted with a warning, with the reason."""

INHERITED_KEYS: dict[str, dict[str, str]] = {
    "kubernetes": {"namespace": "sandbox_namespace", "default_image": "default_image"},
    "docker": {
        "sandbox_namespace": "sandbox_namespace",
        "default_image": "default_image",
    },
    "podman": {"default_image": "default_image"},
    "vm": {"default_image": "default_image"},
}
"""Reserved driver -> {table key: `[openshell.gateway]` key it inherits from}."""

REMOTE_SOCKET_KEY = "socket_path"
"""Key of a non-reserved driver's table that names its driver socket."""


@dataclass(frozen=True)
class LaunchOption:
    """A setting's command-line flag and environment variable."""

    flag: str
    variable: str


CONFIG_PATH = LaunchOption("--config", "OPENSHELL_GATEWAY_CONFIG")
BIND_ADDRESS = LaunchOption("--bind-address", "OPENSHELL_BIND_ADDRESS")
PORT = LaunchOption("--port", "OPENSHELL_SERVER_PORT")
HEALTH_PORT = LaunchOption("--health-port", "OPENSHELL_HEALTH_PORT")
METRICS_PORT = LaunchOption("--metrics-port", "OPENSHELL_METRICS_PORT")
LOG_LEVEL = LaunchOption("--log-level", "OPENSHELL_LOG_LEVEL")
DRIVERS = LaunchOption("--drivers", "OPENSHELL_DRIVERS")
DATABASE_URL = LaunchOption("--db-url", "OPENSHELL_DB_URL")
COMPUTE_DRIVER_SOCKET = LaunchOption(
    "--compute-driver-socket", "OPENSHELL_COMPUTE_DRIVER_SOCKET"
)
DISABLE_TLS = LaunchOption("--disable-tls", "OPENSHELL_DISABLE_TLS")
TLS_CERT = LaunchOption("--tls-cert", "OPENSHELL_TLS_CERT")
TLS_KEY = LaunchOption("--tls-key", "OPENSHELL_TLS_KEY")
TLS_CLIENT_CA = LaunchOption("--tls-client-ca", "OPENSHELL_TLS_CLIENT_CA")

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
"""Values a boolean variable accepts, compared in lower case."""
