"""Measure the NLU on real messages (tests/nlu/real_messages.yml): `python -m scripts.nlu_real`.

The set holds what people really wrote or said about their permis / carte grise procedure,
quoted by public sources, each labelled with the intent the assistant should act on first. It
is never trained on. This script trains the NLU once on all the training data (or takes a model
with --model), parses every message with it and reports:

- in-scope accuracy: messages labelled with one of the assistant's intents that get that
  intent; those sent to the fallback and those given another intent are counted apart, and so
  are those whose intent is among the two guesses the fallback offers;
- out-of-scope handling: messages labelled `out_of_scope` that get `out_of_scope` or go to the
  fallback (both are right: neither starts a procedure the person did not ask for);
- the confusions and the list of misses.

It reads each message whole, and also split into sentences, each sentence parsed and the
surest "doing" intent kept (see `combine`): both figures are reported so that the pre-step is
measured, not assumed.

Parsing needs Rasa, so the parsing step runs in the Rasa environment (`score` sub-command,
started by `main` with .venv-rasa's Python); the rest runs anywhere.
"""

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path

import yaml

from guichet import responses
from guichet.fallback import MAX_GUESSES, best_guesses
from scripts.paths import RASA_BIN, RASA_PYTHON, ROOT, VAR_DIR, rasa_env

REAL_DATA = ROOT / "tests" / "nlu" / "real_messages.yml"
OUT_DIR = VAR_DIR / "nlu-report" / "real"
MODEL_DIR = VAR_DIR / "nlu-report" / "heldout-model"
MODEL_NAME = "heldout"
FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
GOAL_IN_SCOPE = 0.85
# Messages with no `batch` were found first, before the shape examples were written.
FIRST_BATCH = "A"
# The fallback offers at most this many guesses as buttons (guichet/fallback.py): a message
# whose intent is among them is one click away.
GUESSES = MAX_GUESSES
FALLBACK_DOMAIN = ROOT / "assistant" / "domain" / "fallback.yml"
# Intents that say how the person talks, not what they need: when a long message is split into
# sentences, a sentence with one of these never outweighs one that names a need.
SOCIAL = {
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "dont_know",
    "repeat",
    "slower",
    "simpler",
    "bot_challenge",
    OUT_OF_SCOPE,
    FALLBACK,
}
TRAIN_NLU = [
    str(RASA_BIN), "train", "nlu",
    "--nlu", "assistant/data/nlu",
    "--config", "config.yml",
    "--out", str(MODEL_DIR),
    "--fixed-model-name", MODEL_NAME,
]  # fmt: skip

_SENTENCE_END = re.compile(r"(?<=[.!?…;])\s+|\n+")
_MIN_WORDS = 3


def load_messages(path: Path = REAL_DATA) -> list[dict]:
    """The labelled real messages: text, intent, source, and date / note when known."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))["messages"]


def split_sentences(text: str) -> list[str]:
    """The message's sentences; short pieces ("Bilan :", "Ouf !") join the next one."""
    pieces = [p.strip() for p in _SENTENCE_END.split(text) if p and p.strip()]
    sentences: list[str] = []
    pending = ""
    for piece in pieces:
        pending = f"{pending} {piece}".strip()
        if len(pending.split()) >= _MIN_WORDS:
            sentences.append(pending)
            pending = ""
    if pending:
        if sentences:
            sentences[-1] = f"{sentences[-1]} {pending}"
        else:
            sentences.append(pending)
    return sentences or [text]


def combine(whole: dict, parts: list[dict]) -> dict:
    """One parse for a message from the parse of each sentence.

    The sentence whose best "doing" intent (not a social one, not the fallback) is surest
    decides; if no sentence names a need, the whole message's parse stands. A message of one
    sentence keeps its own parse.
    """
    if len(parts) <= 1:
        return whole
    best = None
    for part in parts:
        top = part["ranking"][0] if part["ranking"] else None
        if part["intent"] in SOCIAL or top is None:
            continue
        if best is None or top["confidence"] > best["ranking"][0]["confidence"]:
            best = part
    return best if best is not None else whole


