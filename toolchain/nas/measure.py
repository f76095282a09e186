"""Memory footprints measured by this compiler and the board's toolchain, and the budget.

A candidate's footprint is not a formula: the sub-network is exported to ONNX exactly as it
would be shipped (legacy exporter, opset 17, batch 1, BatchNorm folded) and compiled with
``compile_model``; RAM is the planner's arena (which holds the input and output tensors too:
graph inputs are live from step -1).

Flash is read from a linked ELF for the board (``elf_footprint``: the device firmware as it
would be flashed, every section stored in flash, by pyelftools). Linking every candidate of a
search would cost seconds each, so during the search a candidate's flash is its weight bytes
plus the code bytes (everything but the weights) of one ELF built for the board from a
sub-network of the same family (``code_bytes_of``); the chosen model and the baseline are
linked, and their flash is their own ELF's.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import onnx
import torch
from torch import nn

from toolchain.api import CompiledModel, compile_model
from toolchain.errors import McuforgeError

OPSET = 17


@dataclass(frozen=True)
class Footprint:
    arena_bytes: int     # peak activation RAM, exact, from the memory planner
    weight_bytes: int    # const weights in flash
    macs: int
    code_bytes: int = 0  # flash besides the weights, from an ELF linked for the board
    linked: bool = False  # True: this model's own ELF; False: code bytes of a sibling's ELF

    @property
    def flash_bytes(self) -> int:
        return self.weight_bytes + self.code_bytes


@dataclass(frozen=True)
class Budget:
    ram_bytes: int
    flash_bytes: int
    board: str = ""

    def fits(self, f: Footprint) -> bool:
        return f.arena_bytes <= self.ram_bytes and f.flash_bytes <= self.flash_bytes

    def describe(self) -> str:
        where = f" ({self.board})" if self.board else ""
        return f"RAM {self.ram_bytes:,} B, flash {self.flash_bytes:,} B{where}"


def board_budget(board: str, ram: int | None = None, flash: int | None = None) -> Budget:
    """The board's RAM less its stack reserve, and its flash; either can be tightened."""
    from toolchain.boards import BoardError, load_board

    try:
        b = load_board(board)
    except BoardError as e:
        raise McuforgeError(str(e)) from None
    ram_cap = b.memory.ram.size - b.memory.stack_size
    flash_cap = b.memory.flash.size
    if ram is not None and ram > ram_cap:
        raise McuforgeError(f"RAM budget {ram:,} B exceeds {board}'s {ram_cap:,} B (RAM less the stack)")
    if flash is not None and flash > flash_cap:
        raise McuforgeError(f"flash budget {flash:,} B exceeds {board}'s {flash_cap:,} B")
    return Budget(ram if ram is not None else ram_cap, flash if flash is not None else flash_cap, board)


def parse_bytes(text: str) -> int:
    """'64K', '1M', '65536' -> bytes (K = 1024)."""
    t = text.strip().upper().removesuffix("B")
    scale = {"K": 1024, "M": 1024 * 1024}.get(t[-1:], 1)
    try:
        n = float(t[:-1] if scale > 1 else t) * scale
    except ValueError:
        raise McuforgeError(f"cannot read {text!r} as a size (examples: 65536, 64K, 1M)") from None
    if n <= 0:
        raise McuforgeError(f"size {text!r} must be positive")
    return int(n)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Conv -> BatchNorm pairs merged in place (eval mode): a cleaner graph; the compiler would
    fold them too, this keeps the ONNX file honest about what runs."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    model.eval()
    for mod in list(model.modules()):
        names = list(mod._modules)
        for a, b in zip(names, names[1:]):
            conv, bn = mod._modules[a], mod._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                mod._modules[a] = fuse_conv_bn_eval(conv, bn)
                mod._modules[b] = nn.Identity()
    return model


def to_onnx(model: nn.Module, channels: int, resolution: int) -> onnx.ModelProto:
    """Batch-1 ONNX of an eval-mode model, as shipped."""
    model = model.eval()
    x = torch.zeros(1, channels, resolution, resolution)
    buf = io.BytesIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), buf, dynamo=False, opset_version=OPSET,
                          input_names=["input"], output_names=["logits"], do_constant_folding=True)
    return clean_onnx(onnx.load_from_string(buf.getvalue()))


def footprint_of(cm: CompiledModel, code_bytes: int = 0) -> Footprint:
    return Footprint(cm.arena_bytes, cm.weight_bytes, cm.macs, code_bytes)


def elf_flash_bytes(cm: CompiledModel, board: str) -> int:
    """Flash of the device firmware for ``board`` (model, kernels, start-up, protocol main),
    as linked: every section whose load address is in the board's flash region."""
    import tempfile
    from pathlib import Path

    from toolchain.boards import load_board
    from toolchain.device import build_device_firmware

    with tempfile.TemporaryDirectory(prefix="mcuforge-nas-elf-") as tmp:
        return build_device_firmware(cm, load_board(board), Path(tmp), target="silicon").build.flash_bytes


def elf_footprint(cm: CompiledModel, board: str) -> Footprint:
    """The footprint with flash measured from this model's own ELF."""
    flash = elf_flash_bytes(cm, board)
    return Footprint(cm.arena_bytes, cm.weight_bytes, cm.macs, flash - cm.weight_bytes, linked=True)


def code_bytes_of(model: nn.Module, channels: int, resolution: int, board: str) -> int:
    """Flash besides the weights in an ELF linked for ``board`` from ``model``."""
    return elf_footprint(compile_model(to_onnx(fold_batchnorm(model), channels, resolution)), board).code_bytes


class FootprintCache:
    """Footprint per config, computed once: build(config) gives the eval-mode module to export."""

    def __init__(self, build: Callable[[object], nn.Module], channels: int,
                 resolution_of: Callable[[object], int], code_bytes: int = 0) -> None:
        self._build = build
        self.code_bytes = code_bytes
        self._channels = channels
        self._resolution_of = resolution_of
        self._cache: dict[object, Footprint] = {}

    def __call__(self, config: object) -> Footprint:
        if config not in self._cache:
            model = fold_batchnorm(self._build(config))
            proto = to_onnx(model, self._channels, self._resolution_of(config))
            self._cache[config] = footprint_of(compile_model(proto), self.code_bytes)
        return self._cache[config]

    def __len__(self) -> int:
        return len(self._cache)


def clean_onnx(model: onnx.ModelProto) -> onnx.ModelProto:
    """Drop the Identity nodes the exporter adds when it deduplicates equal initializers (all-ones
    LayerNorm scales, all-zero biases): consumers read the shared initializer directly."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    outputs = {o.name for o in g.output}
    rename: dict[str, str] = {}
    keep = []
    for n in g.node:
        if n.op_type == "Identity" and n.input[0] in inits and n.output[0] not in outputs:
            rename[n.output[0]] = n.input[0]
        else:
            keep.append(n)
    for n in keep:
        for i, name in enumerate(n.input):
            if name in rename:
                n.input[i] = rename[name]
    del g.node[:]
    g.node.extend(keep)
    return model
