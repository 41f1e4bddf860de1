#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries a binary links directly, one per
# line: the runtime image installs exactly these (apt brings what they depend on), so a library
# added to the build cannot be missing from the image.
#   scripts/runtime-packages.sh build/xueliang
set -euo pipefail
bin=${1:?usage: runtime-packages.sh BINARY}
missing=0
pkgs=()
declare -A paths
while read -r name _ path _; do
  [[ $path == /* ]] && paths[$name]=$path
done < <(ldd "$bin")
for lib in $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
  path=${paths[$lib]:-}
  if [[ -z $path ]]; then
    echo "runtime-packages: $lib not found by the dynamic loader" >&2
    missing=1
    continue
  fi
  # Debian 12 merges /lib into /usr/lib; dpkg knows each file by one of the two names.
  real=$(readlink -f "$path")
  pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null ||
        dpkg -S "${real#/usr}" 2>/dev/null) || {
    echo "runtime-packages: no package holds $path" >&2
    missing=1
    continue
  }
  pkgs+=("${pkg%%:*}")
done
printf '%s\n' "${pkgs[@]}" | sort -u
exit $missing
