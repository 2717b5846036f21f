#!/usr/bin/env python3
"""Keeps the module graph pointing one way.

Every header and source under include/registry_redirector/<module>/,
src/<module>/ and tests/unit/<module>/ may include only its own module's
headers and those of the modules below it (ORDER below, the same order as
the README's "Architecture" table). Any other include of ours is reported with
file and line, and the exit status is 1.

Usage: check_layers.py [REPO_ROOT]
"""
import pathlib
import re
import sys

# Bottom to top: a module may include its own headers and those of the
# modules below it, never one above.
ORDER = ["net", "lpm", "data", "config", "routing", "telemetry", "mirrors", "http", "admin", "app"]
MAY_USE = {m: set(ORDER[:i]) for i, m in enumerate(ORDER)}

INCLUDE = re.compile(r'^\s*#\s*include\s+"registry_redirector/([a-z_]+)/[^"]+"')


def module_of(path: pathlib.Path, root: pathlib.Path):
    parts = path.relative_to(root).parts
    if parts[:2] == ("include", "registry_redirector") and len(parts) > 3:
        return parts[2]
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    if parts[:2] == ("tests", "unit") and len(parts) > 3:
        return parts[2]
    return None


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
    return check(root)


def check(root: pathlib.Path) -> int:
    problems = []
    checked = 0
    for folder in ("include/registry_redirector", "src", "tests/unit"):
        for path in sorted((root / folder).rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h"):
                continue
            module = module_of(path, root)
            if module is None:
                continue
            checked += 1
            if module not in MAY_USE:
                problems.append(f"{path.relative_to(root)}: module '{module}' is not in the module table")
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = INCLUDE.match(line)
                if not match:
                    continue
                used = match.group(1)
                if used != module and used not in MAY_USE[module]:
                    problems.append(f"{path.relative_to(root)}:{number}: '{module}' may not include '{used}' "
                                    f"(it may use: {', '.join(sorted(MAY_USE[module])) or 'nothing'})")
    for p in problems:
        print(p)
    print(f"check_layers: {checked} files, {len(problems)} upward or unknown includes")
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
