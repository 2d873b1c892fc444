"""Endpoints: the three placements of a compute driver behind one interface.

`acquire` builds an endpoint from a resolution, `remote` is the gRPC client
for a driver on a Unix socket, and `managed` starts a driver program.
"""
