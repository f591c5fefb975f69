#!/usr/bin/env bash
# Installs the two local servers of the local stack under .local/, pinned:
#  - DynamoDB Local: the emulator/ folder of the npm package amplify-dynamodb-simulator, taken
#    with `npm pack` so none of that package's npm dependencies are installed;
#  - the local SES v2 API server aws-ses-v2-local.
set -euo pipefail
DDB_PACKAGE="amplify-dynamodb-simulator@${DDB_VERSION:-2.9.30}"
SES_PACKAGE="aws-ses-v2-local@${SES_VERSION:-2.10.2}"
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
