"""The benchmarks write only to databases they created (tests/benchmarks/guard.py): an exported
DATABASE_URL pointing at a real database is refused before anything is touched."""

import os
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.benchmarks.guard import MARKER, NotBenchDatabase, claim_database, drop_database

ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_outside_scratch_folders_is_refused():
    with pytest.raises(NotBenchDatabase, match="refusing SQLite"):
        claim_database(f"sqlite:///{ROOT / 'db.sqlite3'}", "bench_test")


def test_sqlite_scratch_file_is_accepted(tmp_path):
    assert claim_database(f"sqlite:///{tmp_path / 'bench.sqlite3'}", "bench_test") is True


@pytest.fixture
def server_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    return urlsplit(url)


def _url(parts, name):
    return parts._replace(path=f"/{name}").geturl()


@pytest.mark.postgres
def test_existing_database_without_marker_is_refused_and_left_alone(server_url):
    import psycopg

    name = f"redress_guard_{uuid.uuid4().hex[:10]}"
    admin = _url(server_url, "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(_url(server_url, name), autocommit=True) as conn:
            conn.execute("CREATE TABLE precious (id int)")
            conn.execute("INSERT INTO precious VALUES (1)")
        with pytest.raises(NotBenchDatabase, match="not created by this benchmark"):
            claim_database(_url(server_url, name), "bench_test")
        with pytest.raises(NotBenchDatabase):
            drop_database(_url(server_url, name), "bench_test")
        with psycopg.connect(_url(server_url, name)) as conn:
            assert conn.execute("SELECT count(*) FROM precious").fetchone()[0] == 1
            assert conn.execute("SELECT to_regclass(%s)", [MARKER]).fetchone()[0] is None
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_database_created_by_the_benchmark_is_its_own_only(server_url):
    import psycopg

    name = f"redress_bench_guard_{uuid.uuid4().hex[:10]}"
    url = _url(server_url, name)
    try:
        assert claim_database(url, "bench_test") is True  # created, with the marker
        assert claim_database(url, "bench_test") is False  # its own: accepted again
        with pytest.raises(NotBenchDatabase):
            claim_database(url, "another_benchmark")
        drop_database(url, "bench_test")
        with psycopg.connect(_url(server_url, "postgres")) as conn:
            gone = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            assert gone.fetchone() is None
    finally:
        with psycopg.connect(_url(server_url, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("name", ["postgres", "template1"], ids=["maintenance-db", "template-db"])
def test_server_databases_are_refused(name):
    with pytest.raises(NotBenchDatabase):
        claim_database(f"postgres://postgres@127.0.0.1:5432/{name}", "bench_test")
