"""Start and stop the real systems that the compute drivers are tested against.

Each backend (Docker Engine, Podman, PostgreSQL) has a module that runs as
``python -m tests.backends.<module> start|stop|status`` and keeps all of its state
under one root directory. ``fixtures`` wraps those commands as pytest fixtures.
"""
