"""One measured wrk run against a started server."""

import re

from . import settings as s
from .procs import BenchError, HostSample, http_status, run

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_latency_ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not m:
        raise BenchError(f"unparsable wrk latency {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def wrk(duration, path, headers, script=None):
    argv = ["taskset", "-c", s.CLIENT_CPU, "wrk", f"-t{s.THREADS}", f"-c{s.CONNECTIONS}",
            f"-d{duration}", "--latency"]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    if script:
        argv += ["-s", str(script)]
    argv.append(f"http://127.0.0.1:{s.PORT}{path}")
    out = run(argv)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in ([\d.]+)(s|m)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (rps and total and p50 and p99):
        raise BenchError(f"unparsable wrk output:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    if bad:
        raise BenchError(f"{bad.group(1)} non-2xx responses:\n{out}")
    return {
        "requests": int(total.group(1)),
        "seconds": float(total.group(2)) * (60 if total.group(3) == "m" else 1),
        "rps": float(rps.group(1)),
        "p50_ms": parse_latency_ms(p50.group(1)),
        "p99_ms": parse_latency_ms(p99.group(1)),
        "socket_errors": errors.group(0) if errors else None,
    }


def measure(case, server):
    """Checks one request answers 200, warms up, then loads and measures `server`: one round
    of `case` (requests/s, p50, p99, server CPU µs per request, peak RSS, log bytes, and the
    core's steal and the dirty page cache while it ran)."""
    status = http_status(case.path, case.check_headers)
    if status != 200:
        raise BenchError(f"{case.id}: GET {case.path} answered {status}, not 200:\n"
                         f"{server.tail()}")
    wrk(s.WARMUP, case.path, case.headers, case.script)
    host = HostSample()
    cpu0, log0 = server.cpu_seconds(), server.log_bytes()
    result = wrk(s.DURATION, case.path, case.headers, case.script)
    cpu = server.cpu_seconds() - cpu0
    log1 = server.log_bytes()
    result["cpu_s"] = round(cpu, 2)
    result["cpu_us_per_req"] = round(cpu / result["requests"] * 1e6, 1)
    # How much of its core the server got: well below 100 % means it waited (for the client,
    # or for a core taken by steal or other processes), not that it was saturated.
    result["server_core_pct"] = round(100 * cpu / result["seconds"], 1)
    result["peak_rss_mib"] = round(server.status_kib("VmHWM") / 1024, 1)
    result["log_bytes_per_req"] = (None if log0 is None
                                   else round((log1 - log0) / result["requests"], 1))
    result.update(host.since())
    return result
