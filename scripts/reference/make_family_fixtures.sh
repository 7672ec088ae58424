#!/usr/bin/env bash
# Regenerates tests/fixtures/families/ (the GPT-J / GPT-NeoX / Llama / Mistral / Qwen2 parity
# fixtures) with Hugging Face transformers in .venv-ref/. Extra arguments go to the Python script
# (e.g. --only mistral qwen2). Deterministic: a re-run rewrites byte-identical files.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/reference/setup-venv.sh
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 .venv-ref/bin/python scripts/reference/make_family_fixtures.py "$@"
