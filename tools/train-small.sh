#!/usr/bin/env bash
# The `small` recipe in about 90 minutes on 2 cores: makes the platformer dataset, trains the tokenizer, trains the
# latent action model and dynamics on it, measures the result, and exports a play-only copy to WORK_DIR/export.
# (It made the models/small shipped until 2026-11; the one shipped now is trained longer, by
# tools/train-small-world.sh: see models/small/README.md.)
#
#   tools/train-small.sh [WORK_DIR]        (default WORK_DIR: ./runs/small)
#
# Everything is seeded; on the same machine and thread count the runs are bit-identical. Timings go to
# WORK_DIR/timings.txt, metrics to WORK_DIR/eval.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:-$here/../runs/small}"
source "$here/recipe.sh"

# 1. Data: the random agent with sticky actions on easy levels, 3 world ticks per frame.
if [ ! -f "$work/data/manifest.json" ]; then
  "$genie" data make --world platformer --agent random --difficulty easy --ticks-per-frame 3 \
    --episodes 800 --seed 2 --out "$work/data"
fi
stamp "data"

# 2. Stage 1: the video tokenizer.
"$genie" train tokenizer --data "$work/data" --config small --out "$work/tokenizer"
stamp "tokenizer"

# 3. Stage 2: the latent action model and the dynamics model on the frozen tokenizer.
"$genie" train dynamics --data "$work/data" --tokenizer "$work/tokenizer" --out "$work/genie"
stamp "dynamics"

# 4. Measure on held-out episodes, then export the slim copy that `genie play --run WORK_DIR/export` opens.
"$genie" eval --run "$work/genie" --clips 64 --json | tee "$work/eval.json"
"$genie" export --run "$work/genie" --out "$work/export" --overwrite
stamp "done"
