#!/usr/bin/env bash
# GPU timing of the PyTorch engine (issue 7): one epoch of 35,000 reviews with IMDB's token-length
# distribution at MAX_LEN 512, batch 8, mixed precision, for a DistilBERT-size and a BERT-base-size
# random model; prints seconds per epoch. Needs only python3 with torch (no Node, no repository build).
#   scripts/gpu-epoch.sh            the measurement (pass e.g. --precision bf16, --models bert-base)
#   scripts/gpu-epoch.sh --tiny     a check of the script on any CPU (tiny model, 64 examples)
# PYTHON=/path/to/python scripts/gpu-epoch.sh picks the interpreter.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export PYTHONPATH="$here/python${PYTHONPATH:+:$PYTHONPATH}"
# The first interpreter with torch: $PYTHON, python3 on PATH, then the system one (Debian's python3-torch).
for py in ${PYTHON:-} python3 /usr/bin/python3; do
  if "$py" -c 'import torch' >/dev/null 2>&1; then exec "$py" -m bert_lab_torch.gpu_epoch "$@"; fi
done
echo "gpu-epoch.sh: no python3 with torch found (set PYTHON=/path/to/python)" >&2
exit 1
