"""Endpoints: the three placements of a compute driver behind one interface."""

from openshell.endpoints.acquire import Endpoint, acquire_endpoint
from openshell.endpoints.remote import RemoteDriver

__all__ = ["Endpoint", "RemoteDriver", "acquire_endpoint"]
