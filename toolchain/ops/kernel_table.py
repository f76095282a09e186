"""The runtime's kernels, declared in Python: which runtime_c/src file defines each kernel,
which files that file calls into, its dtype and ISA, and its scratch formula (the Python
twin of the kernel's C size function).

Lowering asks it which variants exist (``available``); codegen copies exactly the files a
model's kernels need (``sources_for``). Nothing in toolchain/ reads C to learn any of this;
tests/test_kernel_table.py checks the table against the C sources instead.

Registering is one call beside the op family's lowering, e.g. in ops/conv.py::

    kernels("mf_conv2d", "conv_f16_{isa}.c", dtypes=("f16",), isas=("rvv", "mve"),
            needs=("conv_im2col_f16_ref.c", "gemm_f16_{isa}.c"), scratch=conv_scratch,
            sig=CONV_SCRATCH_SIG)

registers mf_conv2d_f16_rvv in conv_f16_rvv.c and mf_conv2d_f16_mve in conv_f16_mve.c;
``{dtype}`` and ``{isa}`` are filled in the file names.

The table also owns the C prototypes: a registration's ``sig`` (a ``Sig``: the family's public
header and the parameter list, ``{t}`` standing for the element type) gives every kernel it
registers its declaration, and ``make protos`` (``python -m toolchain.ops.protos --write``)
writes them into each header between the ``PROTOS_BEGIN``/``PROTOS_END`` lines. No
kernel prototype is written by hand; tests/test_kernel_table.py fails when a header's block
differs from the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

ScratchFn = Callable[..., int]

# The C element type of each dtype, substituted for {t} in a signature.
C_TYPES = {"f32": "float", "f16": "mf_f16", "s8": "int8_t"}


@dataclass(frozen=True)
class Sig:
    """A kernel's C declaration less its name: the public header it is declared in, the
    parameter list (``{t}`` = the element type of the kernel's dtype) and the return type."""
    header: str  # runtime_c/include file
    params: str  # e.g. "const {t} *x, {t} *y, const mf_copy_desc *d"
    ret: str = "int"

    def at(self, header: str) -> Sig:
        """The same parameters declared in another header (the fork/join twins in mf_par.h)."""
        return Sig(header, self.params, self.ret)

    def prototype(self, name: str, dtype: str) -> str:
        return f"{self.ret} {name}({self.params.format(t=C_TYPES.get(dtype, ''))});"


@dataclass(frozen=True)
class KernelEntry:
    name: str  # mf_<op>[_variant]_<dtype>_<isa>
    base: str  # mf_<op>[_variant]
    dtype: str
    isa: str
    source: str  # the runtime_c/src file that defines it
    # Python twin of the kernel's C scratch-size function, called as scratch(isa, *shape
    # args); None where the kernel takes none or its family sizes one scratch for every
    # variant in its lower().
    scratch: ScratchFn | None = None
    sig: Sig | None = None  # None only for a kernel whose registration predates Sig (see protos)

    def scratch_bytes(self, *args: object) -> int:
        return self.scratch(self.isa, *args) if self.scratch else 0


KERNELS: dict[str, KernelEntry] = {}
FILES: dict[str, set[str]] = {}  # runtime_c/src file -> files whose functions it calls
# The activation helpers every fused epilogue calls: linked into every build.
ALWAYS = ("elementwise_f32_ref.c",)


def c_file(name: str, *needs: str) -> None:
    """Declare a runtime file and the files it calls into (helpers, shared drivers, panels)."""
    FILES.setdefault(name, set()).update(n for n in needs if n != name)


def kernels(base: str, source: str, dtypes: tuple[str, ...] = ("f32", "f16"), isas: tuple[str, ...] = ("ref",),
            needs: tuple[str, ...] = (), scratch: ScratchFn | None = None,
            sig: Sig | Mapping[str, Sig] | None = None) -> None:
    """Register base_<dtype>_<isa> for every dtype and ISA, defined in `source` (which calls
    into `needs`; both may name {dtype} and {isa}) and declared as `sig` (or sig[dtype] where
    the dtypes' parameter lists differ by more than the element type)."""
    for dtype in dtypes:
        for isa in isas:
            src = source.format(dtype=dtype, isa=isa)
            c_file(src, *(n.format(dtype=dtype, isa=isa) for n in needs))
            name = f"{base}_{dtype}_{isa}"
            KERNELS[name] = KernelEntry(name, base, dtype, isa, src, scratch,
                                        sig.get(dtype) if isinstance(sig, Mapping) else sig)


def helper(name: str, source: str, needs: tuple[str, ...] = (), isa: str = "", sig: Sig | None = None) -> None:
    """A function generated code calls by its full name, outside the base_<dtype>_<isa>
    pattern (mf_cast_f32_to_f16_ref, mf_loss_scale_update)."""
    c_file(source, *needs)
    KERNELS[name] = KernelEntry(name, name, "", isa, source, sig=sig)


def available() -> frozenset[str]:
    return frozenset(KERNELS)


def entry(kernel: str) -> KernelEntry:
    return KERNELS[kernel]


def sources_for(names: set[str]) -> list[str]:
    """The runtime files to compile for these kernels: their own files, what those call into
    (transitively) and ALWAYS; sorted. Unknown kernel names raise KeyError."""
    missing = sorted(k for k in names if k not in KERNELS)
    if missing:
        raise KeyError(f"kernels not in the kernel table (toolchain/ops/kernel_table.py): {missing}")
    todo = [KERNELS[k].source for k in names] + list(ALWAYS)
    out: set[str] = set()
    while todo:
        f = todo.pop()
        if f not in out:
            out.add(f)
            todo.extend(FILES.get(f, ()))
    return sorted(out)
