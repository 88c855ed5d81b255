#!/usr/bin/env python3
"""Renders the service template's deployment files for offline checks, as cargo-generate would.

Only `{{ name }}` substitutions are supported: a deployment file of the template must not use
Liquid tags (`{% ... %}`), so that what is checked is exactly what every generated service gets.
Placeholders default to those of templates/service/cargo-generate.toml; `--define NAME=VALUE`
overrides one (`project-name` defaults to `example-service`).

Usage: render_template.py OUT_DIR [--define NAME=VALUE]...
Writes OUT_DIR/<file> for each templates/service/deploy/* file.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "service"
VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_-]*)\s*\}\}")


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    config = tomllib.loads((TEMPLATE / "cargo-generate.toml").read_text())
    values = {name: str(p.get("default", "")) for name, p in config.get("placeholders", {}).items()}
    values["project-name"] = "example-service"
    values["crate_name"] = "example_service"
    args = argv[2:]
    while args:
        if args[0] != "--define" or len(args) < 2 or "=" not in args[1]:
            print(f"render_template.py: expected --define NAME=VALUE, found {args[0]!r}",
                  file=sys.stderr)
            return 2
        name, value = args[1].split("=", 1)
        values[name] = value
        args = args[2:]

    out.mkdir(parents=True, exist_ok=True)
    status = 0
    for source in sorted((TEMPLATE / "deploy").iterdir()):
        text = source.read_text()
        if "{%" in text:
            print(f"{source}: uses a Liquid tag; deployment files may only use {{{{ name }}}}",
                  file=sys.stderr)
            status = 1
            continue
        unknown = sorted({m.group(1) for m in VARIABLE.finditer(text)} - set(values))
        if unknown:
            print(f"{source}: unknown placeholder(s) {unknown}", file=sys.stderr)
            status = 1
            continue
        (out / source.name).write_text(VARIABLE.sub(lambda m: values[m.group(1)], text))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
