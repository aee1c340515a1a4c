"""Deadline computation through the SLA service, as intake and recomputation use it.

    .venv/bin/python tests/benchmarks/bench_deadlines.py [--n 100000]

Uses DATABASE_URL if set, else a scratch SQLite file; loads the default policies and the
2026 China holidays, then computes every deadline and warning point (policy match, three
deadlines, three warning points, provisional flag, next deadline) for N in-memory complaints
received over 2026. Target: at least 20,000 complaints per second in-process.
"""

import argparse
import io
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/redress-bench-deadlines.sqlite3")
TARGET = 20_000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    from tests.benchmarks.guard import claim_database

    claim_database(os.environ["DATABASE_URL"], "bench_deadlines")

    import django

    django.setup()
    from django.core.management import call_command

    from complaints.models import Complaint, Customer, Severity
    from complaints.services import sla

    quiet = io.StringIO()
    call_command("migrate", verbosity=0)
    call_command("load_holidays", "--country", "CN", "--year", "2026", stdout=quiet)
    ctx = sla.Context.load()

    rnd = random.Random(2026)
    tz = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 1, 1, tzinfo=tz)
    tiers = Customer.Tier.values
    complaints = [
        (
            Complaint(
                severity=rnd.choices(Severity.values, weights=(1, 6, 13, 80))[0],
                received_at=start + timedelta(seconds=rnd.randrange(365 * 86400)),
                status="new",
            ),
            rnd.choice(tiers),
        )
        for _ in range(args.n)
    ]
    began = time.perf_counter()
    for complaint, tier in complaints:
        sla.compute(complaint, ctx, tier=tier)
    elapsed = time.perf_counter() - began
    rate = args.n / elapsed
    print(
        f"deadlines via sla.compute: {args.n:,} complaints in {elapsed:.2f} s = "
        f"{rate:,.0f} complaints/s (target >= {TARGET:,})"
    )
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
