"""Errors the gateway core raises towards the public API.

    OpenShellError
    +-- ApiError            a request failed; carries the gRPC status for the client
    +-- StoreError
        +-- NameConflictError     (workspace, name) is already taken
        +-- VersionConflictError  the row changed or vanished since it was read

The store errors live here rather than in `openshell.errors` because only the
gateway core raises and catches them.
"""

from __future__ import annotations

import grpc

from openshell.errors import OpenShellError, StoreError


class ApiError(OpenShellError):
    """A public API call failed with this gRPC status code and message."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ApiError({self.code.name}, {self.message!r})"

    @classmethod
    def invalid_argument(cls, message: str) -> ApiError:
        return cls(grpc.StatusCode.INVALID_ARGUMENT, message)

    @classmethod
    def not_found(cls, message: str) -> ApiError:
        return cls(grpc.StatusCode.NOT_FOUND, message)

    @classmethod
    def failed_precondition(cls, message: str) -> ApiError:
        return cls(grpc.StatusCode.FAILED_PRECONDITION, message)

    @classmethod
    def internal(cls, message: str) -> ApiError:
        return cls(grpc.StatusCode.INTERNAL, message)


class NameConflictError(StoreError):
    """Another row in the same workspace already has this name."""

    def __init__(self, workspace: str, name: str) -> None:
        super().__init__(f"sandbox '{name}' already exists in workspace '{workspace}'")
        self.workspace = workspace
        self.name = name


class VersionConflictError(StoreError):
    """A compare-and-swap update found another resource version, or no row."""

    def __init__(self, sandbox_id: str, expected: int) -> None:
        super().__init__(
            f"sandbox {sandbox_id} is no longer at resource version {expected}; "
            "read it again and retry"
        )
        self.sandbox_id = sandbox_id
        self.expected = expected