def score(model: Path, messages: list[dict]) -> list[dict]:
    """Parse each message with the model, whole and sentence by sentence (Rasa environment)."""
    # Rasa only exists in the Rasa environment.
    import asyncio
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)
    agent = Agent.load(str(model))

    def parse(text: str) -> dict:
        result = asyncio.run(agent.parse_message(text))
        ranking = [
            {"name": r["name"], "confidence": round(float(r["confidence"]), 4)}
            for r in result.get("intent_ranking") or []
        ]
        return {"intent": (result.get("intent") or {}).get("name"), "ranking": ranking}

    rows = []
    for message in messages:
        whole = parse(message["text"])
        sentences = split_sentences(message["text"])
        parts = [parse(s) for s in sentences] if len(sentences) > 1 else [whole]
        rows.append(
            {
                "text": message["text"],
                "label": message["intent"],
                "batch": message.get("batch", FIRST_BATCH),
                "whole": whole,
                "split": combine(whole, parts),
                "parts": parts,
                "sentences": len(sentences),
            }
        )
    return rows


@cache
def _named() -> frozenset[str]:
    """The intents the fallback can name (the domain's utter_subject_* responses)."""
    domain = yaml.safe_load(FALLBACK_DOMAIN.read_text(encoding="utf-8"))
    return frozenset(
        name.removeprefix(responses.subject(""))
        for name in domain["responses"]
        if name.startswith(responses.subject(""))
    )


def guesses(parse: dict) -> list[str]:
    """The intents the fallback offers as buttons for this parse (as the action chooses)."""
    return best_guesses(parse["ranking"], _named().__contains__)


def measure(rows: list[dict], mode: str) -> dict:
    """Figures for one way of reading the messages (`whole` or `split`)."""
    in_scope = [r for r in rows if r["label"] != OUT_OF_SCOPE]
    out_scope = [r for r in rows if r["label"] == OUT_OF_SCOPE]
    right = [r for r in in_scope if r[mode]["intent"] == r["label"]]
    to_fallback = [r for r in in_scope if r[mode]["intent"] == FALLBACK]
    offered = [r for r in to_fallback if r["label"] in guesses(r[mode])]
    oos_handled = [r for r in out_scope if r[mode]["intent"] in (OUT_OF_SCOPE, FALLBACK)]
    confusions = Counter(
        (r["label"], r[mode]["intent"]) for r in rows if r[mode]["intent"] != r["label"]
    )
    misses = [
        {
            "text": r["text"],
            "label": r["label"],
            "predicted": r[mode]["intent"],
            "confidence": r[mode]["ranking"][0]["confidence"] if r[mode]["ranking"] else 0.0,
            "guesses": guesses(r[mode]),
        }
        for r in rows
        if r[mode]["intent"] != r["label"]
        and not (r["label"] == OUT_OF_SCOPE and r[mode]["intent"] == FALLBACK)
    ]
    return {
        "messages": len(rows),
        "in_scope": len(in_scope),
        "in_scope_right": len(right),
        "in_scope_accuracy": len(right) / len(in_scope) if in_scope else 0.0,
        "in_scope_to_fallback": len(to_fallback),
        "in_scope_fallback_offers_it": len(offered),
        "in_scope_wrong_intent": len(in_scope) - len(right) - len(to_fallback),
        "out_of_scope": len(out_scope),
        "out_of_scope_handled": len(oos_handled),
        "confusions": [
            {"label": label, "predicted": predicted, "count": count}
            for (label, predicted), count in confusions.most_common()
        ],
        "misses": misses,
    }


def _pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.0%})" if whole else "0/0"


