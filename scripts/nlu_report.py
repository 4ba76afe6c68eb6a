"""Measure the NLU and write docs/nlu.md: `python -m scripts.nlu_report`.

Two measures, each a table of per-intent precision, recall, F1 and confusions:
- 5-fold cross-validation on the training data (assistant/data/nlu), which the goals of
  issue 4 are set on (macro-F1 >= 0.90, no intent under 0.80);
- a held-out set (tests/nlu/heldout.yml) written without looking at the training data and
  never trained on: the honest estimate of how new phrasings are understood;
- real messages (tests/nlu/real_messages.yml), what people wrote about their procedure, read
  by the model trained for the held-out set (scripts/nlu_real.py, also `make nlu-real`).
"""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from scripts import nlu_real
from scripts.paths import RASA_BIN, ROOT, VAR_DIR, rasa_env

FOLDS = 5
OUT_DIR = VAR_DIR / "nlu-report"
HELDOUT_DATA = "tests/nlu/heldout.yml"
HELDOUT_MODEL_DIR = OUT_DIR / "heldout-model"
DOC_PATH = ROOT / "docs" / "nlu.md"
GOAL_MACRO_F1 = 0.90
GOAL_MIN_F1 = 0.80
CROSS_VALIDATION = [
    str(RASA_BIN), "test", "nlu",
    "--nlu", "assistant/data/nlu",
    "--config", "config.yml",
    "--domain", "assistant/domain",
    "--cross-validation", "--folds", str(FOLDS),
    "--out", str(OUT_DIR / "cross-validation"),
    "--no-plot",
]  # fmt: skip
TRAIN_FOR_HELDOUT = [
    str(RASA_BIN), "train", "nlu",
    "--nlu", "assistant/data/nlu",
    "--config", "config.yml",
    "--out", str(HELDOUT_MODEL_DIR),
    "--fixed-model-name", "heldout",
]  # fmt: skip
TEST_HELDOUT = [
    str(RASA_BIN), "test", "nlu",
    "--model", str(HELDOUT_MODEL_DIR / "heldout.tar.gz"),
    "--nlu", HELDOUT_DATA,
    "--out", str(OUT_DIR / "heldout"),
    "--no-plot",
]  # fmt: skip
SUMMARY_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


def shown(command: list[str]) -> str:
    """A command as a reader would type it: `rasa …` and paths relative to the repository."""
    parts = ["rasa" if part == str(RASA_BIN) else part for part in command]
    return " ".join(part.replace(f"{ROOT}/", "") for part in parts)


def intents_of(report: dict) -> dict:
    return {name: scores for name, scores in report.items() if name not in SUMMARY_KEYS}


def table(report: dict) -> list[str]:
    """Markdown rows, weakest intent first."""
    lines = [
        "| intent | precision | recall | F1 | support | confused with |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, scores in sorted(intents_of(report).items(), key=lambda item: item[1]["f1-score"]):
        confused = ", ".join(
            f"{other} ({count})" for other, count in (scores.get("confused_with") or {}).items()
        )
        lines.append(
            f"| {name} | {scores['precision']:.3f} | {scores['recall']:.3f} | "
            f"{scores['f1-score']:.3f} | {scores['support']} | {confused} |"
        )
    return lines


def summary(report: dict) -> tuple[float, str, float]:
    """Macro-F1, and the weakest intent with its F1."""
    name, scores = min(intents_of(report).items(), key=lambda item: item[1]["f1-score"])
    return report["macro avg"]["f1-score"], name, scores["f1-score"]


def render(cross_validation: dict, heldout: dict, today: date, real: dict | None = None) -> str:
    """Markdown for docs/nlu.md from the two intent reports and the real-message report."""
    macro_f1, weakest, weakest_f1 = summary(cross_validation)
    met = macro_f1 >= GOAL_MACRO_F1 and weakest_f1 >= GOAL_MIN_F1
    heldout_f1, heldout_weakest, heldout_weakest_f1 = summary(heldout)
    examples = sum(scores["support"] for scores in intents_of(cross_validation).values())
    return "\n".join(
        [
            "# NLU quality",
            "",
            f"Measured on {today.isoformat()} with `make nlu-report` (`scripts/nlu_report.py`).",
            "How the pipeline of `config.yml` was chosen: [nlu-model.md](nlu-model.md).",
            "",
            "## Cross-validation on the training data (the goal)",
            "",
            "```",
            shown(CROSS_VALIDATION),
            "```",
            "",
            f"- {FOLDS}-fold cross-validation on `assistant/data/nlu`: {examples} examples, "
            f"{len(intents_of(cross_validation))} intents.",
            f"- **Macro-F1: {macro_f1:.3f}** (goal ≥ {GOAL_MACRO_F1:.2f}); lowest intent F1: "
            f"**{weakest_f1:.3f}** (`{weakest}`, goal ≥ {GOAL_MIN_F1:.2f}).",
            f"- Goals {'met' if met else 'NOT met'}.",
            "",
            *table(cross_validation),
            "",
            "## Held-out set (new phrasings, never trained on)",
            "",
            "```",
            shown(TRAIN_FOR_HELDOUT),
            shown(TEST_HELDOUT),
            "```",
            "",
            f"- `{HELDOUT_DATA}`: written from the intent definitions only, without reading the "
            "training data; never copied into it. "
            f"{sum(s['support'] for s in intents_of(heldout).values())} examples.",
            f"- **Macro-F1: {heldout_f1:.3f}**; lowest intent F1: **{heldout_weakest_f1:.3f}** "
            f"(`{heldout_weakest}`). No goal is set on it: it checks that phrasings written by "
            "someone else, never seen in training, are understood too.",
            "",
            *table(heldout),
            "",
            *(nlu_real.render(real) if real else []),
        ]
    )


def run(step: str, command: list[str]) -> None:
    print(f"[nlu-report] {step}…", flush=True)
    result = subprocess.run(command, cwd=ROOT, env=rasa_env())
    if result.returncode != 0:
        raise SystemExit(f"[nlu-report] failed ({result.returncode}): {shown(command)}")


def load_report(directory: Path) -> dict:
    return json.loads((directory / "intent_report.json").read_text(encoding="utf-8"))


def main() -> int:
    run(f"Validation croisée en {FOLDS} plis (plusieurs minutes)", CROSS_VALIDATION)
    run("Entraînement sur toutes les données, pour le jeu mis de côté", TRAIN_FOR_HELDOUT)
    run("Évaluation sur le jeu mis de côté", TEST_HELDOUT)
    print("[nlu-report] Lecture des messages réels…", flush=True)
    real = nlu_real.build_report(
        nlu_real.run_scorer(HELDOUT_MODEL_DIR / "heldout.tar.gz"),
        [shown(TRAIN_FOR_HELDOUT), nlu_real.score_command(HELDOUT_MODEL_DIR / "heldout.tar.gz")],
    )
    print(nlu_real.summary(real))
    markdown = render(
        load_report(OUT_DIR / "cross-validation"),
        load_report(OUT_DIR / "heldout"),
        date.today(),
        real,
    )
    DOC_PATH.write_text(markdown, encoding="utf-8")
    print(f"[nlu-report] {DOC_PATH.relative_to(ROOT)} écrit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
