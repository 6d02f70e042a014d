#!/usr/bin/env bash
# The checks that need a GPU, in one run (for the lent GPU machine; see README "GPU").
# Runs every device-parametrised test on CUDA, then the GPU benchmarks, writing to $OUT.
# That machine has its own torch and pytest but not the docs toolchain, hence -o addopts="".
set -uo pipefail
OUT=${OUT:-gpu-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=.
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$OUT/gpu.txt"
python3 -m pytest -o addopts="" -p no:cacheprovider -q -rfE -k cuda \
  tests/test_formulas.py tests/test_separable.py tests/test_grouped.py tests/test_transposed.py \
  tests/test_dilated.py tests/test_dynamic.py tests/test_speed.py 2>&1 | tee "$OUT/cuda-tests.log" | tail -25
python3 -m snippets.dynamic_bench --device cuda --out "$OUT/dynamic-cuda.json" 2>&1 | tail -15
python3 -m snippets.bench --full --device cuda --out "$OUT/speed-cuda.json" 2>&1 | tail -30
