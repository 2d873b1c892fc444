"""TLS of the main listener: the files and the switch that turns TLS off."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from openshell.config.document import ConfigDocument, key_label
from openshell.config.gateway_config import TlsFiles
from openshell.config.launch import CommandLine, describe, env_setting, flag_setting
from openshell.config.provenance import (
    DEFAULT_SOURCE,
    Setting,
    combine_sources,
    first_setting,
)
from openshell.config.schema import (
    DISABLE_TLS,
    GATEWAY_TABLE,
    TLS_CERT,
    TLS_CLIENT_CA,
    TLS_KEY,
    TLS_TABLE,
    LaunchOption,
)
from openshell.config.values import parse_bool, require_text
from openshell.errors import ConfigError

DISABLE_TLS_KEY = (*GATEWAY_TABLE, "disable_tls")
REQUIRED_TLS_KEYS = ("cert_path", "key_path")

_TLS_PARTS: dict[str, tuple[str, LaunchOption]] = {
    "cert_path": ("certificate", TLS_CERT),
    "key_path": ("key", TLS_KEY),
    "client_ca_path": ("client CA", TLS_CLIENT_CA),
}
"""TLS table key -> (what it names in messages, its flag and variable)."""


def merge_disable_tls(
    command_line: CommandLine,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
) -> Setting[bool]:
    """Merge the switch that serves plaintext; it is off by default."""
    variable = env_setting(environ, DISABLE_TLS)
    env_value = None
    if variable is not None:
        value = parse_bool(variable.value, describe(variable, ()))
        env_value = Setting(value, variable.source)
    file_value = document.setting(DISABLE_TLS_KEY) if document else None
    flag_value = flag_setting(command_line.disable_tls, DISABLE_TLS)
    merged = first_setting(flag_value, env_value, file_value)
    return merged or Setting(False, DEFAULT_SOURCE)


def merge_tls(
    command_line: CommandLine,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
    disable_tls: Setting[bool],
) -> tuple[Setting[TlsFiles | None], list[str]]:
    """Merge the TLS files key by key; return them and any warning.

    Raises ConfigError when a TLS table, certificate, key or client CA is set
    without both the certificate and the key. When TLS is disabled, the files
    are dropped with a warning.
    """
    parts = _merge_parts(command_line, environ, document)
    table = document.setting(TLS_TABLE) if document else None
    if not parts and table is None:
        return Setting(None, DEFAULT_SOURCE), []
    _check_complete(parts, document)

    client_ca = parts.get("client_ca_path")
    files = TlsFiles(
        cert_path=Path(parts["cert_path"].value),
        key_path=Path(parts["key_path"].value),
        client_ca_path=Path(client_ca.value) if client_ca else None,
    )
    source = combine_sources([(key, part.source) for key, part in parts.items()])
    if disable_tls.value:
        warning = (
            f"the TLS files ({source}) are ignored because TLS is disabled "
            f"({disable_tls.source})"
        )
        return Setting(None, disable_tls.source), [warning]
    return Setting(files, source), []


def _merge_parts(
    command_line: CommandLine,
    environ: Mapping[str, str],
    document: ConfigDocument | None,
) -> dict[str, Setting[str]]:
    flags = {
        "cert_path": command_line.tls_cert,
        "key_path": command_line.tls_key,
        "client_ca_path": command_line.tls_client_ca,
    }
    parts = {}
    for key, (description, option) in _TLS_PARTS.items():
        path = (*TLS_TABLE, key)
        part = first_setting(
            flag_setting(flags[key], option),
            env_setting(environ, option),
            document.setting(path) if document else None,
        )
        if part is not None:
            require_text(part.value, f"TLS {description} path", describe(part, path))
            parts[key] = part
    return parts


def _check_complete(
    parts: Mapping[str, Setting[str]], document: ConfigDocument | None
) -> None:
    missing = [key for key in REQUIRED_TLS_KEYS if key not in parts]
    if not missing:
        return
    set_parts = [
        f"the {_TLS_PARTS[key][0]} ({describe(part, (*TLS_TABLE, key))})"
        for key, part in parts.items()
    ]
    if not set_parts and document is not None:
        set_parts = [document.where(TLS_TABLE)]
    remedies = []
    for key in missing:
        description, option = _TLS_PARTS[key]
        options = f"{key_label((*TLS_TABLE, key))}, {option.flag} or {option.variable}"
        remedies.append(f"the {description} with {options}")
    verb = "is" if len(set_parts) == 1 else "are"
    raise ConfigError(
        f"incomplete TLS settings: {' and '.join(set_parts)} {verb} set, but TLS "
        f"needs both a certificate and a key; set {' and '.join(remedies)}"
    )
