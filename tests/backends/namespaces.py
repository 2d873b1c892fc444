"""Run a daemon in private Linux namespaces so that its host changes vanish with it.

With the flags and configuration files used here, Docker Engine 20.10,
containerd 1.6 and Podman 4.3 still write to fixed host paths: /run/containerd/s,
/run/docker/plugins, /run/runc, /run/netns (a bind mount), /run/containers and
/var/lib/containers/cache. In a private mount
namespace those paths are fresh tmpfs mounts that the kernel discards together
with every other mount of the daemon once its last process exits. A private
network namespace does the same for bridges, veth pairs, firewall rules and the
ip_forward sysctl.
"""

from collections.abc import Sequence
from pathlib import Path

# Mounted as tmpfs inside the daemon's mount namespace.
PRIVATE_TMPFS_DIRS = (Path("/run"), Path("/var/lib"))


def in_private_namespaces(
    argv: Sequence[str],
    *,
    network: bool,
    tmpfs_dirs: Sequence[Path] = PRIVATE_TMPFS_DIRS,
) -> list[str]:
    """Return a command that runs ``argv`` in new mount and, optionally, network namespaces.

    ``unshare`` and ``sh`` exec into ``argv``, so the PID of the returned command
    is the PID of the daemon. Only directories that exist on the host can be
    mounted over, and a missing one makes the command fail instead of creating it.
    """
    steps = [
        f"mount -t tmpfs -o mode=0755 openshell-test {directory}"
        for directory in tmpfs_dirs
    ]
    flags = ["--mount", "--propagation", "private"]
    if network:
        flags.append("--net")
        # A new network namespace starts with its loopback interface down.
        steps.append("ip link set lo up")
    script = " && ".join([*steps, 'exec "$@"'])
    return ["unshare", *flags, "--", "sh", "-c", script, "sh", *argv]
