"""Throwaway driver plugin distributions for tests.

`install_plugin` writes a real `*.dist-info` directory with an
`entry_points.txt` and the plugin's modules into a directory, so discovery
goes through `importlib.metadata` exactly as for a pip-installed package.
Prepend the directory to `sys.path` (in-process) or `PYTHONPATH` (for a
subprocess) to make the distribution visible.
"""

from __future__ import annotations

import textwrap
from importlib.metadata import EntryPoint, distributions
from pathlib import Path

from openshell.hookspecs import ENTRY_POINT_GROUP


def install_plugin(
    site: Path,
    distribution: str,
    *,
    entry_points: dict[str, str],
    modules: dict[str, str],
    version: str = "1.0",
) -> Path:
    """Write one distribution into `site` and return `site`."""
    site.mkdir(parents=True, exist_ok=True)
    for relative, source in modules.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    dist_info = site / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    lines = [f"[{ENTRY_POINT_GROUP}]"]
    lines += [f"{name} = {target}" for name, target in entry_points.items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return site


def entry_points_in(site: Path) -> list[EntryPoint]:
    """Return the compute-driver entry points of the distributions in `site`."""
    found = []
    for dist in distributions(path=[str(site)]):
        found.extend(dist.entry_points.select(group=ENTRY_POINT_GROUP))
    return found


DESCRIBE_ONLY = """
from openshell import DriverDescription, hookimpl


@hookimpl
def openshell_driver_describe():
    return DriverDescription(summary="{summary}", kind="{kind}")
"""

BROKEN_IMPORT = """
raise ImportError("the backend client library is missing")
"""

BAD_HOOK_SIGNATURE = """
from openshell import hookimpl


@hookimpl
def openshell_driver_describe(unexpected_argument):
    return None
"""

MEMORY_DRIVER_PROGRAM = '''
"""A managed driver program for tests: sandboxes are records in memory.

Behaviour switches come from the environment, so a test can make the
program fail the way a real driver program would:
MEMDRIVER_EXIT_BEFORE_READY=N prints to stderr and exits with status N;
MEMDRIVER_HANG_STOP=1 makes StopSandbox never return.
"""

import argparse
import asyncio
import os
import sys

from openshell import ComputeDriver, DriverError
from openshell.proto import compute_driver_pb2 as pb
from openshell.sdk import read_launch_secret, serve_driver


def ready_status(name):
    return pb.DriverSandboxStatus(
        sandbox_name=name,
        conditions=[pb.DriverCondition(type="Ready", status="True", reason="BackendReady")],
    )


class MemoryDriver(ComputeDriver):
    def __init__(self):
        self.sandboxes = {}
        self.queues = []

    def publish(self, event):
        for queue in self.queues:
            queue.put_nowait(event)

    async def get_capabilities(self):
        return pb.GetCapabilitiesResponse(
            driver_name="memory", driver_version="1.0", default_image="memory:latest",
            gateway_manages_lifecycle=True,
        )

    async def validate_sandbox_create(self, sandbox):
        return None

    async def create_sandbox(self, sandbox):
        if sandbox.id in self.sandboxes:
            raise DriverError.already_exists()
        observed = pb.DriverSandbox(
            id=sandbox.id, name=sandbox.name, workspace=sandbox.workspace,
            status=ready_status(sandbox.name),
        )
        self.sandboxes[sandbox.id] = observed
        self.publish(pb.WatchSandboxesEvent(sandbox=pb.WatchSandboxesSandboxEvent(sandbox=observed)))

    async def get_sandbox(self, sandbox_id, sandbox_name):
        if sandbox_id not in self.sandboxes:
            raise DriverError.not_found()
        return self.sandboxes[sandbox_id]

    async def list_sandboxes(self):
        return list(self.sandboxes.values())

    async def stop_sandbox(self, sandbox_id, sandbox_name):
        await self.get_sandbox(sandbox_id, sandbox_name)
        if os.environ.get("MEMDRIVER_HANG_STOP"):
            await asyncio.Event().wait()

    async def start_sandbox(self, sandbox_id, sandbox_name):
        await self.get_sandbox(sandbox_id, sandbox_name)

    async def delete_sandbox(self, sandbox_id, sandbox_name):
        if self.sandboxes.pop(sandbox_id, None) is None:
            return False
        self.publish(pb.WatchSandboxesEvent(deleted=pb.WatchSandboxesDeletedEvent(sandbox_id=sandbox_id)))
        return True

    async def watch_sandboxes(self):
        queue = asyncio.Queue()
        self.queues.append(queue)
        try:
            for sandbox in list(self.sandboxes.values()):
                yield pb.WatchSandboxesEvent(sandbox=pb.WatchSandboxesSandboxEvent(sandbox=sandbox))
            while True:
                yield await queue.get()
        finally:
            self.queues.remove(queue)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bind-socket", required=True)
    arguments = parser.parse_args()
    exit_status = os.environ.get("MEMDRIVER_EXIT_BEFORE_READY")
    if exit_status:
        print("memdriver: backend unreachable, giving up", file=sys.stderr)
        sys.exit(int(exit_status))
    secret = read_launch_secret(os.environ)

    async def make_driver():
        return MemoryDriver()

    sys.exit(serve_driver(make_driver, arguments.bind_socket, secret=secret))


if __name__ == "__main__":
    main()
'''

MEMORY_DRIVER_PLUGIN = """
import sys

from openshell import DriverDescription, ManagedCommand, hookimpl


@hookimpl
def openshell_driver_describe():
    return DriverDescription(summary="in-memory test driver", kind="managed")


@hookimpl
def openshell_driver_command(config, context):
    return ManagedCommand(argv=(sys.executable, "-m", "memdriver_program"))
"""


def install_memory_driver(site: Path, name: str = "memory") -> Path:
    """Install the managed in-memory test driver under the driver name `name`."""
    return install_plugin(
        site,
        f"openshell-driver-{name}",
        entry_points={name: "memdriver_plugin"},
        modules={
            "memdriver_plugin.py": MEMORY_DRIVER_PLUGIN,
            "memdriver_program.py": MEMORY_DRIVER_PROGRAM,
        },
    )
