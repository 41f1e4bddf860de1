#!/usr/bin/env bash
# Installs what tests/browser needs: Debian's chromium (the only browser this machine can get;
# playwright never downloads one here) and, only when no node is on PATH, Debian's nodejs and npm.
# Idempotent: a provisioned machine returns at once without touching apt.
set -euo pipefail

packages=()
dpkg_installed() { [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]; }

dpkg_installed chromium || packages+=(chromium)
# A node from elsewhere (e.g. v20 in /usr/local) is kept: Debian's nodejs is added only without one.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

if [[ ${#packages[@]} -eq 0 ]]; then
  echo "install-browser-deps: chromium $(chromium --version 2>/dev/null | awk '{print $2}'), node $(node --version), npm $(npm --version) present"
  exit 0
fi

echo "install-browser-deps: installing ${packages[*]}"
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh" install-browser-deps "${packages[@]}"
