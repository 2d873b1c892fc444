"""Dispatch overhead: driver calls through the gateway's endpoint vs. the raw socket.

Starts a private Docker Engine (the test backend module), the standalone
Docker driver on a Unix socket, and one running sandbox. It then times
GetCapabilities, GetSandbox and ListSandboxes two ways, interleaved in rounds:

- direct: a generated gRPC stub on the driver's socket (the baseline);
- gateway: the endpoint the gateway acquires for `--drivers docker
  --compute-driver-socket PATH`, wrapped in the same metrics proxy that
  `openshell-gateway run` uses, so every layer a gateway call crosses.

GetCapabilities does no engine work, so it shows the dispatch cost alone;
the other two include a Docker Engine request. The table gives median
microseconds per call and the ratio to the baseline.
Target: at most 1.5x at the median.

    .venv/bin/python bench/dispatch.py [--calls 300]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc

# The test backend modules start the engine, so the repository root goes on
# the import path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openshell.endpoints.acquire import acquire_endpoint
from openshell.host import PluginHost
from openshell.logs import configure_logging
from openshell.metrics import GatewayMetrics, InstrumentedDriver
from openshell.plugin import DriverContext
from openshell.proto import compute_driver_pb2 as pb
from openshell.proto import compute_driver_pb2_grpc as pb_grpc
from openshell.resolution import Resolution

TARGET_RATIO = 1.5
BIN = Path(sys.executable).parent


def backend(module: str, command: str, env: dict[str, str]) -> dict[str, str]:
    output = subprocess.run(
        [sys.executable, "-m", f"tests.backends.{module}", command],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


async def wait_ready(stub: pb_grpc.ComputeDriverStub, sandbox_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sandbox = (
            await stub.GetSandbox(pb.GetSandboxRequest(sandbox_id=sandbox_id))
        ).sandbox
        if any(
            c.type == "Ready" and c.status == "True" for c in sandbox.status.conditions
        ):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the benchmark sandbox did not become ready within 60 s")


async def time_calls(call: Callable[[], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


async def measure(socket_path: str, image: str, calls: int) -> None:
    channel = grpc.aio.insecure_channel(f"unix:{socket_path}")
    stub = pb_grpc.ComputeDriverStub(channel)
    sandbox_id = str(uuid.uuid4())
    sandbox = pb.DriverSandbox(
        id=sandbox_id,
        name="bench",
        workspace="default",
        spec=pb.DriverSandboxSpec(
            command=["sleep", "600"],
            template=pb.DriverSandboxTemplate(image=image),
        ),
    )
    await stub.CreateSandbox(pb.CreateSandboxRequest(sandbox=sandbox))
    await wait_ready(stub, sandbox_id)

    resolution = Resolution("docker", "remote", "benchmark", socket_path=socket_path)
    context = DriverContext("docker", Path(tempfile.gettempdir()), "error", 17670)
    endpoint = await acquire_endpoint(resolution, PluginHost(), context)
    gateway_driver = InstrumentedDriver(endpoint.driver, GatewayMetrics("docker"))

    get_request = pb.GetSandboxRequest(sandbox_id=sandbox_id, sandbox_name="bench")
    paths: dict[str, dict[str, Callable[[], Awaitable[object]]]] = {
        "GetCapabilities": {
            "direct": lambda: stub.GetCapabilities(pb.GetCapabilitiesRequest()),
            "gateway": gateway_driver.get_capabilities,
        },
        "GetSandbox": {
            "direct": lambda: stub.GetSandbox(get_request),
            "gateway": lambda: gateway_driver.get_sandbox(sandbox_id, "bench"),
        },
        "ListSandboxes": {
            "direct": lambda: stub.ListSandboxes(pb.ListSandboxesRequest()),
            "gateway": gateway_driver.list_sandboxes,
        },
    }
    rounds = 10
    print(f"{'call':<15} {'path':<8} {'median us':>10} {'ratio':>7}")
    try:
        for rpc, ways in paths.items():
            samples: dict[str, list[float]] = {way: [] for way in ways}
            for call in ways.values():
                await time_calls(call, 20)  # warm-up
            for _ in range(rounds):
                for way, call in ways.items():
                    samples[way] += await time_calls(call, calls // rounds)
            baseline = statistics.median(samples["direct"])
            for way, values in samples.items():
                median = statistics.median(values)
                ratio = median / baseline
                print(f"{rpc:<15} {way:<8} {median * 1e6:>10.0f} {ratio:>6.2f}x")
            ratio = statistics.median(samples["gateway"]) / baseline
            verdict = "meets" if ratio <= TARGET_RATIO else "misses"
            print(f"{rpc}: gateway dispatch {verdict} the {TARGET_RATIO}x target")
    finally:
        await stub.DeleteSandbox(
            pb.DeleteSandboxRequest(sandbox_id=sandbox_id, sandbox_name="bench")
        )
        await endpoint.release()
        await channel.close()


def main() -> int:
    configure_logging("error")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="osb-") as root:
        env = {**os.environ, "OPENSHELL_TEST_ROOT": root}
        engine = backend("docker_engine", "start", env)
        driver = None
        try:
            env["DOCKER_HOST"] = engine["DOCKER_HOST"]
            image = backend("images", "docker", env)["DOCKER_IMAGE"]
            config = Path(root) / "driver.toml"
            config.write_text(
                f'socket_path = "{engine["DOCKER_SOCKET"]}"\n'
                'network_name = "none"\nimage_pull_policy = "Never"\n'
                'sandbox_namespace = "bench"\n'
            )
            socket_path = Path(root) / "driver" / "driver.sock"
            driver = subprocess.Popen(
                [
                    str(BIN / "openshell-driver-docker"),
                    "--bind-socket",
                    str(socket_path),
                    "--config",
                    str(config),
                    "--log-level",
                    "error",
                ]
            )
            deadline = time.monotonic() + 30
            while not socket_path.exists():
                if time.monotonic() > deadline or driver.poll() is not None:
                    raise RuntimeError("the standalone Docker driver did not start")
                time.sleep(0.05)
            asyncio.run(measure(str(socket_path), image, arguments.calls))
        finally:
            if driver is not None:
                driver.terminate()
                driver.wait(30)
            backend("docker_engine", "stop", env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
