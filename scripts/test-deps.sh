#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian machine: AWS CLI v2
# and boto3 (end-to-end tests), strace and util-linux (for the disk-fault tests:
# fsync fault injection, a tmpfs in a private mount namespace), PostgreSQL
# (the Redshift destination tests), chromium (the headless WebRTC and web console tests)
# and the Go modules and npm packages. Idempotent.
set -euo pipefail
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
APT_UPDATED=""
apt_install() { # apt_install PACKAGE: installs one Debian package
  if [ -z "$APT_UPDATED" ]; then
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$1" >/dev/null
}
# AWS CLI v2 (Debian's awscli, /usr/bin/aws): the README tour runs with it
# and with v1 (the awscli Python module, when the machine has it).
if ! /usr/bin/aws --version 2>/dev/null | grep -q '^aws-cli/2\.'; then
  echo "test-deps: installing AWS CLI v2 (Debian package awscli)"
  apt_install awscli
fi
# boto3 for the Python SDK end-to-end test.
if ! python3 -c 'import boto3' >/dev/null 2>&1; then
  echo "test-deps: installing boto3 (Debian package python3-boto3)"
  apt_install python3-boto3
fi
if ! command -v strace >/dev/null 2>&1; then
  echo "test-deps: installing strace (fsync fault injection in e2e/diskfault_test.go)"
  apt_install strace
fi
for tool in unshare nsenter; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-deps: installing util-linux ($tool, for the disk-full test)"
    apt_install util-linux
  fi
done
if ! command -v mount >/dev/null 2>&1; then
  echo "test-deps: installing mount (for the disk-full test)"
  apt_install mount
fi
# PostgreSQL (initdb, pg_ctl) for the Firehose Redshift tests, which start
# a throwaway cluster (internal/firehose/pgtest_test.go).
if ! compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null || ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "test-deps: installing PostgreSQL (Debian package postgresql, for internal/firehose/redshift_test.go)"
  apt_install postgresql
fi
# ffmpeg (ffprobe) and mkvtoolnix for the Video Streams media checks
# (internal/server/video_media_test.go, e2e/video_media_test.go): the tests
# use a committed fixture and skip their ffprobe checks without it.
if ! command -v ffprobe >/dev/null 2>&1 || ! command -v mkvinfo >/dev/null 2>&1; then
  echo "test-deps: installing ffmpeg and mkvtoolnix (Video Streams media checks)"
  for p in ffmpeg mkvtoolnix; do apt_install "$p"; done
fi
go mod download
# versitygw: a real external S3-compatible server for Firehose's S3 delivery test.
GOBIN="$(go env GOPATH)/bin"
if [ ! -x "$GOBIN/versitygw" ]; then
  echo "test-deps: installing versitygw (go install, the external S3 server of e2e/firehose_s3_test.go)"
  go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
# The AWS SDK for JavaScript v3 for the h2c end-to-end test.
if command -v npm >/dev/null 2>&1; then
  # npm ci, retried: a registry hiccup must not fail the whole suite.
  ok=""
  for attempt in 1 2 3; do
    if (cd e2e/js && npm ci --no-audit --no-fund --silent); then ok=1; break; fi
    echo "test-deps: npm ci failed (attempt $attempt), retrying" >&2
    sleep $((attempt * 3))
  done
  [ -n "$ok" ] || { echo "test-deps: could not install e2e/js packages" >&2; exit 1; }
  # The AWS Kinesis Video WebRTC JS library (and ws, its WebSocket on Node
  # 20) for e2e/webrtc_jslib_test.go. npm warns EBADENGINE (jsdom wants Node
  # >= 22); jsdom is not loaded at runtime, so the warning is harmless.
  ok=""
  for attempt in 1 2 3; do
    if (cd e2e/testdata/webrtc && npm ci --no-audit --no-fund --silent); then ok=1; break; fi
    echo "test-deps: npm ci failed in e2e/testdata/webrtc (attempt $attempt), retrying" >&2
    sleep $((attempt * 3))
  done
  [ -n "$ok" ] || { echo "test-deps: could not install e2e/testdata/webrtc packages" >&2; exit 1; }
else
  echo "test-deps: npm is required for the JS SDK test (Node 20)" >&2
  exit 1
fi
# Headless Chromium for the browser WebRTC test (e2e/webrtc_jslib_test.go: the
# JS library as a viewer in a page, receiving a pion master's video) and the web
# console's browser tests (e2e/console_test.go, chromedp).
if ! command -v chromium >/dev/null 2>&1; then
  echo "test-deps: installing chromium (headless WebRTC viewer and web console tests)"
  apt_install chromium
fi
