#!/usr/bin/env bash
# The multi-instance scenario through a real haproxy running deploy/haproxy.cfg (.ci/run's step
# "haproxy scenario"; `npm test` uses the round-robin proxy of the test helpers instead).
# Installs haproxy when missing (Debian package; CI runs as root), checks the shipped file, then
# runs with STEP_BALANCER=haproxy: the balancer spec (test/haproxy/), and the multi-instance e2e
# (test/multi-instance.e2e-spec.ts, on PostgreSQL) when it exists. Needs `npm run build` first.
# Prints vitest's output, whose "Tests ..." line .ci/run counts; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/../.."

if ! command -v haproxy >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "haproxy is not installed and this is not root: apt-get install -y haproxy" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y haproxy || { apt-get update && apt-get install -y haproxy; } || exit 1
fi
haproxy -v | head -n 1
haproxy -c -q -f deploy/haproxy.cfg || { echo "deploy/haproxy.cfg does not pass haproxy -c" >&2; exit 1; }

projects=(--project haproxy)
files=(test/haproxy/)
if [ -f test/multi-instance.e2e-spec.ts ]; then
  projects+=(--project e2e-postgres)
  files+=(test/multi-instance.e2e-spec.ts)
fi
STEP_BALANCER=haproxy npx vitest run "${projects[@]}" "${files[@]}"
