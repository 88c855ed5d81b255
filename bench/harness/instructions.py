"""Instructions per request under `valgrind --tool=callgrind`: a figure CPU steal and other
processes on the machine do not move (the VM exposes no hardware counters to `perf stat`).

Per case: start the server under callgrind (pinned to SERVER_CPU), send INSTR_WARMUP requests
from the fixed client below, then `callgrind_control --dump` (dump 1: startup and warm-up, which
also resets the counters), send exactly INSTR_REQUESTS requests, dump again (dump 2: only the
measured window), wait one idle second and dump a third time (the instructions an idle server
spends per second, to show the window holds nothing but the requests). Instructions per request
= dump 2's total / INSTR_REQUESTS."""

import asyncio
import itertools
import re
import shutil
import subprocess
import time
from pathlib import Path

from . import settings as s
from .procs import BenchError, quiesce

TOTALS = re.compile(r"^(?:summary|totals):\s+(\d+)", re.M)


async def _connection(count, path, next_headers):
    """`count` keep-alive GETs, one after the other, on one connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", s.PORT)
    try:
        for _ in range(count):
            lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{s.PORT}"]
            lines += [f"{k}: {v}" for k, v in next_headers().items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
            await writer.drain()
            status = await reader.readline()
            if b" 200 " not in status:
                raise BenchError(f"GET {path} answered {status!r}, not 200")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
    finally:
        writer.close()


def fixed_client(requests, path, headers=None, tokens=()):
    """Exactly `requests` GETs over INSTR_CONCURRENCY keep-alive connections (requests split
    evenly), each connection sending its next request when the previous answer is read; with
    `tokens`, each request carries the next token of the rotation."""
    if tokens:
        rotation = itertools.cycle(tokens)

        def next_headers():
            return {"Authorization": f"Bearer {next(rotation)}"}
    else:
        def next_headers():
            return headers or {}

    n = s.INSTR_CONCURRENCY
    shares = [requests // n + (1 if i < requests % n else 0) for i in range(n)]

    async def all_connections():
        await asyncio.gather(*(_connection(c, path, next_headers) for c in shares if c))

    asyncio.run(all_connections())


def _dump(pid, out_dir, number):
    """Asks callgrind in `pid` for a dump (which also zeroes its counters); returns the
    dump's total instructions."""
    subprocess.run(["callgrind_control", "--dump", str(pid)], check=True,
                   capture_output=True, timeout=120)
    path = Path(out_dir) / f"callgrind.out.{pid}.{number}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists():
            m = TOTALS.search(path.read_text(errors="replace"))
            if m:
                return int(m.group(1))
        time.sleep(0.1)
    raise BenchError(f"callgrind dump {path} did not appear")


def measure_case(case, workdir, log_dir):
    """Instructions of `case`'s server: per request in the window, startup + warm-up, and per
    idle second."""
    out_dir = Path(workdir) / f"callgrind-{case.id}"
    out_dir.mkdir()
    prefix = ["valgrind", "--tool=callgrind", "--quiet",
              f"--callgrind-out-file={out_dir}/callgrind.out.%p"]
    server = case.start(workdir, log_dir, prefix)
    try:
        server.wait_ready(case.ready, timeout=300)
        # C-many: every token once (all cached) before the window, then the usual warm-up.
        warmup = s.INSTR_WARMUP + len(case.tokens)
        fixed_client(warmup, case.path, case.headers, case.tokens)
        startup = _dump(server.pid, out_dir, 1)
        started = time.monotonic()
        fixed_client(s.INSTR_REQUESTS, case.path, case.headers, case.tokens)
        window_s = time.monotonic() - started
        window = _dump(server.pid, out_dir, 2)
        time.sleep(1.0)
        idle = _dump(server.pid, out_dir, 3)
    finally:
        server.stop(keep_log=False)
    result = {"requests": s.INSTR_REQUESTS,
              "instructions_per_req": round(window / s.INSTR_REQUESTS),
              "instructions_window": window,
              "instructions_startup_and_warmup": startup,
              "instructions_idle_per_s": idle,
              "window_s_under_valgrind": round(window_s, 1)}
    print(f"  {case.id}: {result['instructions_per_req']} instructions/request "
          f"(idle {idle}/s)", flush=True)
    return result


def run_all(cases, workdir, log_dir):
    """Instructions per request of each case named in BENCH_INSTR_CASES (and BENCH_CASES)."""
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} not found on PATH (Debian: apt-get install valgrind)")
    by_id = {c.id: c for c in cases}
    results = {}
    for case_id in s.INSTR_CASES:
        if not s.selected(case_id):
            continue
        if case_id not in by_id:
            raise BenchError(f"BENCH_INSTR_CASES names {case_id}, which is no case")
        quiesce()
        results[case_id] = {"what": by_id[case_id].what,
                            **measure_case(by_id[case_id], workdir, log_dir)}
    return results
