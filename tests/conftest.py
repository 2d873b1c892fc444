pytest_plugins = ["tests.backends.fixtures"]
