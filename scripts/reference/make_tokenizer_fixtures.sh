#!/usr/bin/env bash
# Regenerates tests/fixtures/tokenizers/ and tests/golden/tokenizers/ (tests/fixtures/tokenizers/README.md).
set -euo pipefail; cd "$(dirname "$0")/../.." && scripts/reference/setup-venv.sh
HF_HUB_OFFLINE=1 exec .venv-ref/bin/python scripts/reference/make_tokenizer_fixtures.py "$@"
