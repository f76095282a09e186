"""Flash of a linked firmware split by what it holds: code, weights, scales, the rest.

From the ELF (pyelftools, sim/elfinfo.py): code is the executable sections; weights are the
generated model's weight arrays (mf_w<i>, codegen/emit.py: float, FP16 or int8 weights and
int32 biases); "weights (kernel layout)" are the second copies of weights that a kernel reads
in its own layout (n<i>_w<k>, tables of kind "weights", ops/base.py: the DSP convs' SMLAD
pairs); weights plus these are CompiledModel.weight_bytes. Scales are the int8 requantisation
tables (n<i>_q<k>: per-channel Q31 multipliers and shifts, the run-time form of the scales and
zero points). Per-tensor
multipliers and zero points are fields of the op descriptors, counted with the other
constants (descriptors, shape tables, libc's read-only data) they sit among.
"""

from __future__ import annotations

import re

from toolchain.sim.elfinfo import ElfInfo, MemoryUse

WEIGHT = re.compile(r"mf_w\d+")
KERNEL_WEIGHT = re.compile(r"n\d+_w\d+")
SCALE = re.compile(r"n\d+_q\d+")
TEST_INPUT = re.compile(r"mf_test_input_\d+")
KERNEL_WEIGHTS = "weights (kernel layout)"  # the split's key for them


def flash_split(info: ElfInfo, use: MemoryUse) -> dict[str, int]:
    """Bytes of flash per kind; the values add up to use.flash_bytes."""
    in_flash = [s for s in info.sections if s.name in use.flash_by_section]

    def stored(addr: int) -> bool:  # in a read-only section stored in flash (not a RAM copy)
        return any(s.vma <= addr < s.vma + s.size and not s.writable for s in in_flash)

    def symbols(pat: re.Pattern[str]) -> int:
        return sum(s.size for s in info.symbols.values() if pat.fullmatch(s.name) and stored(s.value))

    code = sum(s.size for s in in_flash if s.executable)
    data_init = sum(s.size for s in in_flash if s.writable)
    weights, kernel_weights = symbols(WEIGHT), symbols(KERNEL_WEIGHT)
    scales, test_input = symbols(SCALE), symbols(TEST_INPUT)
    out = {"code": code, "weights": weights, KERNEL_WEIGHTS: kernel_weights, "scales": scales,
           "other constants": use.flash_bytes - code - data_init - weights - kernel_weights - scales - test_input,
           "initial values of .data": data_init}
    if test_input:
        out["baked-in test input"] = test_input
    return out
