#!/usr/bin/env bash
# Installs the two local servers of the local stack under .local/, pinned:
#  - DynamoDB Local: the emulator/ folder of the npm package amplify-dynamodb-simulator, taken
#    with `npm pack` so none of that package's npm dependencies are installed;
#  - the local SES v2 API server aws-ses-v2-local;
#  - axe-core, the accessibility rules the browser tests run in every page.
# Each is checked on its own, so a changed pin (this file changes, and the Makefile runs it
# again) installs only what is missing or at another version.
set -euo pipefail
DDB_PACKAGE="amplify-dynamodb-simulator@${DDB_VERSION:-2.9.30}"
SES_PACKAGE="aws-ses-v2-local@${SES_VERSION:-2.10.2}"
AXE_VERSION="${AXE_VERSION:-4.14.1}"
cd "$(dirname "$0")/.."
mkdir -p .local

if [ ! -f .local/emulator/DynamoDBLocal.jar ]; then
  echo "fetching DynamoDB Local ($DDB_PACKAGE)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$DDB_PACKAGE" >/dev/null)
  tar -xzf "$tmp"/amplify-dynamodb-simulator-*.tgz -C "$tmp" package/emulator
  rm -rf .local/emulator
  mv "$tmp/package/emulator" .local/emulator
fi

if [ ! -x .local/node/node_modules/.bin/aws-ses-v2-local ]; then
  echo "installing the local SES server ($SES_PACKAGE)"
  npm install --silent --no-audit --no-fund --prefix .local/node "$SES_PACKAGE" >/dev/null
fi

installed_axe() {
  node -p 'require("./.local/node/node_modules/axe-core/package.json").version' 2>/dev/null || true
}
if [ ! -f .local/node/node_modules/axe-core/axe.min.js ] || [ "$(installed_axe)" != "$AXE_VERSION" ]; then
  echo "installing axe-core $AXE_VERSION (accessibility checks of the browser tests)"
  npm install --silent --no-audit --no-fund --save-exact --prefix .local/node \
    "axe-core@$AXE_VERSION" >/dev/null
fi
