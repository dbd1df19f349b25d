#!/usr/bin/env bash
# The Data Streams suites on the storage matrix of issue 18 (make test runs
# it after the default suite, which is the "embedded" configuration):
#   s3       embedded metadata, sealed segments tiered to versitygw
#   etcd+s3  metadata on an etcd member, segments tiered to versitygw
# versitygw and etcd are started by the tests (internal/clustertest).
# Usage: scripts/storage-matrix.sh [MODE...]   (default: s3 etcd+s3)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(s3 etcd+s3)

# The Data Streams tests: every Test function of these files.
tests_of() {
  local dir=$1; shift
  local names=()
  for f in "$@"; do
    names+=($(grep -ho '^func Test[A-Za-z0-9_]*' "$dir/$f" | sed 's/^func //'))
  done
  local IFS='|'
  echo "^(${names[*]})\$"
}
server_tests=$(tests_of internal/server storage_matrix_test.go sdk_test.go efo_test.go reshard_test.go retention_test.go \
  fidelity_expiry_test.go fidelity_iterator_test.go fidelity_schema_test.go fidelity_seqnum_test.go \
  fidelity_state_test.go fidelity_validation_test.go scale_lineage_test.go throughput_test.go \
  encryption_test.go settings_test.go cbor_test.go malformed_test.go autoscale_test.go kms_test.go \
  throttle_clock_test.go)
e2e_tests=$(tests_of e2e awscli_test.go boto3_test.go jssdk_test.go ordering_test.go badinput_test.go \
  crash_test.go shutdown_test.go cli_test.go)

for mode in "${modes[@]}"; do
  echo "storage matrix: $mode"
  RHEOS_TEST_STORAGE=$mode $GO test -race -count=1 -timeout 20m -run "$server_tests" ./internal/server
  [ -n "${SKIP_E2E:-}" ] || RHEOS_TEST_STORAGE=$mode $GO test -race -count=1 -timeout 20m -run "$e2e_tests" ./e2e
done
