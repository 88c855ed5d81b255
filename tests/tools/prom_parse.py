#!/usr/bin/env python3
"""Parses a Prometheus text exposition from stdin with the official prometheus_client parser and
prints {"families": {name: {"type": ..., "samples": [[name, labels, value], ...]}}} as JSON.
Exits 1 with the parser's message if the text is invalid."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

try:
    families = {}
    for family in text_string_to_metric_families(sys.stdin.read()):
        families[family.name] = {
            "type": family.type,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
except Exception as e:  # the parser raises ValueError and friends on malformed input
    print(f"invalid exposition: {e}", file=sys.stderr)
    sys.exit(1)
print(json.dumps({"families": families}))
