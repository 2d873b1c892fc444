"""Container names and labels, the same as the upstream Docker driver uses.

Upstream gateways and this driver can therefore find each other's containers
on one engine, as long as they use the same sandbox namespace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MANAGED_BY_LABEL = "openshell.ai/managed-by"
MANAGED_BY_VALUE = "openshell"
SANDBOX_ID_LABEL = "openshell.ai/sandbox-id"
SANDBOX_NAME_LABEL = "openshell.ai/sandbox-name"
SANDBOX_WORKSPACE_LABEL = "openshell.ai/sandbox-workspace"
SANDBOX_NAMESPACE_LABEL = "openshell.ai/sandbox-namespace"

CONTAINER_NAME_PREFIX = "openshell-"
MAX_CONTAINER_NAME_LENGTH = 200
"""Upstream's cap; Docker itself allows longer names."""

_OUTSIDE_NAME_CHARACTERS = re.compile(r"[^a-z0-9_.-]")
_NAME_TAIL_CHARACTERS = "-._"


def sanitize_name_part(value: str) -> str:
    """Lower-case a part, replace characters outside [a-z0-9_.-] and trim '-'."""
    return _OUTSIDE_NAME_CHARACTERS.sub("-", value.lower()).strip("-")


def container_name(workspace: str, name: str, sandbox_id: str) -> str:
    """Return `openshell-<workspace>--<name>-<id>`, at most 200 characters.

    Only the name part is shortened, so the ID that makes the name unique is
    kept. Docker rejects names that end in '-', '.' or '_', so a shortened
    part loses them too.
    """
    workspace_part = sanitize_name_part(workspace)
    name_part = sanitize_name_part(name)
    id_part = sanitize_name_part(sandbox_id)

    prefix = CONTAINER_NAME_PREFIX
    if workspace_part:
        prefix += f"{workspace_part}--"
    if not name_part:
        return _fit(f"{prefix}{id_part}")

    budget = MAX_CONTAINER_NAME_LENGTH - len(prefix) - len(id_part) - 1
    if budget <= 0:
        return _fit(f"{prefix}{id_part}")
    if len(name_part) > budget:
        name_part = name_part[:budget].rstrip(_NAME_TAIL_CHARACTERS)
    return f"{prefix}{name_part}-{id_part}".rstrip(_NAME_TAIL_CHARACTERS)


def _fit(name: str) -> str:
    return name[:MAX_CONTAINER_NAME_LENGTH].rstrip(_NAME_TAIL_CHARACTERS)


def sandbox_labels(
    template_labels: Mapping[str, str],
    *,
    sandbox_id: str,
    sandbox_name: str,
    workspace: str,
    namespace: str,
) -> dict[str, str]:
    """Return the template's labels overwritten by the labels this driver owns."""
    labels = dict(template_labels)
    labels[MANAGED_BY_LABEL] = MANAGED_BY_VALUE
    labels[SANDBOX_ID_LABEL] = sandbox_id
    labels[SANDBOX_NAME_LABEL] = sandbox_name
    labels[SANDBOX_WORKSPACE_LABEL] = workspace
    labels[SANDBOX_NAMESPACE_LABEL] = namespace
    return labels


def label_filter(
    namespace: str, *, sandbox_id: str = "", sandbox_name: str = ""
) -> list[str]:
    """Return Docker `label` filter values: managed, in `namespace`, and matching.

    The engine combines several label filters with AND; an empty ID or name
    is left out, so it matches any value.
    """
    values = [
        f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}",
        f"{SANDBOX_NAMESPACE_LABEL}={namespace}",
    ]
    if sandbox_id:
        values.append(f"{SANDBOX_ID_LABEL}={sandbox_id}")
    if sandbox_name:
        values.append(f"{SANDBOX_NAME_LABEL}={sandbox_name}")
    return values
