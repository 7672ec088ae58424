#!/usr/bin/env bash
# Makes .venv-ref/, the venv in which the Hugging Face reference scripts run (pinned in
# scripts/reference/requirements.txt). Needs PyPI; CI never runs it (the fixtures are committed).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv-ref/bin/python ]; then
  /usr/bin/python3 -m venv --system-site-packages .venv-ref
fi
.venv-ref/bin/pip install --quiet --disable-pip-version-check -r scripts/reference/requirements.txt
.venv-ref/bin/python -c 'import tokenizers, transformers, torch; print("tokenizers", tokenizers.__version__, "transformers", transformers.__version__, "torch", torch.__version__)'
