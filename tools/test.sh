#!/usr/bin/env bash
# The test command (README, .ci/run): every project's tests, then the packed library as a downstream project sees it
# (pack → restore from artifacts/ → the packaged generator builds the consumer's own kernels → run them).
# TRX results go to TestResults/; the exit code is non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
results=TestResults
status=0

dotnet test Kernels.sln -c Release --logger "trx;LogFilePrefix=results" --results-directory "$results" || status=1

rm -f artifacts/*.nupkg artifacts/*.snupkg
if dotnet pack Kernels.sln -c Release --no-build -o artifacts; then
  rm -rf tests/Kernels.Consumer.Tests/obj tests/Kernels.Consumer.Tests/bin
  dotnet test tests/Kernels.Consumer.Tests -c Release --logger "trx;LogFilePrefix=consumer" --results-directory "$results" || status=1
else
  echo "dotnet pack failed"
  status=1
fi
exit $status
