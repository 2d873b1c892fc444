"""Docker Engine compute driver for openshell-gateway.

`openshell_driver_docker.plugin` contains the plugin hooks (the entry point's
target), `openshell_driver_docker.driver` the driver, and
`openshell_driver_docker.cli` the standalone program.
"""
