"""Partial runs: the new run's cases, instructions and footprint replace their namesakes in the
previous latest.json and the others are kept, so that `BENCH_CASES=...` adds or redoes a few
cases without wiping the rest (BENCH_MERGE=0: the new run alone). Every entry names the run it
comes from (`run`: that run's date), `runs` lists each contributing run's date, commit, machine
and settings, and the report takes ratios only between entries of the same run."""

import json

from . import settings as s

SECTIONS = ("cases", "instructions", "footprint", "events")
RUN_KEYS = ("date", "commit", "machine", "settings")


def _tag(report):
    """Marks every entry of `report` without a run as coming from `report`'s own run (files
    written before the merge existed have no tags)."""
    for section in SECTIONS:
        for entry in report.get(section, {}).values():
            entry.setdefault("run", report["date"])


def _merged(old, new):
    """`old`'s entries in their order, each replaced by `new`'s namesake, then `new`'s others."""
    out = {k: new.get(k, v) for k, v in old.items()}
    out.update((k, v) for k, v in new.items() if k not in out)
    return out


def previous():
    """The previous latest.json, or None (none yet, or BENCH_MERGE=0)."""
    path = s.RESULTS / "latest.json"
    if not s.MERGE or not path.exists():
        return None
    return json.loads(path.read_text())


def merge(old, report):
    """`report` (the new run) with the entries of `old` it did not redo."""
    _tag(report)
    runs = {report["date"]: {k: report[k] for k in RUN_KEYS}}
    if old is not None:
        _tag(old)
        for run in old.get("runs") or [{k: old[k] for k in RUN_KEYS}]:
            runs.setdefault(run["date"], run)
        for section in SECTIONS:
            report[section] = _merged(old.get(section, {}), report[section])
    used = {e["run"] for section in SECTIONS for e in report[section].values()}
    report["runs"] = [runs[d] for d in sorted(runs) if d in used or d == report["date"]]
    return report
