"""Medians and spreads over the rounds, the ratios against the issue's targets, and the
Markdown report."""

import statistics

from . import events as f_events
from . import settings as s

SPREAD_KEYS = ("rps", "p50_ms", "p99_ms", "cpu_us_per_req")


def summarise(rounds):
    """Median, min and max over the rounds of one case for each key in SPREAD_KEYS; the
    largest peak RSS and steal, the median log bytes per request."""
    out = {"rounds": len(rounds)}
    for key in SPREAD_KEYS:
        values = [r[key] for r in rounds]
        out[key] = {"median": round(statistics.median(values), 3),
                    "min": min(values), "max": max(values)}
    out["peak_rss_mib"] = max(r["peak_rss_mib"] for r in rounds)
    logs = [r["log_bytes_per_req"] for r in rounds if r["log_bytes_per_req"] is not None]
    out["log_bytes_per_req"] = round(statistics.median(logs), 1) if logs else None
    out["server_cpu_steal_pct_max"] = max(r["server_cpu_steal_pct"] for r in rounds)
    out["server_core_pct_median"] = statistics.median(r["server_core_pct"] for r in rounds)
    return out


def _ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def _pair(table, a, b, value):
    """value(table[a]) / value(table[b]) when both exist and come from the same run (a
    merged report holds entries of several runs: see harness/merge.py)."""
    if a not in table or b not in table or table[a].get("run") != table[b].get("run"):
        return None
    return _ratio(value(table[a]), value(table[b]))


def _difference(table, a, b, key):
    """median `key` of table[a] minus that of table[b], both from the same run."""
    if a not in table or b not in table or table[a].get("run") != table[b].get("run"):
        return None
    return round(table[a][key]["median"] - table[b][key]["median"], 3)


def _median_of(key):
    return lambda r: r[key]["median"]


def _per_req(r):
    return r["instructions_per_req"]


# Targets of issue 15 (requests/s of a case over A's, from medians of the same run).
RPS_TARGETS = {"B-warn": ">= 0.90", "B-info": ">= 0.80", "C-ES256-warn": ">= 0.85",
               "C-RS256-warn": ">= 0.85", "C-ES256-info": "", "C-RS256-info": "",
               "C-many-ES256-warn": ">= 0.80", "C-nocache-ES256-warn": "",
               "C-nocache-RS256-warn": ""}
# Instructions per request of a case over A's: the cost bound the req/s target implies on a
# saturated server core (1 / 0.90, 1 / 0.80, 1 / 0.85).
INSTR_TARGETS = {"B-warn": "<= 1.111", "B-info": "<= 1.25", "C-ES256-warn": "<= 1.176",
                 "C-RS256-warn": "<= 1.176", "C-many-ES256-warn": "<= 1.25",
                 "C-nocache-ES256-warn": "", "C-nocache-RS256-warn": ""}
P99_CASES = ("B-warn", "B-info", "C-ES256-warn", "C-RS256-warn", "C-ES256-info",
             "C-RS256-info", "C-many-ES256-warn")
# Case D over the hand-written axum + sqlx twin (issue 15: student-service; issue 16: the
# twin's handler on the typed pool).
D_TARGETS = {"D-servicekit": ">= 0.95", "D-servicekit-warn": ">= 0.95",
             "D-typed": ">= 0.95", "D-typed-warn": ">= 0.95"}


