# Guichet — the two commands a newcomer needs: `make run` and `make test`.
# Every other target is a step of those two.

SHELL := /bin/bash
PY := .venv/bin/python
RASA_PY := .venv-rasa/bin/python
# Rasa imports Guichet's own NLU component (assistant/nlu) by its module path; the tests too.
export PYTHONPATH := $(CURDIR)
# For the tests that import Rasa in-process (test-nlu, test-actions, test-privacy).
export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Every rasa command runs in the environment of scripts/paths.py:rasa_env, through one wrapper.
RASA := $(PY) -m scripts.rasa
RASA_PATHS := --domain assistant/domain --config config.yml

.PHONY: run run-scaled test setup model db reset-demo domain openapi lint format test-tools test-api test-actions validate test-stories test-e2e test-scale test-privacy test-server nlu-report nlu-real voice-model test-voice

## run: install what is missing, train if needed, start everything (the API seeds the database).
## `make run RUN_ARGS=--stop-when-ready` stops once all answer: to time a warm start.
run: setup model
	@$(PY) -m scripts.services $(RUN_ARGS)

## run-scaled: the same, laid out for several processes on this machine's PostgreSQL and Redis:
## 2 Rasa processes, 2 API workers, 2 action server workers (docs/scaling.md)
run-scaled: setup model
	@$(PY) -m scripts.services --scaled

## test: everything CI checks, in order from cheapest to slowest
test: setup lint test-tools test-nlu test-actions test-privacy test-server test-api validate model test-stories test-e2e test-voice test-scale
	@echo "[test] Tout est passé."

setup:
	@bash scripts/setup.sh

model: setup
	@$(PY) -m scripts.train

db: setup
	@$(PY) -m api.seed

## reset-demo: put the demo dossiers back as the fixture describes them
reset-demo: setup
	@$(PY) -m api.seed --reset

## openapi: rewrite api/openapi.json, the API's committed contract, from the code
openapi: setup
	@$(PY) -m api.openapi

## domain: regenerate the check-before-sending domain from reference/procedures.yaml
domain: setup
	@$(PY) -m scripts.generate_domain

lint: setup
	@.venv/bin/ruff check .
	@.venv/bin/ruff format --check .
	@$(PY) -m scripts.generate_domain --check
	@$(PY) -m api.openapi --check
	@# deploy/, offline: the schemas ship inside these two locked packages.
	@.venv/bin/check-jsonschema --builtin-schema vendor.compose-spec deploy/compose.yaml
	@.venv/bin/kubernetes-validate --quiet --strict --kubernetes-version 1.30.0 \
		deploy/k8s/*.yaml deploy/k8s/templates/*.yaml

format: setup
	@.venv/bin/ruff format .
	@.venv/bin/ruff check --fix .

test-nlu: setup
	@$(RASA_PY) -m pytest -q tests/nlu

## test-actions: the custom actions, and guichet/ (catalogue, identifiers) they share with the API
test-actions: setup
	@$(RASA_PY) -m pytest -q tests/guichet tests/actions

## test-privacy: masking, the redacting tracker store and the log filter (Rasa environment)
test-privacy: setup
	@$(RASA_PY) -m pytest -q tests/privacy

## test-server: what Guichet changes in the Rasa server process (Rasa environment)
test-server: setup
	@$(RASA_PY) -m pytest -q tests/server

test-api: setup
	@$(PY) -m pytest -q tests/api

test-tools: setup
	@$(PY) -m pytest -q tests/tools

validate: setup
	@$(RASA) data validate $(RASA_PATHS) --data assistant/data --fail-on-warnings

test-stories: model
	@$(RASA) test core --model assistant/models/guichet.tar.gz \
		--stories tests/stories --out var/test-results --fail-on-prediction-errors

.PHONY: bench
## bench: successful-lookup latency and throughput on SQLite and PostgreSQL (docs/performance.md)
bench: setup
	@$(PY) -m bench.api_lookup

.PHONY: bench-text bench-profile
## bench-text: plain Rasa and Guichet side by side under the same text-turn load (docs/performance.md)
## (the scaled layout: BENCH_ARGS="--only guichet --layout scaled --rasa-processes 4")
bench-text: model
	@$(PY) -m bench.text_turn $(BENCH_ARGS)

## bench-profile: where a Guichet turn's time goes (py-spy on Rasa, the action server and the API)
bench-profile: model
	@$(PY) -m bench.profile_turn $(BENCH_ARGS)

test-e2e: model
	@$(PY) -m pytest -q tests/e2e

## test-voice: the voice gateway (voice/): its stages, the call loop, then real calls from
## baresip and SIPp to the gateway over the real stack (tests/voice/e2e)
test-voice: model
	@$(PY) -m pytest -q tests/voice

## voice-model: install the French Vosk model (vosk-model-small-fr-0.22) for speech recognition,
## from its official address or a local zip, SHA-256 checked (offline kiosks):
## make voice-model VOSK_ZIP=/path/to/vosk-model-small-fr-0.22.zip
voice-model: setup
	@$(PY) -m scripts.voice_model $(VOICE_MODEL_ARGS)

## test-scale: the lock and tracker stores on Redis and PostgreSQL, then two real Rasa processes
## sharing them: 50 interleaved conversations in order, and one process killed (docs/scaling.md)
test-scale: model
	@$(RASA_PY) -m pytest -q tests/scale/stores
	@$(PY) -m pytest -q tests/scale/replicas

## nlu-report: 5-fold cross-validation of the NLU, written to docs/nlu.md (not part of `test`)
nlu-report: setup
	@$(PY) -m scripts.nlu_report

## nlu-real: the NLU on real messages only (tests/nlu/real_messages.yml): trains once on all the
## data and reads the set, in about 2 minutes; NLU_REAL_ARGS=--misses lists what it misses
nlu-real: setup
	@$(PY) -m scripts.nlu_real $(NLU_REAL_ARGS)
