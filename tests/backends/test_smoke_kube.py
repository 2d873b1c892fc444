"""Smoke test of the kube-apiserver backend through the official Python client.

It installs a minimal Sandbox CRD (group agents.x-k8s.io, modelled on the
kubernetes-sigs/agent-sandbox v1alpha1 API) and exercises what a compute
driver needs: create, get, list by label selector, watch, the status
subresource and delete.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import config, watch
from kubernetes.client import (
    ApiClient,
    ApiextensionsV1Api,
    CoreV1Api,
    CustomObjectsApi,
    V1CustomResourceDefinition,
    V1Namespace,
    V1ObjectMeta,
    VersionApi,
)
from kubernetes.client.exceptions import ApiException

from tests.backends.kube import kubernetes_version
from tests.backends.kube_fixtures import KubeApiServer

pytestmark = pytest.mark.slow

GROUP = "agents.x-k8s.io"
VERSION = "v1alpha1"
PLURAL = "sandboxes"
MERGE_PATCH = "application/merge-patch+json"

SANDBOX_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {
            "plural": PLURAL,
            "singular": "sandbox",
            "kind": "Sandbox",
            "listKind": "SandboxList",
        },
        "versions": [
            {
                "name": VERSION,
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "required": ["spec"],
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["podTemplate"],
                                "properties": {
                                    "podTemplate": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                    "replicas": {
                                        "type": "integer",
                                        "format": "int32",
                                        "minimum": 0,
                                        "maximum": 1,
                                        "default": 1,
                                    },
                                    "shutdownTime": {
                                        "type": "string",
                                        "format": "date-time",
                                    },
                                },
                            },
                            "status": {
                                "type": "object",
                                "properties": {
                                    "serviceFQDN": {"type": "string"},
                                    "replicas": {"type": "integer", "format": "int32"},
                                    "conditions": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["type", "status"],
                                            "properties": {
                                                "type": {"type": "string"},
                                                "status": {"type": "string"},
                                                "reason": {"type": "string"},
                                                "message": {"type": "string"},
                                                "lastTransitionTime": {
                                                    "type": "string",
                                                    "format": "date-time",
                                                },
                                            },
                                        },
                                    },
                                },
                            },
                        },
                    }
                },
            }
        ],
    },
}


class Sandboxes:
    """Sandbox custom resources of one namespace, returned as plain dicts."""

    def __init__(self, api_client: ApiClient, namespace: str) -> None:
        self.api = CustomObjectsApi(api_client)
        self.namespace = namespace

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        return as_dict(
            self.api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, body
            )
        )

    def get(self, name: str) -> dict[str, Any]:
        return as_dict(
            self.api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        )

    def get_status(self, name: str) -> dict[str, Any]:
        return as_dict(
            self.api.get_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        )

    def list_objects(self, label_selector: str | None = None) -> dict[str, Any]:
        return as_dict(
            self.api.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, label_selector=label_selector
            )
        )

    def names(self, label_selector: str | None = None) -> list[str]:
        items = self.list_objects(label_selector)["items"]
        return sorted(item["metadata"]["name"] for item in items)

    def patch(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return as_dict(
            self.api.patch_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, body,
                _content_type=MERGE_PATCH,
            )
        )  # fmt: skip

    def patch_status(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return as_dict(
            self.api.patch_namespaced_custom_object_status(
                GROUP, VERSION, self.namespace, PLURAL, name, body,
                _content_type=MERGE_PATCH,
            )
        )  # fmt: skip

    def delete(self, name: str) -> None:
        self.api.delete_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name
        )


def as_dict(value: object) -> dict[str, Any]:
    # The client types custom objects as `object`; the JSON body is a dict.
    assert isinstance(value, dict), f"expected a JSON object, got {value!r}"
    return value


def sandbox(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Sandbox",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {
            "podTemplate": {
                "spec": {"containers": [{"name": "agent", "image": "busybox"}]}
            }
        },
    }


@pytest.fixture(scope="module")
def api_client(kube_apiserver: KubeApiServer) -> Iterator[ApiClient]:
    client: ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
        config_file=str(kube_apiserver.kubeconfig)
    )
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]


@pytest.fixture(scope="module")
def sandbox_crd(api_client: ApiClient) -> Iterator[str]:
    extensions = ApiextensionsV1Api(api_client)
    name = SANDBOX_CRD["metadata"]["name"]
    definition = V1CustomResourceDefinition.from_dict(SANDBOX_CRD)
    assert definition is not None
    extensions.create_custom_resource_definition(definition)

    deadline = time.monotonic() + 30
    while True:
        status = extensions.read_custom_resource_definition(name).status
        conditions = {}
        if status is not None and status.conditions is not None:
            conditions = {c.type: c.status for c in status.conditions}
        if conditions.get("Established") == "True":
            break
        assert time.monotonic() < deadline, f"CRD {name} not Established: {conditions}"
        time.sleep(0.2)
    yield name
    extensions.delete_custom_resource_definition(name)


@pytest.fixture
def sandboxes(api_client: ApiClient, sandbox_crd: str) -> Sandboxes:
    # No namespace controller runs, so a deleted namespace would stay
    # Terminating. Each test gets a fresh namespace instead, and the server
    # is discarded at the end of the run.
    namespace = f"smoke-{uuid.uuid4().hex[:8]}"
    CoreV1Api(api_client).create_namespace(
        V1Namespace(metadata=V1ObjectMeta(name=namespace))
    )
    return Sandboxes(api_client, namespace)


def test_server_reports_pinned_release(api_client: ApiClient) -> None:
    info = VersionApi(api_client).get_code()
    assert info.git_version == kubernetes_version()


def test_core_namespaces_served(api_client: ApiClient) -> None:
    namespaces = CoreV1Api(api_client).list_namespace().items
    names = {n.metadata.name for n in namespaces if n.metadata is not None}
    assert "default" in names
    assert "kube-system" in names


def test_sandbox_create_get_list_delete(sandboxes: Sandboxes) -> None:
    sandboxes.create(sandbox("alpha", {"app": "openshell", "tier": "a"}))
    sandboxes.create(sandbox("beta", {"app": "openshell", "tier": "b"}))

    alpha = sandboxes.get("alpha")
    assert alpha["metadata"]["labels"] == {"app": "openshell", "tier": "a"}
    # The schema default fills in replicas.
    assert alpha["spec"]["replicas"] == 1
    assert alpha["metadata"]["generation"] == 1

    assert sandboxes.names("app=openshell,tier=a") == ["alpha"]
    assert sandboxes.names("app=openshell") == ["alpha", "beta"]
    assert sandboxes.names("tier notin (a)") == ["beta"]
    assert sandboxes.names("app=other") == []

    sandboxes.delete("alpha")
    with pytest.raises(ApiException) as missing:
        sandboxes.get("alpha")
    assert missing.value.status == 404
    assert sandboxes.names() == ["beta"]


def test_sandbox_schema_rejects_invalid(sandboxes: Sandboxes) -> None:
    body = sandbox("too-many")
    body["spec"]["replicas"] = 2
    with pytest.raises(ApiException) as rejected:
        sandboxes.create(body)
    assert rejected.value.status == 422
    assert "spec.replicas" in str(rejected.value.body)


def test_sandbox_status_subresource(sandboxes: Sandboxes) -> None:
    sandboxes.create(sandbox("box"))
    fqdn = f"box.{sandboxes.namespace}.svc.cluster.local"
    ready = {
        "status": {
            "serviceFQDN": fqdn,
            "replicas": 1,
            "conditions": [
                {"type": "Ready", "status": "True", "reason": "PodReady", "message": ""}
            ],
        }
    }

    # With the status subresource enabled, the main resource ignores status.
    ignored = sandboxes.patch("box", ready)
    assert "status" not in ignored

    patched = sandboxes.patch_status("box", ready)
    assert patched["status"]["serviceFQDN"] == fqdn
    assert patched["status"]["conditions"][0]["type"] == "Ready"
    # A status change leaves the generation alone.
    assert patched["metadata"]["generation"] == 1

    # The status endpoint ignores spec changes. A spec change through the
    # main resource bumps the generation and keeps the status.
    spec_via_status = sandboxes.patch_status("box", {"spec": {"replicas": 0}})
    assert spec_via_status["spec"]["replicas"] == 1
    paused = sandboxes.patch("box", {"spec": {"replicas": 0}})
    assert paused["spec"]["replicas"] == 0
    assert paused["metadata"]["generation"] == 2
    assert paused["status"]["replicas"] == 1

    status = sandboxes.get_status("box")
    assert status["status"]["conditions"][0]["status"] == "True"


def test_sandbox_watch_events(sandboxes: Sandboxes) -> None:
    start_version = sandboxes.list_objects()["metadata"]["resourceVersion"]
    events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    watcher = watch.Watch()  # type: ignore[no-untyped-call]

    # The watch starts at the list's resourceVersion, so the server replays
    # every change made after the list even if the thread connects late.
    def collect() -> None:
        stream = watcher.stream(  # type: ignore[no-untyped-call]
            sandboxes.api.list_namespaced_custom_object,
            GROUP, VERSION, sandboxes.namespace, PLURAL,
            label_selector="app=watched",
            resource_version=start_version,
            timeout_seconds=30,
        )  # fmt: skip
        for event in stream:
            events.put((event["type"], event["raw_object"]))
            if event["type"] == "DELETED":
                watcher.stop()  # type: ignore[no-untyped-call]

    thread = threading.Thread(target=collect, daemon=True)
    thread.start()

    sandboxes.create(sandbox("watched", {"app": "watched"}))
    # An object outside the label selector produces no event.
    sandboxes.create(sandbox("unwatched", {"app": "other"}))
    sandboxes.patch_status("watched", {"status": {"replicas": 1}})
    sandboxes.delete("watched")

    thread.join(timeout=30)
    assert not thread.is_alive(), "watch did not end after the DELETED event"
    received = []
    while not events.empty():
        received.append(events.get())
    assert [kind for kind, _ in received] == ["ADDED", "MODIFIED", "DELETED"]
    assert {obj["metadata"]["name"] for _, obj in received} == {"watched"}
    assert received[1][1]["status"] == {"replicas": 1}
