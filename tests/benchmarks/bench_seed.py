"""Demo data at scale: `seed_demo --complaints 100000` on a fresh SQLite file.

    .venv/bin/python tests/benchmarks/bench_seed.py [--n 100000] [--database-url URL]

Target (issue: Foundation): 100,000 complaints in under 2 minutes on SQLite.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_SECONDS = 120


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/bench-seed.sqlite3"
        env = {**os.environ, "DATABASE_URL": url}
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, check=True)
        began = time.perf_counter()
        subprocess.run(
            [*manage, "seed_demo", "--complaints", str(args.n), "-v0"], env=env, check=True
        )
        elapsed = time.perf_counter() - began
    print(
        f"seed_demo: {args.n:,} complaints in {elapsed:.1f} s = {args.n / elapsed:,.0f}/s "
        f"(target: {TARGET_SECONDS} s for 100,000)"
    )
    return 0 if elapsed * 100_000 / args.n < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
