#!/usr/bin/env bash
# Builds the GPU check bundle: the whole Kernels.Tests suite as a standalone test executable plus the benchmark suite,
# self-contained for linux-x64 (no .NET needed on the target), with run.sh and the PyTorch peer, as one .tar.xz.
# Usage: bash tools/gpu-check/build.sh [out-dir]   (default artifacts/gpu-check)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-artifacts/gpu-check}
stage="$out/kernels-gpu-check"
rm -rf "$out" && mkdir -p "$stage"
common=(-c Release -r linux-x64 --self-contained true -p:InvariantGlobalization=true -p:DebugType=none -p:GenerateDocumentationFile=false)
dotnet publish tools/Kernels.GpuCheck "${common[@]}" -o "$stage"
dotnet publish perf/Kernels.Benchmarks "${common[@]}" -o "$stage"
cp tools/gpu-check/run.sh tools/gpu-check/torch_reference.py "$stage/"
git rev-parse HEAD > "$stage/COMMIT" 2>/dev/null || echo unknown > "$stage/COMMIT"
tar -C "$out" -cJf "$out/kernels-gpu-check.tar.xz" kernels-gpu-check
size=$(stat -c %s "$out/kernels-gpu-check.tar.xz")
echo "bundle: $out/kernels-gpu-check.tar.xz ($((size / 1024 / 1024)) MiB)"
[ "$size" -lt $((64 * 1024 * 1024)) ] || { echo "bundle exceeds 64 MiB"; exit 1; }
