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
