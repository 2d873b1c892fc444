pytest_plugins = [
    "tests.backends.fixtures",
    "tests.backends.qemu_fixtures",
    "tests.backends.kube_fixtures",
]
