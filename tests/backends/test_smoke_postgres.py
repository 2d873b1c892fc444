"""PostgreSQL backend: connections and transactions through psycopg 3."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.backends.fixtures import PostgresServer

pytestmark = pytest.mark.slow


@pytest.fixture
def table(postgres_server: PostgresServer) -> Iterator[str]:
    """A new table with one text column, dropped after the test."""
    name = f"smoke_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f"CREATE TABLE {name} (value text NOT NULL)")
    yield name
    with psycopg.connect(postgres_server.url, autocommit=True) as connection:
        connection.execute(f"DROP TABLE {name}")


def stored_values(url: str, table: str) -> list[str]:
    """Read the table through a new connection, so that only committed rows count."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(f"SELECT value FROM {table} ORDER BY value")
        return [row[0] for row in rows.fetchall()]


def test_server_identity(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.url) as connection:
        assert connection.info.server_version >= 150000
        assert connection.info.host == "127.0.0.1"
        assert connection.info.port == postgres_server.port
        assert connection.info.dbname == postgres_server.database
        assert connection.info.user == postgres_server.user


def test_wrong_password_is_rejected(postgres_server: PostgresServer) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication"):
        psycopg.connect(
            host=postgres_server.host,
            port=postgres_server.port,
            user=postgres_server.user,
            dbname=postgres_server.database,
            password=postgres_server.password + "-wrong",
        )


def test_commit_persists_rows(postgres_server: PostgresServer, table: str) -> None:
    with (
        psycopg.connect(postgres_server.url) as connection,
        connection.transaction(),
    ):
        connection.execute(f"INSERT INTO {table} VALUES ('a'), ('b')")
        assert stored_values(postgres_server.url, table) == []
    assert stored_values(postgres_server.url, table) == ["a", "b"]


def test_rollback_discards_rows(postgres_server: PostgresServer, table: str) -> None:
    with psycopg.connect(postgres_server.url) as connection:
        connection.execute(f"INSERT INTO {table} VALUES ('kept')")
        connection.commit()
        connection.execute(f"INSERT INTO {table} VALUES ('discarded')")
        assert stored_values(postgres_server.url, table) == ["kept"]
        connection.rollback()
        remaining = connection.execute(f"SELECT value FROM {table}").fetchall()
        assert remaining == [("kept",)]
    assert stored_values(postgres_server.url, table) == ["kept"]
