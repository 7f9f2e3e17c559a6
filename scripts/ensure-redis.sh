#!/usr/bin/env bash
# Makes sure redis-server (Debian's package) is installed; tests start their own.
set -euo pipefail
if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "redis-server is missing: install Debian's redis-server package (apt-get install redis-server)" >&2
  exit 1
fi
echo "installing redis-server (Debian package)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq redis-server redis-tools >&2
