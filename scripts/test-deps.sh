#!/usr/bin/env bash
# System packages the test suite uses beyond Python: Debian's chromium, for the status-page
# browser test. Installed when missing and when we may (root with apt-get, as on CI); otherwise
# this says why, and that test skips with the same reason.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test-deps: chromium is not installed and this is not root on a Debian-like system;" \
         "the browser test will be skipped (install the 'chromium' package to run it)" >&2
    exit 0
fi
echo "test-deps: installing chromium (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# a failed install is reported, not fatal: the browser test then skips and says why
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; } >/dev/null; then
    echo "test-deps: could not install chromium; the browser test will be skipped" >&2
fi
