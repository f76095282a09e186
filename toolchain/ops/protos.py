"""The kernel prototypes of runtime_c/include, generated from the kernel table.

Every registered kernel with a ``Sig`` is declared in its family header between the lines
PROTOS_BEGIN and PROTOS_END: the kernels in name order, FP16 ones under the compiler's
_Float16 guard (mf_f16 only exists there) when they mention mf_f16. Regenerate after adding a registration:

    make protos          # = python -m toolchain.ops.protos --write
    python -m toolchain.ops.protos --check   # exit 1 and name the stale headers

A registration without ``sig`` (older style) is skipped and listed by ``--check``, so a branch
that adds kernels in the old style still builds; tests/test_kernel_table.py requires a sig.
A sig naming a header that left runtime_c/include (MOVED) is declared in the family header
that took its kernels, with a note, so a branch written before the move still merges.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import toolchain.ops  # noqa: F401  (registers the inference kernels)
import toolchain.train.loss_optim  # noqa: F401  (registers the loss and optimizer kernels)
from toolchain.ops.kernel_table import KERNELS, KernelEntry

INCLUDE = Path(__file__).resolve().parents[2] / "runtime_c" / "include"
PROTOS_BEGIN = "/* PROTOS_BEGIN: generated from toolchain/ops/kernel_table.py by `make protos`; do not edit */"
PROTOS_END = "/* PROTOS_END */"
WIDTH = 100  # the runtime's line length
F16_GUARD = "#if defined(__FLT16_MAX__)"
# Headers that are private to the runtime now (runtime_c/src) -> the family header that
# declares what a kernel registered against them would be.
MOVED = {"mf_fast.h": "mf_conv.h", "mf_conv_inplace.h": "mf_conv.h", "mf_simd_f32.h": "mf_conv.h",
         "mf_int8_simd.h": "mf_int8.h"}


def header_of(e: KernelEntry) -> str:
    """The public header a registered kernel is declared in."""
    assert e.sig is not None
    return MOVED.get(e.sig.header, e.sig.header)


def _wrap(proto: str) -> list[str]:
    """One declaration, broken after commas and aligned under the first parameter."""
    if len(proto) <= WIDTH:
        return [proto]
    indent = " " * (proto.index("(") + 1)
    lines: list[str] = []
    line = ""
    for part in proto.split(", "):
        piece = part if not line else f"{line}, {part}"
        if line and len(piece) + (0 if part.endswith(";") else 1) > WIDTH:
            lines.append(line + ",")
            line = indent + part
        else:
            line = piece
    lines.append(line)
    return lines


def unsigned() -> list[str]:
    """Registered kernels without a Sig (no generated prototype)."""
    return sorted(k for k, e in KERNELS.items() if e.sig is None)


def block(header: str) -> str:
    """The generated lines for one header, markers included."""
    entries = sorted((e for e in KERNELS.values() if e.sig and header_of(e) == header), key=lambda e: e.name)

    def lines(es: list[KernelEntry]) -> list[str]:
        return [ln for e in es for ln in _wrap(e.sig.prototype(e.name, e.dtype))]  # type: ignore[union-attr]

    half_es = [e for e in entries if "mf_f16" in e.sig.prototype(e.name, e.dtype)]  # type: ignore[union-attr]
    plain = lines([e for e in entries if e not in half_es])
    half = lines(half_es)
    out = [PROTOS_BEGIN, *plain]
    if half:
        out += [F16_GUARD, *half, "#endif"]
    return "\n".join([*out, PROTOS_END])


def headers() -> list[str]:
    return sorted({header_of(e) for e in KERNELS.values() if e.sig})


def moved() -> list[str]:
    """Kernels whose sig names a moved header (declared in its family header instead)."""
    return sorted(f"{k}: {e.sig.header} -> {header_of(e)}" for k, e in KERNELS.items() if e.sig and e.sig.header in MOVED)


def missing() -> list[str]:
    """Headers a sig names that runtime_c/include does not have."""
    return [h for h in headers() if not (INCLUDE / h).is_file()]


def render(header: str, text: str) -> str:
    """The header's text with its generated block replaced (or added before the include
    guard's closing #endif when it has none yet)."""
    new = block(header)
    start, end = text.find(PROTOS_BEGIN), text.find(PROTOS_END)
    if start >= 0 and end > start:
        return text[:start] + new + text[end + len(PROTOS_END):]
    close = text.rstrip().rfind("#endif")
    if close < 0:
        raise ValueError(f"{header}: no include guard #endif to put the prototypes before")
    return text[:close] + new + "\n\n" + text[close:]


def stale() -> list[str]:
    """Headers whose checked-in prototypes differ from the table."""
    return [h for h in headers() if render(h, (INCLUDE / h).read_text()) != (INCLUDE / h).read_text()]


def write() -> list[str]:
    changed = stale()
    for h in changed:
        path = INCLUDE / h
        path.write_text(render(h, path.read_text()))
    return changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m toolchain.ops.protos", description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help="rewrite the headers' generated blocks")
    ap.add_argument("--check", action="store_true", help="exit 1 when a header's block is stale")
    args = ap.parse_args(argv)
    for k in unsigned():
        print(f"note: {k} has no sig in the kernel table: no generated prototype", file=sys.stderr)
    for m in moved():
        print(f"note: {m} (the header is private now; use the family header in its Sig)", file=sys.stderr)
    if missing():
        names = {h: sorted(k for k, e in KERNELS.items() if e.sig and header_of(e) == h) for h in missing()}
        for h, ks in names.items():
            print(f"error: {INCLUDE / h} does not exist; Sig of {', '.join(ks)}", file=sys.stderr)
        return 2
    if args.write:
        for h in write():
            print(f"wrote {INCLUDE / h}")
        return 0
    bad = stale()
    for h in bad:
        print(f"stale: {INCLUDE / h} (run `make protos`)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
