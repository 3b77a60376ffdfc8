#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one go (a few minutes on one H100):
#   1. the batched tagger front ends against torchaudio, on the CPU and the GPU;
#   2. the paper-profile tagger's batching speed-up (bench_tagger.py, random ViT-Base stand-ins);
#   3. the paper-size training step (bench_training.py, random weights, batch 16, bf16).
# Usage: bash benchmarks/gpu_checks.sh [OUTPUT_FOLDER]   (PYTHON=... to choose the interpreter)
set -uo pipefail
out=${1:-gpu_checks}
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
"$py" -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)" | tee -a "$out/gpu.txt"
status=0
"$py" scripts/check_tagger_front_ends.py 2>&1 | tee "$out/front_ends.txt" || status=1
"$py" benchmarks/bench_tagger.py --clips 0 --hub-clips 64 --batch-size 64 --repeats 3 2>&1 \
  | grep -v -i warning | tee "$out/bench_tagger.txt" || status=1
timeout 300 "$py" benchmarks/bench_training.py --size paper --steps 20 2>&1 | tee "$out/bench_training.txt" || status=1
exit $status
