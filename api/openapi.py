"""The API's contract, committed: `python -m api.openapi [--check]`.

Writes `api/openapi.json`, the OpenAPI schema of the app as development settings build it, keys
sorted, so that a change of the API shows in review and the assistant's side can be checked
against it without starting anything (tests/actions/contract.py). `--check` (in `make lint`)
fails when the committed file is not what the code gives. Outside development the app serves
no /openapi.json; this builds the schema directly.
"""

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from api.config import Settings
from api.main import create_app

SCHEMA_PATH = Path(__file__).resolve().parent / "openapi.json"


def build_schema() -> dict[str, Any]:
    """The schema of the app of development settings (the environment and .env ignored)."""
    app = create_app(Settings(_env_file=None, env="development"))
    try:
        return app.openapi()
    finally:
        app.state.context.dispose()


def render(schema: dict[str, Any]) -> str:
    """The schema as committed: sorted keys, two-space indents, UTF-8, a final newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="fail if the committed schema is out of date"
    )
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    expected = render(build_schema())
    if not args.check:
        args.path.write_text(expected, encoding="utf-8")
        print(f"[openapi] {args.path.name} written")
        return 0
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
    if current == expected:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        expected.splitlines(keepends=True),
        fromfile=f"{args.path.name} (committed)",
        tofile=f"{args.path.name} (from the code)",
        n=2,
    )
    sys.stderr.writelines(list(diff)[:60])
    print(
        f"[openapi] {args.path.name} is out of date: run `.venv/bin/python -m api.openapi` "
        "and update the assistant's side if a field changed (tests/actions/contract.py).",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
