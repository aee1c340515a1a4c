"""The benchmarks' database guard: a benchmark writes only to a database it created itself.

Benchmarks delete and rewrite rows. An exported DATABASE_URL pointing at a real database
(development data, CI, production) must never be touched, so every benchmark that writes
calls `claim_database(url, owner)`:

- PostgreSQL: a database that does not exist yet is created and gets the marker table
  `redress_bench_owned` (owner name, size, loaded flag); an existing database is accepted only
  when it carries that table with the same owner. Anything else: SystemExit, nothing touched.
- SQLite: only a scratch file under the system temp folder or under var/bench/.
"""

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

MARKER = "redress_bench_owned"
ROOT = Path(__file__).resolve().parents[2]


class NotBenchDatabase(SystemExit):
    pass


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def _admin_url(url: str) -> str:
    return urlsplit(url)._replace(path="/postgres").geturl()


def claim_database(url: str, owner: str, *, legacy_marker: str | None = None) -> bool:
    """Accept `url` as this benchmark's own database (creating it if missing).

    Returns True when the database was created now (empty). `legacy_marker` is an older
    marker table name that also proves ownership (bench_dashboard's `bench_dashboard_owned`).
    """
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(urlsplit(url).path).resolve()
        scratch = [Path(tempfile.gettempdir()).resolve(), (ROOT / "var" / "bench").resolve()]
        if not any(path.is_relative_to(folder) for folder in scratch):
            raise NotBenchDatabase(
                f"{owner}: refusing SQLite database {path}: benchmarks write only to scratch "
                f"files under {scratch[0]} or {scratch[1]}."
            )
        return not path.exists()
    if scheme not in ("postgres", "postgresql"):
        raise NotBenchDatabase(f"{owner}: unsupported DATABASE_URL scheme {scheme!r}")
    import psycopg

    name = database_name(url)
    if not name or name in ("postgres", "template0", "template1"):
        raise NotBenchDatabase(f"{owner}: refusing database {name!r}")
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
            with psycopg.connect(url, autocommit=True) as own:
                own.execute(
                    f"CREATE TABLE {MARKER} (owner text NOT NULL, size bigint, "
                    "loaded boolean NOT NULL DEFAULT false, "
                    "created_at timestamptz NOT NULL DEFAULT now(), info jsonb)"
                )
                own.execute(f"INSERT INTO {MARKER} (owner) VALUES (%s)", [owner])  # noqa: S608
            print(f"{owner}: created database {name}")
            return True
    with psycopg.connect(url) as conn:
        marker = conn.execute("SELECT to_regclass(%s)", [MARKER]).fetchone()[0]
        owners = []
        if marker is not None:
            owners = [row[0] for row in conn.execute(f"SELECT owner FROM {MARKER}")]  # noqa: S608
        legacy = (
            legacy_marker and conn.execute("SELECT to_regclass(%s)", [legacy_marker]).fetchone()[0]
        )
    if owner in owners or legacy:
        return False
    raise NotBenchDatabase(
        f"{owner}: database {name} was not created by this benchmark (no {MARKER} table "
        f"naming {owner!r}); refusing to touch it. Point DATABASE_URL at a database of the "
        "benchmark's own, or unset it to use the default."
    )


def drop_database(url: str, owner: str) -> None:
    """Drop a database this benchmark owns (checked first), e.g. to reload another size."""
    import psycopg

    claim_database(url, owner)
    name = database_name(url)
    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    print(f"{owner}: dropped database {name}")
