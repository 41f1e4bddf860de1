#!/usr/bin/env bash
# runtime-packages.sh against dpkg's own file lists: every library the server links directly lies
# in a package it names, and a binary whose library is gone makes it fail with the library named.
#   runtime_packages_test.sh SCRIPT BINARY
set -euo pipefail
script=$1 bin=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

pkgs=$(bash "$script" "$bin") || fail "exit status $? for $bin"
[[ -n $pkgs ]] || fail "no packages for $bin"
files=$(for p in $pkgs; do dpkg -L "$p"; done | xargs -r readlink -f | sort -u)
while read -r name _ path _; do
  [[ $path == /* ]] || continue
  grep -qxF "$(readlink -f "$path")" <<<"$files" || fail "$name ($path) is in none of: $pkgs"
done < <(ldd "$bin" | grep -F -f <(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1 =>/p'))
echo "ok: $(wc -w <<<"$pkgs") packages hold the $(readelf -d "$bin" | grep -c NEEDED) libraries"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo 'int gone(void) { return 0; }' >"$tmp/gone.c"
echo 'int gone(void); int main(void) { return gone(); }' >"$tmp/main.c"
cc -shared -fPIC "$tmp/gone.c" -o "$tmp/libgone.so"
cc "$tmp/main.c" -o "$tmp/main" -L"$tmp" -lgone -Wl,-rpath,"$tmp"
rm "$tmp/libgone.so"
if err=$(bash "$script" "$tmp/main" 2>&1 >/dev/null); then fail "a missing library went unnoticed"; fi
grep -q "libgone.so" <<<"$err" || fail "the missing library is not named: $err"
echo "ok: a missing library fails: $err"
