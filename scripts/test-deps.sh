#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: the AWS CLI
# (for the end-to-end test) and the Go modules. Idempotent.
set -euo pipefail
if ! command -v aws >/dev/null 2>&1; then
  echo "test-deps: installing the AWS CLI (Debian package awscli)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq awscli >/dev/null
fi
go mod download
# The AWS SDK for JavaScript v3 for the h2c end-to-end test.
if command -v npm >/dev/null 2>&1; then
  (cd e2e/js && { [ -f package-lock.json ] && npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; })
else
  echo "test-deps: npm is required for the JS SDK test (Node 20)" >&2
  exit 1
fi