def ratios(cases, footprint, instructions, events=None):
    """Every ratio with its target (empty: for information) and whether it is met."""
    out = {}
    events = events or {}
    # Issue 17: the outbox path keeps at least half the bare loop's throughput.
    out["events/s F-servicekit / F-bare"] = (
        _pair(events, "F-servicekit", "F-bare", _median_of("events_per_s")), ">= 0.5")
    out["p50 F-servicekit / F-bare"] = (
        _pair(events, "F-servicekit", "F-bare", _median_of("p50_ms")), "")
    out["p99 F-servicekit / F-bare"] = (
        _pair(events, "F-servicekit", "F-bare", _median_of("p99_ms")), "")
    # Issue 18: the gateway against nginx (one worker each) and against the direct call.
    out["req/s G-gateway / G-nginx"] = (_pair(cases, "G-gateway", "G-nginx", _median_of("rps")),
                                        ">= 0.80")
    out["p99 ms G-gateway - G-direct"] = (_difference(cases, "G-gateway", "G-direct", "p99_ms"),
                                          "<= 1.0")
    out["p99 ms G-nginx - G-direct"] = (_difference(cases, "G-nginx", "G-direct", "p99_ms"), "")
    out["p50 ms G-gateway - G-direct"] = (_difference(cases, "G-gateway", "G-direct", "p50_ms"),
                                          "")
    out["p50 ms G-nginx - G-direct"] = (_difference(cases, "G-nginx", "G-direct", "p50_ms"), "")
    out["req/s G-gateway / G-direct"] = (
        _pair(cases, "G-gateway", "G-direct", _median_of("rps")), "")
    out["req/s G-nginx / G-direct"] = (_pair(cases, "G-nginx", "G-direct", _median_of("rps")), "")
    out["CPU µs/req G-gateway / G-nginx"] = (
        _pair(cases, "G-gateway", "G-nginx", _median_of("cpu_us_per_req")), "")
    for case, target in RPS_TARGETS.items():
        out[f"req/s {case} / A"] = (_pair(cases, case, "A", _median_of("rps")), target)
    for case in P99_CASES:
        out[f"p99 {case} / A"] = (_pair(cases, case, "A", _median_of("p99_ms")), "<= 1.2")
    for case in RPS_TARGETS:
        out[f"CPU µs/req {case} / A"] = (_pair(cases, case, "A", _median_of("cpu_us_per_req")),
                                         "")
    for case, target in INSTR_TARGETS.items():
        out[f"instructions/req {case} / A"] = (_pair(instructions, case, "A", _per_req), target)
    for level in ("info", "warn"):
        for alg in ("ES256", "RS256"):
            out[f"req/s C-{alg}-{level} / E-{alg}"] = (
                _pair(cases, f"C-{alg}-{level}", f"E-{alg}", _median_of("rps")), ">= 10")
    for case, target in D_TARGETS.items():
        out[f"req/s {case} / D-handwritten"] = (
            _pair(cases, case, "D-handwritten", _median_of("rps")), target)
    for case in D_TARGETS:
        out[f"CPU µs/req {case} / D-handwritten"] = (
            _pair(cases, case, "D-handwritten", _median_of("cpu_us_per_req")), "")
        out[f"instructions/req {case} / D-handwritten"] = (
            _pair(instructions, case, "D-handwritten", _per_req), "")
    service = footprint.get("student-service (SQLite)")
    if service:
        out["student-service ready ms (median)"] = (service["ready_ms_median"], "<= 50")
        out["student-service idle RSS MiB"] = (service["idle_rss_mib_median"], "<= 20")
    return {k: {"value": v, "target": t, "met": met(v, t)}
            for k, (v, t) in out.items() if v is not None}


def met(value, target):
    if not target:
        return None
    op, bound = target.split()
    return value >= float(bound) if op == ">=" else value <= float(bound)


def _spread(r, key, fmt):
    m = r[key]
    return f"{m['median']:{fmt}} ({m['min']:{fmt}}–{m['max']:{fmt}})"


