#!/bin/sh
# The demo's "real" deploy: copy the service into a web root and publish its deployment-info,
# the JSON a running service serves at /deployment-info.
set -eu
webroot="${DEMO_WEBROOT:?}"
repo="${DEMO_REPO:?}"
echo "deploy.sh: building $(git -C "$repo" rev-parse --short HEAD)…"
mkdir -p "$webroot"
git -C "$repo" archive HEAD | tar -x -C "$webroot"
"${PYTHON:-python3}" -m deploytrail info write --revision "$(git -C "$repo" rev-parse HEAD)" \
  --version "${DEMO_VERSION:-dev}" --build-number "${DEMO_BUILD:-1}" \
  --out "$webroot/deployment-info.json"
echo "deploy.sh: $(ls "$webroot" | wc -l | tr -d ' ') files live in $webroot"
