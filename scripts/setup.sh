#!/usr/bin/env bash
# Idempotent set-up on Debian 12: cross compilers, picolibc, clang-19, QEMU, then the Python
# package with its test extras. Installs only what is missing; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(gcc make gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi
      gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf clang-19 lld-19
      qemu-system-arm qemu-system-misc gdb-multiarch
      chromium fonts-dejavu-core)  # headless Chromium renders `mcuforge report` in its test
# nas brings PyTorch (CPU, capped at 2.13.0): the training and NAS tests compare against it.
EXTRAS="${MCUFORGE_EXTRAS:-test,plot,nas}"

missing=()
for p in "${DEBS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing Debian packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
stamp=".setup-stamp"  # pyproject.toml newer than the last install: dependencies may have changed
if ! command -v mcuforge >/dev/null || ! "$PY" -c "import toolchain, onnxruntime, pytest, xdist" 2>/dev/null \
   || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing the mcuforge Python package (extras: $EXTRAS)"
    "$PY" -m pip install -q --disable-pip-version-check -e ".[${EXTRAS}]"
    touch "$stamp"
fi
echo "setup: ok ($(arm-none-eabi-gcc -dumpversion) arm-gcc, $(clang-19 --version | head -1 | awk '{print $4}') clang, $(qemu-system-arm --version | head -1 | awk '{print $4}') qemu)"