def _run_lines(run, cases, instr, events=None):
    """The header of one run and the tables of its cases, instructions and events."""
    mach, st = run["machine"], run["settings"]
    lines = [f"Run {run['date']} (commit {run['commit']}) on {mach['cpus']} CPUs "
             f"({mach['cpu_model']}), {mach['ram_gib']} GiB RAM; load average at start "
             f"{mach['load_average_at_start']}.", ""]
    if cases:
        logs = ("discarded (/dev/null)" if st["log_dir"] == "null"
                else f"to a file in {st['log_dir']}")
        lines += [f"{st['rounds']} alternating rounds; per case `wrk -t{st['threads']} "
                  f"-c{st['connections']} -d{st['duration']} --latency` after {st['warmup']} of "
                  f"warm-up; server on CPU {st['server_cpu']}, wrk on CPU {st['client_cpu']}; "
                  f"`sync` {'and ' if st['sync_between_cases'] else 'off, '}"
                  f"{st['pause_s']} s pause between cases; server output {logs}. "
                  "Figures: median (min–max) over the rounds.", "",
                  "| case | what | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MiB "
                  "| log B/req | server core % | steal % (max) |",
                  "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for case, r in cases.items():
            lines.append(f"| {case} | {r['what']} | {_spread(r, 'rps', '.0f')} "
                         f"| {_spread(r, 'p50_ms', '.2f')} | {_spread(r, 'p99_ms', '.2f')} "
                         f"| {_spread(r, 'cpu_us_per_req', '.1f')} | {r['peak_rss_mib']} "
                         f"| {'–' if r['log_bytes_per_req'] is None else r['log_bytes_per_req']} "
                         f"| {r['server_core_pct_median']} "
                         f"| {r['server_cpu_steal_pct_max']} |")
        if any(case.startswith("G-") for case in cases):
            lines += ["", "Case G: the proxy (gateway, nginx) on CPU "
                      f"{st['server_cpu']}, student-service on CPU "
                      f"{st.get('upstream_cpu', st['client_cpu'])} next to wrk, in all three "
                      "cases; CPU, core % and RSS are the proxy's (G-direct: student-service's; "
                      "nginx: master + worker)."]
    if instr:
        base = instr.get("A", {}).get("instructions_per_req")
        lines += ["", f"Instructions per request (`valgrind --tool=callgrind`, "
                  f"{st['instr_requests']} keep-alive requests on {st['instr_concurrency']} "
                  f"connections after {st['instr_warmup']} of warm-up, counted between two "
                  "`callgrind_control --dump`s):", "",
                  "| case | instructions/request | / A | startup + warm-up | idle, 1 s |",
                  "|---|---:|---:|---:|---:|"]
        for case, r in instr.items():
            per = r["instructions_per_req"]
            lines.append(f"| {case} | {per:,} | {_ratio(per, base) or '–'} "
                         f"| {r['instructions_startup_and_warmup']:,} "
                         f"| {r['instructions_idle_per_s']:,} |")
    lines += f_events.lines(events)
    return lines


def markdown(report):
    """The report as Markdown: each run's cases and instructions (a merged report has
    several runs), then the ratios and the footprint."""
    runs = report.get("runs") or [report]
    lines = []
    for run in runs:
        if len(runs) > 1:
            lines += [f"### Run {run['date']}", ""]

        def of(section, date=run["date"]):
            return {k: v for k, v in report.get(section, {}).items()
                    if v.get("run", date) == date}

        lines += _run_lines(run, of("cases"), of("instructions"), of("events"))
        lines.append("")
    lines.pop()
    lines += ["", "| ratio (from medians) | measured | target | met |", "|---|---:|---|---|"]
    for name, r in report["ratios"].items():
        verdict = {True: "yes", False: "**no**", None: "(information)"}[r["met"]]
        lines.append(f"| {name} | {r['value']} | {r['target']} | {verdict} |")
    if report["footprint"]:
        lines += ["", f"Startup (median of {s.STARTUP_RUNS} starts, process start to "
                  "`/health/ready` 200) and footprint:", "",
                  "| process | ready ms (median) | all runs ms | idle RSS MiB | size MiB |",
                  "|---|---:|---|---:|---|"]
        for name, f in report["footprint"].items():
            lines.append(f"| {name} | {f['ready_ms_median']} | {f['ready_ms_all']} "
                         f"| {f['idle_rss_mib_median']} | {f['size_mib']} ({f['size_what']}) |")
    return "\n".join(lines) + "\n"
