"""Benchmark of the SLA clock: deadlines per second on the default China calendar.

Run from the project root: .venv/bin/python tests/benchmarks/bench_clock.py [--n 100000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import chinese_calendar

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from complaints.sla.clock import WorkCalendar  # noqa: E402

TARGET = 20_000  # complaints per second
YEARS = {2026, 2027}


def china_calendar() -> WorkCalendar:
    """Mon-Fri 09:00-18:00 with the chinese_calendar data for 2026-2027 (where it exists)."""
    holidays = {d for d in chinese_calendar.holidays if d.year in YEARS}
    workdays = {d for d in chinese_calendar.workdays if d.year in YEARS}
    return WorkCalendar.default(
        holidays=holidays, workdays=workdays, known_years={d.year for d in holidays}
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000, help="number of complaints")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()

    calendar = china_calendar()
    rng = random.Random(args.seed)
    start = datetime(2026, 1, 1, tzinfo=calendar.tz)
    year = 365 * 86_400
    received = [
        start + timedelta(seconds=rng.randrange(year), microseconds=rng.randrange(1_000_000))
        for _ in range(args.n)
    ]
    day = calendar.day_seconds
    # Acknowledge, first response and resolve deadlines, and their 75% warning points.
    amounts = [day, day * 3 // 4, 2 * day, 2 * day * 3 // 4, 7 * day, 7 * day * 3 // 4]

    add = calendar.add
    began = time.perf_counter()
    for received_at in received:
        for seconds in amounts:
            add(received_at, seconds)
    elapsed = time.perf_counter() - began

    rate = args.n / elapsed
    print(
        f"deadlines: {args.n} complaints x {len(amounts)} points in {elapsed:.2f} s"
        f" = {rate:,.0f} complaints/s (target >= {TARGET:,})"
    )
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
