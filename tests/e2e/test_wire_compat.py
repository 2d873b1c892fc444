"""Wire compatibility: public API requests encoded by hand from field numbers.

No generated class touches these requests or responses: they are built and
decoded with the raw protobuf codec in tests.support.wire, from the field
numbers of upstream's openshell.v1 and openshell.datamodel.v1 messages.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from tests.e2e.conftest import GatewayFactory, docker_table
from tests.e2e.lifecycle import wait_for
from tests.support.wire import (
    bytes_field,
    decode,
    map_entry,
    string_field,
    varint_field,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("engine_cleanup")]

SERVICE = "/openshell.v1.OpenShell"
PHASE_PROVISIONING = 1
PHASE_READY = 2


def raw_call(channel: grpc.Channel, method: str, request: bytes) -> bytes:
    call = channel.unary_unary(f"{SERVICE}/{method}")
    response: bytes = call(request, timeout=30)
    return response


def test_create_get_list_by_field_number(
    make_gateway: GatewayFactory, docker_engine: Any, namespace: str
) -> None:
    config = (
        '[openshell]\nversion = 1\n[openshell.gateway]\ncompute_drivers = ["docker"]\n'
        f"[openshell.drivers.docker]\n{docker_table(docker_engine, namespace)}"
    )
    gateway = make_gateway(config)
    gateway.start()
    channel = grpc.insecure_channel(gateway.endpoint)
    try:
        # CreateSandboxRequest: spec = 1, name = 2, labels = 3 (workspace 5 left
        # empty). SandboxSpec: template = 6 {image = 1}, command = 12.
        template = string_field(1, docker_engine.image)
        spec = (
            string_field(12, "sleep")
            + string_field(12, "600")
            + bytes_field(6, template)
        )
        create = (
            bytes_field(1, spec)
            + string_field(2, "wire-one")
            + map_entry(3, "wire", "raw")
        )
        sandbox = decode(raw_call(channel, "CreateSandbox", create)).message(1)
        metadata = sandbox.message(1)
        sandbox_id = metadata.string(1)

        assert len(sandbox_id) == 36
        assert metadata.string(2) == "wire-one"
        assert metadata.integer(3) > 0
        assert metadata.string_map(4) == {"wire": "raw"}
        assert metadata.integer(5) == 1
        assert metadata.string(7) == "default"
        assert [v.decode() for v in sandbox.message(2).fields[12]] == ["sleep", "600"]
        assert sandbox.message(2).message(6).string(1) == docker_engine.image
        assert sandbox.message(3).integer(6) == PHASE_PROVISIONING

        # GetSandboxRequest: name = 1, workspace = 2.
        get = string_field(1, "wire-one") + string_field(2, "default")

        def ready() -> bool:
            fetched = decode(raw_call(channel, "GetSandbox", get)).message(1)
            return fetched.message(3).integer(6) == PHASE_READY

        wait_for(ready, timeout=60)
        fetched = decode(raw_call(channel, "GetSandbox", get)).message(1)
        assert fetched.message(1).string(1) == sandbox_id
        assert fetched.message(1).integer(5) > 1

        # ListSandboxesRequest: limit = 1, offset = 2, label_selector = 3.
        listing = varint_field(1, 10) + string_field(3, "wire=raw")
        listed = decode(raw_call(channel, "ListSandboxes", listing)).messages(1)
        assert [item.message(1).string(1) for item in listed] == [sandbox_id]

        other = varint_field(1, 10) + string_field(3, "wire=cooked")
        assert decode(raw_call(channel, "ListSandboxes", other)).messages(1) == []

        # DeleteSandboxRequest: name = 1; DeleteSandboxResponse: deleted = 1.
        deleted = decode(
            raw_call(channel, "DeleteSandbox", string_field(1, "wire-one"))
        )
        assert deleted.integer(1) == 1
    finally:
        channel.close()
    assert gateway.stop() == 0


def test_unknown_name_is_not_found(
    make_gateway: GatewayFactory, docker_engine: Any, namespace: str
) -> None:
    config = (
        '[openshell]\nversion = 1\n[openshell.gateway]\ncompute_drivers = ["docker"]\n'
        f"[openshell.drivers.docker]\n{docker_table(docker_engine, namespace)}"
    )
    gateway = make_gateway(config)
    gateway.start()
    with (
        grpc.insecure_channel(gateway.endpoint) as channel,
        pytest.raises(grpc.RpcError) as caught,
    ):
        raw_call(channel, "GetSandbox", string_field(1, "absent"))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "sandbox not found"
    assert gateway.stop() == 0
