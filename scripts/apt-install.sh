#!/usr/bin/env bash
# apt-install.sh WHO PACKAGE...: installs Debian packages non-interactively, through sudo when not
# root. Shared by the install scripts, which decide what is missing.
set -euo pipefail
who=$1
shift
SUDO=()
if [[ "$(id -u)" -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "$who: not root and no sudo; install manually: apt-get install $*" >&2
    exit 1
  fi
fi
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