def render(report: dict) -> list[str]:
    """Markdown lines for docs/nlu.md from the report `main` writes."""
    whole, split = report["whole"], report["split"]
    kept = report["kept"]
    chosen = report[kept]
    lines = [
        "## Real messages (what people wrote, never trained on)",
        "",
        "```",
        *report["commands"],
        "```",
        "",
        f"- `tests/nlu/real_messages.yml`: {whole['messages']} messages people wrote or said "
        "about their permis or carte grise, quoted by public sources (press, forum threads, a "
        "public-service Q&A, a consumer association, a magazine's reader question, Reddit, a "
        "petition, personal blogs), each with its source. "
        f"{whole['in_scope']} ask for something the assistant does; {whole['out_of_scope']} do "
        "not (`out_of_scope`). The header of the file says how they were collected and labelled; "
        "no message was invented or rewritten.",
        f"- **In-scope accuracy: {chosen['in_scope_accuracy']:.3f}** "
        f"({_pct(chosen['in_scope_right'], chosen['in_scope'])}; goal ≥ {GOAL_IN_SCOPE:.2f}, "
        f"{'met' if chosen['in_scope_accuracy'] >= GOAL_IN_SCOPE else 'NOT met'}), reading "
        f"{'each sentence' if kept == 'split' else 'each message whole'}. Of the others, "
        f"{chosen['in_scope_to_fallback']} go to the fallback — which offers the right intent "
        f"among its {GUESSES} buttons for {chosen['in_scope_fallback_offers_it']} of them — and "
        f"{chosen['in_scope_wrong_intent']} get another intent.",
        "- **Out of scope handled: "
        f"{_pct(chosen['out_of_scope_handled'], chosen['out_of_scope'])}** (`out_of_scope` or "
        "the fallback; a procedure started for them counts as a miss).",
        *_late_batch_lines(report),
        "",
        "| reading | in-scope accuracy | to the fallback (right one offered) | other intent "
        "| out of scope handled |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, label in (("whole", "each message whole"), ("split", "sentence by sentence")):
        m = report[name]
        lines.append(
            f"| {label}{' (kept)' if name == kept else ''} | {m['in_scope_accuracy']:.3f} | "
            f"{m['in_scope_to_fallback']} ({m['in_scope_fallback_offers_it']}) | "
            f"{m['in_scope_wrong_intent']} | "
            f"{_pct(m['out_of_scope_handled'], m['out_of_scope'])} |"
        )
    lines += [
        "",
        "Reading sentence by sentence (each sentence parsed, the surest one naming a need "
        f"decides): {split['in_scope_right'] - whole['in_scope_right']:+d} in-scope messages "
        "right compared with reading each message whole.",
        "",
        "What was tried to understand these messages better, and what was kept: "
        "[nlu-model.md](nlu-model.md#real-messages).",
        "",
        "Most frequent confusions (label → predicted):",
        "",
        "| label | predicted | messages |",
        "| --- | --- | ---: |",
        *(f"| {c['label']} | {c['predicted']} | {c['count']} |" for c in chosen["confusions"][:12]),
        "",
        "<details><summary>Every miss</summary>",
        "",
        "| message | label | predicted (confidence) | fallback buttons |",
        "| --- | --- | --- | --- |",
        *(
            f"| {m['text'].replace('|', '/')} | {m['label']} | {m['predicted']} "
            f"({m['confidence']:.2f}) | {', '.join(m['guesses'])} |"
            for m in chosen["misses"]
        ),
        "",
        "</details>",
        "",
    ]
    return lines


def _late_batch_lines(report: dict) -> list[str]:
    """The figures on the batches found after the shape examples were written."""
    return [
        f"- Of these, {late['messages']} (batch {batch}) were found after "
        "`assistant/data/nlu/real_shapes.yml` was written, so no training example could have "
        f"been shaped on them: in-scope {_pct(late['in_scope_right'], late['in_scope'])}, out of "
        f"scope handled {_pct(late['out_of_scope_handled'], late['out_of_scope'])}."
        for batch, late in (report.get("late_batches") or {}).items()
    ]


def shown(command: list[str]) -> str:
    parts = ["rasa" if part == str(RASA_BIN) else part for part in command]
    return " ".join(part.replace(f"{ROOT}/", "") for part in parts)


def run_scorer(model: Path) -> list[dict]:
    """Parse the set in the Rasa environment; the rows it writes."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows_path = OUT_DIR / "predictions.json"
    command = [
        str(RASA_PYTHON), "-m", "scripts.nlu_real", "score",
        "--model", str(model), "--rows", str(rows_path),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=ROOT, env=rasa_env())
    if result.returncode != 0:
        raise SystemExit(f"[nlu-real] parsing failed ({result.returncode})")
    return json.loads(rows_path.read_text(encoding="utf-8"))


def score_command(model: Path) -> str:
    """How a reader reads the set with `model` (the command `main` runs in the Rasa env)."""
    return f"python -m scripts.nlu_real --model {shown([str(model)])}"


def build_report(rows: list[dict], commands: list[str]) -> dict:
    whole, split = measure(rows, "whole"), measure(rows, "split")
    # The assistant reads each message whole: the sentence-by-sentence reading is measured
    # beside it, not used (docs/nlu-model.md), so the headline figure is the whole one.
    kept = "whole"
    late = sorted({r.get("batch", FIRST_BATCH) for r in rows} - {FIRST_BATCH})
    return {
        "commands": commands,
        "whole": whole,
        "split": split,
        "kept": kept,
        "late_batches": {
            batch: measure([r for r in rows if r.get("batch") == batch], kept) for batch in late
        },
    }


def evaluate(model: Path | None = None) -> dict:
    """Train once unless a model is given, parse the set, write var/…/report.json."""
    commands = []
    if model is None:
        print("[nlu-real] Entraînement sur toutes les données…", flush=True)
        result = subprocess.run(TRAIN_NLU, cwd=ROOT, env=rasa_env())
        if result.returncode != 0:
            raise SystemExit(f"[nlu-real] training failed ({result.returncode})")
        model = MODEL_DIR / f"{MODEL_NAME}.tar.gz"
        commands.append(shown(TRAIN_NLU))
    commands.append(score_command(model))
    print("[nlu-real] Lecture des messages réels…", flush=True)
    report = build_report(run_scorer(model), commands)
    (OUT_DIR / "report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return report


def summary(report: dict) -> str:
    lines = []
    for name in ("whole", "split"):
        m = report[name]
        lines.append(
            f"[nlu-real] {name:5}: in-scope {m['in_scope_right']}/{m['in_scope']} "
            f"= {m['in_scope_accuracy']:.3f} (fallback {m['in_scope_to_fallback']}, "
            f"offered {m['in_scope_fallback_offers_it']}, other {m['in_scope_wrong_intent']}); "
            f"out of scope handled {m['out_of_scope_handled']}/{m['out_of_scope']}"
        )
    for batch, late in (report.get("late_batches") or {}).items():
        lines.append(
            f"[nlu-real] batch {batch} ({report['kept']}): in-scope {late['in_scope_right']}/"
            f"{late['in_scope']}; out of scope handled {late['out_of_scope_handled']}/"
            f"{late['out_of_scope']}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    scorer = sub.add_parser("score", help="parse the set (Rasa environment)")
    scorer.add_argument("--model", type=Path, required=True)
    scorer.add_argument("--rows", type=Path, required=True)
    parser.add_argument("--model", type=Path, help="a trained model; default: train one")
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args(argv)
    if args.command == "score":
        rows = score(args.model, load_messages())
        args.rows.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        return 0
    report = evaluate(args.model)
    print(summary(report))
    if args.misses:
        for miss in report[report["kept"]]["misses"]:
            print(f"  {miss['label']:>22} → {miss['predicted']:<22} {miss['text'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
