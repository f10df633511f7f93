#!/usr/bin/env bash
# The main job: install what is missing, build kiln, build an engine for the bundled demo model
# (dynamic batch 1..32), save the plan, load it back and run it at several batch sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
echo
echo "== kiln build: demo model, dynamic batch (profile min 1, opt 8, max 32) =="
./build/bin/kiln build --model demo --profile x:1x1x28x28,8x1x28x28,32x1x28x28 --save demo.plan
for batch in 1 8 32; do
  echo
  echo "== kiln run: batch $batch =="
  ./build/bin/kiln run --plan demo.plan --shape "x:${batch}x1x28x28" --iterations 20 --print 8
done
