#!/usr/bin/env bash
# Reproduces the shipped models/small: the `small` architecture trained in seven stages, each a plain `genie`
# command (docs/training.md, "A world that plays", has the experiment behind each stage), about 3.5 hours on 2 cores:
#
#   1. held-button random-agent video (800 episodes), a tokenizer that encodes each frame alone, its codes merged
#      at cosine 0.99, and the latent action and dynamics models trained on it (2700 steps: "h1");
#   2. fine-tuned on explorer-agent video, whose held direction keeps the player moving (1000 steps of a 1500-step
#      schedule: "x1-ft");
#   3. fine-tuned on the same agent's video with animations that follow from the frame (1200 steps: "x2");
#   4. fine-tuned with the held-latent penalty (1700 steps: "x4");
#   5. fine-tuned with self-forcing, half the clips ending on the model's own prediction (1000 steps: "x5");
#   6. the dynamics model trained on with the latent action model frozen (1200 steps: "x5f");
#   7. measured on fresh held-out data of its kind, and exported with MaskGIT's choice temperature 2 and argmax tokens
#      (temperature 0; docs/training.md item 12).
#
#   tools/train-small-world.sh [WORK_DIR]        (default WORK_DIR: ./runs/small-world)
#
# Every stage is seeded. Stages that finished are skipped when the script is run again (a killed stage is continued
# with `genie train … --resume RUN` by hand). Timings go to WORK_DIR/timings.txt, the final measures to WORK_DIR/eval.json.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${1:-$here/../runs/small-world}"
source "$here/recipe.sh"
world="--world platformer --difficulty easy --ticks-per-frame 3 --view-tiles 16 --camera-step 4 --parallax 0"
done_at() { [ -f "$1/latest" ] && grep -q "$2" "$1/latest"; }   # a run whose latest checkpoint is step $2

# 1. Held-button data, the tokenizer (frames encoded alone), merged codes, and the first dynamics run.
[ -f "$work/h1-data/manifest.json" ] || "$genie" data make $world --agent random --hold 10-30 --episodes 800 --seed 2 --out "$work/h1-data"
done_at "$work/tokenizer" step_001000 || "$genie" train tokenizer --data "$work/h1-data" --config small \
  --set tokenizer.encoder_temporal=false --out "$work/tokenizer"
[ -f "$work/tokenizer-m99/latest" ] || "$genie" train merge-codes --tokenizer "$work/tokenizer" --out "$work/tokenizer-m99" --threshold 0.99
stamp "tokenizer"
done_at "$work/h1" step_002700 || "$genie" train dynamics --data "$work/h1-data" --tokenizer "$work/tokenizer-m99" \
  --set dynamics.masking=prefix --set dynamics.action_conditioning=token --set dynamics.corrupt_max=0.1 --set dynamics.change_weight=5 \
  --set train_dynamics.lam_warmup=500 --set train_dynamics.steps=2700 --set train_dynamics.eval_every=600 --out "$work/h1"
stamp "h1"

# 2. Explorer-agent video: 1000 steps of a 1500-step schedule.
[ -f "$work/x1-data/manifest.json" ] || "$genie" data make $world --agent explorer --episodes 2400 --seed 2 --out "$work/x1-data"
done_at "$work/x1-ft" step_001000 || "$genie" train dynamics --data "$work/x1-data" --tokenizer "$work/tokenizer-m99" \
  --config "$work/h1/config.json" --init "$work/h1" --set train_dynamics.steps=1500 --set train_dynamics.lam_warmup=0 \
  --set train_dynamics.eval_every=500 --set train_dynamics.checkpoint_every=250 --stop-at 1000 --out "$work/x1-ft"
stamp "x1-ft"

# 3. The same agent, animations advancing one phase per recorded frame.
[ -f "$work/x2-data/manifest.json" ] || "$genie" data make $world --agent explorer --animate-per-frame --episodes 2400 --seed 2 --out "$work/x2-data"
done_at "$work/x2" step_001200 || "$genie" train dynamics --data "$work/x2-data" --tokenizer "$work/tokenizer-m99" \
  --config "$work/h1/config.json" --init "$work/x1-ft" --set train_dynamics.steps=1200 --set train_dynamics.lam_warmup=200 \
  --set train_dynamics.checkpoint_every=200 --out "$work/x2"
stamp "x2"

# 4. The held-latent penalty.
done_at "$work/x4" step_001700 || "$genie" train dynamics --data "$work/x2-data" --tokenizer "$work/tokenizer-m99" \
  --config "$work/h1/config.json" --init "$work/x2" --set lam.hold_weight=0.05 --set train_dynamics.steps=1700 \
  --set train_dynamics.lam_warmup=500 --set train_dynamics.eval_every=600 --set train_dynamics.checkpoint_every=100 --out "$work/x4"
stamp "x4"

# 5. Self-forcing: half the clips end on the model's own greedy prediction as context.
done_at "$work/x5" step_001000 || "$genie" train dynamics --data "$work/x2-data" --tokenizer "$work/tokenizer-m99" \
  --config "$work/x4/config.json" --init "$work/x4" --set dynamics.self_forcing=0.5 --set train_dynamics.steps=1000 \
  --set train_dynamics.lam_warmup=0 --set train_dynamics.eval_every=500 --set train_dynamics.checkpoint_every=100 --out "$work/x5"
stamp "x5"

# 6. The latent action model frozen: only the dynamics model trains, on the latents as x5's LAM gives them.
done_at "$work/x5f" step_001200 || "$genie" train dynamics --data "$work/x2-data" --tokenizer "$work/tokenizer-m99" \
  --config "$work/x5/config.json" --init "$work/x5" --set train_dynamics.lam_frozen=true --set train_dynamics.steps=1200 \
  --set train_dynamics.eval_every=600 --set train_dynamics.checkpoint_every=300 --out "$work/x5f"
stamp "x5f"

# 7. Fresh held-out data of its kind; the measures and the play page's buttons at choice temperature 2 and temperature 0;
#    the export.
[ -f "$work/fresh/manifest.json" ] || "$genie" data make $world --agent explorer --animate-per-frame --episodes 40 --val-fraction 0.5 \
  --seed 77 --out "$work/fresh"
"$genie" eval --run "$work/x5f" --data "$work/fresh" --clips 64 --control-prompts 6 --choice-temperature 2 --temperature 0 \
  --write-actions "$work/x5f/actions.json" --json | tee "$work/eval.json"
"$genie" export --run "$work/x5f" --out "$root/models/small" --overwrite --set dynamics.choice_temperature=2 \
  --set dynamics.temperature=0
stamp "done"
