"""Case F (issue 17): events through NATS JetStream, servicekit's outbox-to-consumer path
against a bare async-nats loop (`sk-events`, see bench/src/events/), in alternating rounds.

Each run of `sk-events bare|servicekit` sends BENCH_EVENTS_WARMUP events, then BENCH_EVENTS
measured ones, and prints one JSON line: events/s (first measured event handed over to the last
one received) and the sent-to-received latency p50/p99/max. The process is not pinned: the
framework path also drives PostgreSQL and NATS, which run on the same cores. Its settings are
the BENCH_EVENTS* variables (bench/src/events/mod.rs), passed through from the environment.
"""

import json
import os
import statistics
import subprocess

from . import settings as s
from .procs import BenchError, quiesce

F_CASES = {
    "F-bare": ("bare", "async-nats alone: JetStream publish, ack awaited, to a durable pull "
               "consumer that acks each message"),
    "F-servicekit": ("servicekit", "servicekit: one event staged per PostgreSQL transaction "
                     "(outbox), relayed to JetStream, consumed with an inbox row per event"),
}
KEYS = ("events_per_s", "p50_ms", "p99_ms")


def selected():
    """The F cases BENCH_CASES selects (all when it is empty)."""
    return [case for case in F_CASES if s.selected(case)]


def run_events():
    """BENCH_ROUNDS rounds of the selected F cases; {} when none is selected."""
    cases = selected()
    if not cases:
        return {}
    rounds = {case: [] for case in cases}
    for number in range(1, s.ROUNDS + 1):
        print(f"events round {number} of {s.ROUNDS}:", flush=True)
        for case in cases:
            quiesce()
            load = os.getloadavg()[0]
            mode = F_CASES[case][0]
            proc = subprocess.run([str(s.RELEASE / "sk-events"), mode],
                                  env={**os.environ, "BENCH_PG": s.PG, "BENCH_NATS": s.NATS},
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise BenchError(f"sk-events {mode} failed ({proc.returncode}):\n{proc.stderr}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            result["load_average_1m"] = round(load, 2)
            rounds[case].append(result)
            print(f"  {case}: {result['events_per_s']:.0f} events/s, "
                  f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, "
                  f"load {load:.2f}", flush=True)
    return {case: {"what": F_CASES[case][1], **summarise(rounds[case]),
                   "all_rounds": rounds[case]} for case in cases}


def summarise(rounds):
    """Median, min and max over the rounds of each key in KEYS."""
    out = {"rounds": len(rounds), "events": rounds[0]["events"]}
    for key in KEYS:
        values = [r[key] for r in rounds]
        out[key] = {"median": round(statistics.median(values), 3),
                    "min": round(min(values), 3), "max": round(max(values), 3)}
    out["duplicates_max"] = max(r["duplicates"] for r in rounds)
    out["load_average_1m"] = [r["load_average_1m"] for r in rounds]
    return out


def lines(events):
    """The Markdown table of the F cases of one run."""
    if not events:
        return []
    out = ["", "Events (case F, `sk-events`; not pinned, PostgreSQL and NATS on the same cores). "
           "Figures: median (min–max) over the rounds.", "",
           "| case | what | events | events/s | p50 ms | p99 ms | load (1 min) per round |",
           "|---|---|---:|---:|---:|---:|---|"]
    for case, r in events.items():
        def spread(key, fmt):
            m = r[key]
            return f"{m['median']:{fmt}} ({m['min']:{fmt}}–{m['max']:{fmt}})"
        out.append(f"| {case} | {r['what']} | {r['events']} | {spread('events_per_s', '.0f')} "
                   f"| {spread('p50_ms', '.2f')} | {spread('p99_ms', '.2f')} "
                   f"| {r['load_average_1m']} |")
    return out
