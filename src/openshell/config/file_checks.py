"""Structure checks of gateway.toml: version, known keys, types, upstream keys.

Keys that upstream OpenShell accepts and this gateway does not implement are
not unknown keys. Client authentication settings are errors, because they would
make the operator believe the API is protected. Every other such key loads
with one warning that names it.
"""

from __future__ import annotations

from collections.abc import Mapping

from openshell.config.document import ConfigDocument
from openshell.config.key_errors import has_type, type_error, unknown_key_error
from openshell.config.schema import (
    AUTH_TABLE_KEYS,
    CONFIG_VERSION,
    GATEWAY_KEYS,
    GATEWAY_TABLE,
    IGNORED_GATEWAY_KEYS,
    IGNORED_OPENSHELL_KEYS,
    MTLS_AUTH_TABLE_KEYS,
    OPENSHELL_KEYS,
    OPENSHELL_TABLE,
    ROOT,
    SECRET_GATEWAY_KEYS,
    TLS_KEYS,
    TLS_TABLE,
    UNSUPPORTED_AUTH_TABLES,
    ValueType,
)
from openshell.config.toml_lines import KeyPath
from openshell.errors import ConfigError

_AUTH_TABLE = (*GATEWAY_TABLE, "auth")
_MTLS_AUTH_TABLE = (*GATEWAY_TABLE, "mtls_auth")
_VERSION = (*OPENSHELL_TABLE, "version")


def check_document(document: ConfigDocument) -> list[str]:
    """Raise ConfigError for a key the file must not contain; return the warnings."""
    _check_root(document)
    _check_version(document)
    warnings = _check_openshell(document)
    if document.get(GATEWAY_TABLE) is not None:
        warnings += _check_gateway(document)
    return warnings


def ignored_key_warning(where: str, reason: str | None) -> str:
    """Word the warning for an upstream key that this gateway does not use."""
    message = f"{where} has no effect in this gateway and is ignored"
    return f"{message}: {reason}" if reason else message


def _check_root(document: ConfigDocument) -> None:
    for key in document.values:
        if key != ROOT:
            raise unknown_key_error(document.where((key,)), key, [ROOT])
    _check_type(document, OPENSHELL_TABLE, "table")


def _check_version(document: ConfigDocument) -> None:
    version = document.get(_VERSION)
    if version is None:
        return
    _check_type(document, _VERSION, "integer")
    if version > CONFIG_VERSION or version < 0:
        raise ConfigError(
            f"unsupported config version {version} in {document.source(_VERSION)}: "
            f"this build supports version {CONFIG_VERSION}; upgrade "
            f"openshell-gateway or write the file for version {CONFIG_VERSION}"
        )


def _check_openshell(document: ConfigDocument) -> list[str]:
    warnings = []
    for key in document.get(OPENSHELL_TABLE) or {}:
        path = (*OPENSHELL_TABLE, key)
        if key in OPENSHELL_KEYS:
            _check_type(document, path, OPENSHELL_KEYS[key])
        elif key in IGNORED_OPENSHELL_KEYS:
            reason = IGNORED_OPENSHELL_KEYS[key]
            warnings.append(ignored_key_warning(document.where(path), reason))
        else:
            accepted = [*OPENSHELL_KEYS, *IGNORED_OPENSHELL_KEYS]
            raise unknown_key_error(document.where(path), key, accepted)
    return warnings


def _check_gateway(document: ConfigDocument) -> list[str]:
    warnings = []
    for key in document.get(GATEWAY_TABLE) or {}:
        path = (*GATEWAY_TABLE, key)
        if key in SECRET_GATEWAY_KEYS:
            raise _secret_in_file_error(document, path)
        if key in UNSUPPORTED_AUTH_TABLES:
            raise _unsupported_auth_error(document, path)
        if key in IGNORED_GATEWAY_KEYS:
            reason = IGNORED_GATEWAY_KEYS[key]
            warnings.append(ignored_key_warning(document.where(path), reason))
        elif key in GATEWAY_KEYS:
            _check_type(document, path, GATEWAY_KEYS[key])
        elif key == "auth":
            _check_auth(document)
        elif key == "mtls_auth":
            _check_mtls_auth(document)
        else:
            raise unknown_key_error(document.where(path), key, _gateway_key_names())
    if document.get(TLS_TABLE) is not None:
        _check_table(document, TLS_TABLE, TLS_KEYS)
    return warnings


def _gateway_key_names() -> list[str]:
    return [
        *GATEWAY_KEYS,
        *IGNORED_GATEWAY_KEYS,
        *SECRET_GATEWAY_KEYS,
        *UNSUPPORTED_AUTH_TABLES,
        "auth",
        "mtls_auth",
    ]


def _secret_in_file_error(document: ConfigDocument, path: KeyPath) -> ConfigError:
    variable, flag = SECRET_GATEWAY_KEYS[str(path[-1])]
    return ConfigError(
        f"{document.where(path)} is not allowed in the config file because the "
        f"database URL is a secret: set {variable} or pass {flag}"
    )


def _unsupported_auth_error(document: ConfigDocument, path: KeyPath) -> ConfigError:
    feature = UNSUPPORTED_AUTH_TABLES[str(path[-1])]
    return ConfigError(
        f"{feature} is not supported yet: this gateway would not check callers "
        f"configured by {document.where(path)}, so the API would be unprotected; "
        "remove the table"
    )


def _check_auth(document: ConfigDocument) -> None:
    """Accept `allow_unauthenticated_users = true`, which is what this gateway does.

    `false` requests user authentication, which this gateway cannot perform,
    so it is an error rather than a setting that silently has no effect. An
    empty table is accepted.
    """
    _check_table(document, _AUTH_TABLE, AUTH_TABLE_KEYS)
    path = (*_AUTH_TABLE, "allow_unauthenticated_users")
    if document.get(path) is False:
        raise ConfigError(
            f"{document.where(path)} is false, but this gateway cannot "
            "authenticate users yet and would accept every caller: set it to "
            "true or remove it"
        )


def _check_mtls_auth(document: ConfigDocument) -> None:
    _check_table(document, _MTLS_AUTH_TABLE, MTLS_AUTH_TABLE_KEYS)
    path = (*_MTLS_AUTH_TABLE, "enabled")
    if document.get(path) is True:
        raise ConfigError(
            f"mTLS user authentication is not supported yet: {document.where(path)} "
            "is true, but this gateway would not map client certificates to "
            "users, so the API would be unprotected; set it to false or remove "
            "the table"
        )


def _check_table(
    document: ConfigDocument, table: KeyPath, schema: Mapping[str, ValueType]
) -> None:
    _check_type(document, table, "table")
    for key in document.get(table) or {}:
        path = (*table, key)
        if key not in schema:
            raise unknown_key_error(document.where(path), key, schema)
        _check_type(document, path, schema[key])


def _check_type(document: ConfigDocument, path: KeyPath, expected: ValueType) -> None:
    value = document.get(path)
    if value is not None and not has_type(value, expected):
        raise type_error(document.where(path), value, expected)
