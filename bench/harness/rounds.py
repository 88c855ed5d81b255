"""Alternating rounds of load cases, shared by bench/run.py and bench/cache.py."""

from . import settings as s
from .procs import quiesce


def run_rounds(cases, workdir, log_dir, measure, extra=lambda result: ""):
    """BENCH_ROUNDS rounds of every case, in the same order each round; returns each case's
    results by id. `measure(case, server)` measures one started server; `extra(result)` adds
    text to the line printed for it."""
    rounds = {c.id: [] for c in cases}
    for number in range(1, s.ROUNDS + 1):
        print(f"round {number} of {s.ROUNDS}:", flush=True)
        for case in cases:
            quiesce()
            server = case.start(workdir, log_dir)
            try:
                server.wait_ready(case.ready, case.check_headers)
                r = measure(case, server)
            finally:
                server.stop()
            rounds[case.id].append(r)
            print(f"  {case.id}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.3f} ms, "
                  f"p99 {r['p99_ms']:.3f} ms, {r['cpu_us_per_req']} µs/req, {extra(r)}"
                  f"steal {r['server_cpu_steal_pct']} %", flush=True)
    return rounds
