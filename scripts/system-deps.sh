#!/usr/bin/env bash
# Installs the Debian packages the local stack (and, with --browser, the browser tests) need,
# only when they are missing: a Java runtime for DynamoDB Local, Node.js for the SES server,
# python3-venv, and Debian's Chromium for the browser tests.
set -euo pipefail

want=()
command -v java >/dev/null 2>&1 || want+=(openjdk-17-jre-headless)
command -v npm >/dev/null 2>&1 || want+=(nodejs npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || want+=(python3-venv)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  want+=(chromium)
fi
[ ${#want[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
