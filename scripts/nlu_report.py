"""Cross-validate the NLU (5 folds) and write docs/nlu.md: `python -m scripts.nlu_report`.

Runs `rasa test nlu --cross-validation` on assistant/data/nlu with config.yml, then turns
Rasa's intent_report.json into a table: per-intent precision, recall, F1, the intents each
one is confused with, the macro-F1 and whether the goals hold.
"""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from scripts.paths import RASA_BIN, ROOT, VAR_DIR, rasa_env

FOLDS = 5
OUT_DIR = VAR_DIR / "nlu-report"
DOC_PATH = ROOT / "docs" / "nlu.md"
GOAL_MACRO_F1 = 0.90
GOAL_MIN_F1 = 0.80
COMMAND = [
    str(RASA_BIN), "test", "nlu",
    "--nlu", "assistant/data/nlu",
    "--config", "config.yml",
    "--domain", "assistant/domain",
    "--cross-validation", "--folds", str(FOLDS),
    "--out", str(OUT_DIR),
    "--no-plot",
]  # fmt: skip
SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def render(report: dict, today: date) -> str:
    """Markdown for docs/nlu.md from an intent report."""
    intents = {k: v for k, v in report.items() if k not in SUMMARY_KEYS}
    macro_f1 = report["macro avg"]["f1-score"]
    lowest = min(intents.items(), key=lambda item: item[1]["f1-score"])
    met = macro_f1 >= GOAL_MACRO_F1 and lowest[1]["f1-score"] >= GOAL_MIN_F1
    lines = [
        "# NLU quality (cross-validation)",
        "",
        f"Measured on {today.isoformat()} with `make nlu-report`, which runs:",
        "",
        "```",
        " ".join(Path(part).name if part == str(RASA_BIN) else part for part in COMMAND),
        "```",
        "",
        f"- {FOLDS}-fold cross-validation on the training data (`assistant/data/nlu`), "
        f"{sum(v['support'] for v in intents.values())} examples, {len(intents)} intents.",
        f"- **Macro-F1: {macro_f1:.3f}** (goal ≥ {GOAL_MACRO_F1:.2f}); lowest intent F1: "
        f"**{lowest[1]['f1-score']:.3f}** (`{lowest[0]}`, goal ≥ {GOAL_MIN_F1:.2f}).",
        f"- Goals {'met' if met else 'NOT met'}.",
        "",
        "| intent | precision | recall | F1 | support | confused with |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, scores in sorted(intents.items(), key=lambda item: item[1]["f1-score"]):
        confused = ", ".join(
            f"{other} ({count})" for other, count in (scores.get("confused_with") or {}).items()
        )
        lines.append(
            f"| {name} | {scores['precision']:.3f} | {scores['recall']:.3f} | "
            f"{scores['f1-score']:.3f} | {scores['support']} | {confused} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    print(f"[nlu-report] Validation croisée en {FOLDS} plis (plusieurs minutes)…", flush=True)
    result = subprocess.run(COMMAND, cwd=ROOT, env=rasa_env())
    if result.returncode != 0:
        print(f"[nlu-report] rasa test nlu failed ({result.returncode})", file=sys.stderr)
        return result.returncode
    report = json.loads((OUT_DIR / "intent_report.json").read_text(encoding="utf-8"))
    DOC_PATH.write_text(render(report, date.today()), encoding="utf-8")
    print(f"[nlu-report] {DOC_PATH.relative_to(ROOT)} écrit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
