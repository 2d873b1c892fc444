"""Exceptions raised by openshell-gateway.

    OpenShellError
    +-- ConfigError        bad gateway.toml, flag, variable or driver table (exit 2)
    |   +-- PluginError    a selected driver is missing, broken or in conflict
    +-- DriverError        a compute driver call failed; carries the gRPC status code
    +-- DriverStartError   a driver program could not be started or reached
    +-- StoreError         the sandbox store failed

Messages name the value at fault and the fix. The command-line programs
turn ConfigError into exit status 2 and any other OpenShellError into exit
status 1, without a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import grpc


class OpenShellError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(OpenShellError):
    """Invalid configuration: the message names the key, value or file."""


class PluginError(ConfigError):
    """A selected driver cannot be used: not installed, broken or in conflict."""


class DriverStartError(OpenShellError):
    """A driver program exited, timed out or refused calls while being acquired."""


class StoreError(OpenShellError):
    """The sandbox store could not be read or written."""


class DriverError(OpenShellError):
    """A compute driver call failed with a gRPC status code and message.

    In-process drivers raise it, the driver SDK turns it into the call status,
    and the remote-socket client raises it again from the status it receives,
    so the gateway handles both placements the same way.
    """

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"DriverError({self.code.name}, {self.message!r})"

    @classmethod
    def _with_code(cls, code_name: str, message: str) -> DriverError:
        # grpc is imported here, not at module level, so that importing this
        # module from a plugin's light module stays cheap.
        import grpc

        return cls(getattr(grpc.StatusCode, code_name), message)

    @classmethod
    def not_found(cls, message: str = "sandbox not found") -> DriverError:
        return cls._with_code("NOT_FOUND", message)

    @classmethod
    def already_exists(cls, message: str = "sandbox already exists") -> DriverError:
        return cls._with_code("ALREADY_EXISTS", message)

    @classmethod
    def invalid_argument(cls, message: str) -> DriverError:
        return cls._with_code("INVALID_ARGUMENT", message)

    @classmethod
    def failed_precondition(cls, message: str) -> DriverError:
        return cls._with_code("FAILED_PRECONDITION", message)

    @classmethod
    def internal(cls, message: str) -> DriverError:
        return cls._with_code("INTERNAL", message)

    @classmethod
    def unimplemented(cls, message: str) -> DriverError:
        return cls._with_code("UNIMPLEMENTED", message)
