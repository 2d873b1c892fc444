"""Limits, intervals, reasons and messages of the gateway core, in one place.

The values follow upstream OpenShell (NVIDIA/OpenShell, main branch, late
August 2026), because upstream clients and drivers depend on them. Request
limits and error texts reach clients, and drivers and users read the
condition reasons.
"""

from __future__ import annotations

from typing import Final

# Workspaces. Only the default workspace exists in this gateway.
DEFAULT_WORKSPACE: Final = "default"

# CreateSandbox request limits (bytes unless the name says otherwise).
MAX_SANDBOX_NAME_LEN: Final = 19
MAX_PROVIDERS: Final = 32
MAX_LOG_LEVEL_LEN: Final = 32
MAX_ENVIRONMENT_ENTRIES: Final = 128
MAX_MAP_KEY_LEN: Final = 256
MAX_MAP_VALUE_LEN: Final = 8192
MAX_TEMPLATE_STRING_LEN: Final = 1024
MAX_TEMPLATE_MAP_ENTRIES: Final = 128
MAX_ANNOTATION_ENTRIES: Final = 128
# NOTE: upstream sets no limit on selector labels. This gateway caps them like
# annotations, because a few huge label maps made every ListSandboxes response
# larger than a client's default 4 MiB message limit.
MAX_LABEL_ENTRIES: Final = 128
MAX_TEMPLATE_STRUCT_SIZE: Final = 65_536
MAX_POLICY_SIZE: Final = 262_144
MAX_COMMAND_ARGS: Final = 256
MAX_COMMAND_ARG_LEN: Final = 32 * 1024
MAX_COMMAND_TOTAL_SIZE: Final = 256 * 1024
MAX_ENVIRONMENT_TOTAL_SIZE: Final = 256 * 1024
"""Bytes of keys plus values in one map; upstream drivers pass it as one variable."""

# Kubernetes label syntax.
MAX_LABEL_KEY_LEN: Final = 253
MAX_LABEL_NAME_LEN: Final = 63
MAX_LABEL_PREFIX_LEN: Final = 253
MAX_LABEL_VALUE_LEN: Final = 63
MAX_LABEL_SELECTOR_PAIRS: Final = 64

# SandboxSpec field 7 (upstream's policy), which this gateway leaves undeclared.
POLICY_FIELD_NUMBER: Final = 7

# ListSandboxes paging.
DEFAULT_PAGE_SIZE: Final = 100
MAX_PAGE_SIZE: Final = 1000

# Watch and reconcile loops, start-up and shutdown sweeps (seconds).
WATCH_RETRY_INITIAL_DELAY: Final = 2.0
"""Upstream waits 2 s before re-subscribing after a watch stream ends."""
WATCH_RETRY_MAX_DELAY: Final = 30.0
"""Cap of the doubled retry delay while streams keep failing without events."""
RECONCILE_INTERVAL: Final = 60.0
ORPHAN_GRACE_PERIOD: Final = 300.0
"""A row absent from ListSandboxes is pruned only once it is this old."""
RECONCILE_PRUNE_BATCH: Final = 500
SHUTDOWN_STOP_CONCURRENCY: Final = 16
OPERATION_DRAIN_TIMEOUT: Final = 30.0
"""How long shutdown waits for in-flight Stop, Start and Delete calls."""

# Per-sandbox platform events kept for WatchSandbox replay.
PLATFORM_EVENT_HISTORY: Final = 50
WATCH_SUBSCRIBER_CAPACITY: Final = 1024
"""Notices queued per WatchSandbox stream before it is ended as lagging."""

# Store writes.
MAX_WRITE_ATTEMPTS: Final = 8
"""Compare-and-swap retries before a write gives up as a conflict."""

# Condition the gateway writes into SandboxStatus.
READY_CONDITION: Final = "Ready"
CONDITION_FALSE: Final = "False"
REASON_STOPPING: Final = "Stopping"
MESSAGE_STOPPING: Final = "Sandbox stop requested"
REASON_STOPPED: Final = "Stopped"
MESSAGE_STOPPED: Final = "Sandbox compute is stopped"
REASON_STARTING: Final = "Starting"
MESSAGE_STARTING: Final = "Sandbox start requested"
REASON_BACKEND_RESOURCE_MISSING: Final = "BackendResourceMissing"
MESSAGE_BACKEND_RESOURCE_MISSING: Final = (
    "Sandbox compute resource disappeared while the gateway was offline"
)
REASON_START_FAILED: Final = "StartFailed"
MESSAGE_START_FAILED: Final = "Failed to start sandbox during gateway startup: {error}"
REASON_COMPUTE_RESOURCE_MISSING: Final = "ComputeResourceMissing"
# NOTE: the upstream text of this message is not known; this one is ours.
MESSAGE_COMPUTE_RESOURCE_MISSING: Final = (
    "Sandbox compute resource is missing from the backend"
)

# Condition values that drivers report and the gateway interprets.
SUSPENDED_CONDITION: Final = "suspended"
"""Condition type, compared in lower case."""
STOP_IN_PROGRESS_REASONS: Final = frozenset({"podterminating", "podnotterminated"})
STOP_CONFIRMED_REASONS: Final = frozenset({"containerexited", "containerstopped"})
TRANSIENT_READY_REASONS: Final = frozenset(
    {
        "reconcilererror",
        "dependenciesnotready",
        "supervisornotconnected",
        "starting",
        "containerstarting",
        "containercreated",
        "healthcheckstarting",
        "inspectfailed",
    }
)
"""Reasons of a `Ready` = `False` condition that mean "not ready yet"."""
REASON_UNSCHEDULABLE: Final = "Unschedulable"
# NOTE: upstream replaces the message with a GPU placement hint whose exact
# text is not known here; this wording is ours.
MESSAGE_GPU_UNSCHEDULABLE: Final = (
    "No node can run this GPU sandbox: check that a node has a free GPU of the "
    "requested count, or create the sandbox without a GPU request"
)
