"""End to end: the public API over TLS with a self-signed certificate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from openshell.proto import openshell_pb2 as api
from openshell.proto import openshell_pb2_grpc as api_grpc
from tests.e2e.conftest import GatewayFactory
from tests.e2e.test_managed_gateway import CONFIG
from tests.support.plugins import install_memory_driver

pytestmark = pytest.mark.slow


def self_signed(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_api_served_over_tls(make_gateway: GatewayFactory, short_tmp: Path) -> None:
    site = install_memory_driver(short_tmp / "site")
    cert, key = self_signed(short_tmp)
    config = (
        CONFIG + f'[openshell.gateway.tls]\ncert_path = "{cert}"\nkey_path = "{key}"\n'
    )
    gateway = make_gateway(
        config, env={"PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    )
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    gateway.credentials = credentials
    gateway.start()
    assert "(TLS)" in gateway.log_tail()

    with grpc.secure_channel(gateway.endpoint, credentials) as channel:
        health = api_grpc.OpenShellStub(channel).Health(api.HealthRequest(), timeout=10)
    assert health.status == api.SERVICE_STATUS_HEALTHY

    with (
        grpc.insecure_channel(gateway.endpoint) as plaintext,
        pytest.raises(grpc.RpcError),
    ):
        api_grpc.OpenShellStub(plaintext).Health(api.HealthRequest(), timeout=3)

    assert gateway.stop() == 0
