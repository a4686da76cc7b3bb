# Sourced by the training recipes (tools/train-small*.sh) after `work` is set: runs from the repository root,
# makes WORK_DIR, and `stamp NAME` appends the seconds since the start to WORK_DIR/timings.txt.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
genie="$root/genie"
mkdir -p "$work"
work="$(cd "$work" && pwd)"   # absolute: the commands run from the repository root
cd "$root"
t0=$(date +%s)
stamp() { echo "$1 $(( $(date +%s) - t0 )) s" | tee -a "$work/timings.txt"; }
: > "$work/timings.txt"
