#!/usr/bin/env bash
# Runs on a machine with an NVIDIA GPU (and no .NET), from the unpacked bundle:
#   tar -xJf kernels-gpu-check.tar.xz && cd kernels-gpu-check && bash run.sh [results-dir]
# 1. every test on the cuda backend (and cpu as the control), 2. every kernel's PTX written and, where ptxas exists,
# assembled for sm_80 and sm_90, 3. the benchmark suite's quick run (results JSON in the perf/results schema, with the
# GPU's device-to-device copy bandwidth as its limit), 4. the PyTorch peer on the same workloads.
# Without a GPU (validation): KERNELS_TEST_BACKENDS=cpu bash run.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
results=${1:-$here/results}
mkdir -p "$results/ptx"
status=0

export KERNELS_TEST_BACKENDS=${KERNELS_TEST_BACKENDS:-cuda,cpu}
# A GPU check that silently ran on the cpu alone would pass: require the device when cuda is asked for.
case ",$KERNELS_TEST_BACKENDS," in *,cuda,*) export KERNELS_REQUIRE_CUDA=1 ;; esac
export KERNELS_PTX_OUT="$results/ptx"
echo "== tests on $KERNELS_TEST_BACKENDS"
"$here/kernels-gpu-check" 2>&1 | tee "$results/tests.txt" || status=1

# ptxas usually lives in the CUDA toolkit's bin, often not on PATH (the PTX is ISA 7.8: CUDA 11.8 or later).
for dir in /usr/local/cuda/bin /usr/local/cuda-*/bin; do
  [ -x "$dir/ptxas" ] && ! command -v ptxas >/dev/null 2>&1 && export PATH="$PATH:$dir"
done
if command -v ptxas >/dev/null 2>&1; then
  echo "== ptxas"
  for f in "$results"/ptx/*.ptx; do
    arch=$(sed -n 's/^\.target \(sm_[0-9]*\).*/\1/p' "$f" | head -1)
    for target in sm_80 sm_90; do
      ptxas -arch="$target" -o /dev/null "$f" 2>>"$results/ptxas.txt" || { echo "ptxas failed: $f ($target, PTX $arch)"; status=1; }
    done
  done
  echo "ptxas: $(ls "$results"/ptx/*.ptx | wc -l) files assembled for sm_80 and sm_90" | tee -a "$results/ptxas.txt"
else
  echo "ptxas not found: PTX written to $results/ptx but not assembled"
fi

echo "== benchmark suite (quick: the softmax family on every backend present, cuda included; the other families on cpu; results JSON in $results/results)"
(cd "$results" && "$here/Kernels.Benchmarks" --quick) 2>&1 | tee "$results/bench.txt" || status=1

if command -v python3 >/dev/null 2>&1 && python3 -c "import torch" 2>/dev/null; then
  echo "== PyTorch peer"
  python3 "$here/torch_reference.py" "$results/torch.json" 2>&1 | tee "$results/torch.txt" || status=1
else
  echo "PyTorch not found: no peer run"
fi
echo "results in $results (exit $status)"
exit $status
