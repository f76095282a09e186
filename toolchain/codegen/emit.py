"""IR + memory plan -> C sources, through the jinja2 templates in templates/.

Python prepares every value as a plain string or list (C literals, identifiers, comments);
the templates only loop and substitute (StrictUndefined, no arithmetic).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import numpy as np

from toolchain.codegen.ctext import c_comment  # noqa: F401  (callers import it from here)
from toolchain.ir.graph import Graph, Tensor
from toolchain.codegen.arena_map import arena_slots, define_lines, slot_keys, write_memory_map
from toolchain.memory import MemoryPlan
from toolchain.memory.lifetimes import SCRATCH
from toolchain.ir.graph import DType
from toolchain.resources import RUNTIME_DIR, TEMPLATES_DIR
from toolchain.ops.base import (REGISTRY, Arg, Array, Call, IntArray, Lit, Scratch, Struct, TableKind, TensorArg,
                                c_float, int_arrays)
from toolchain.ops.kernel_table import sources_for

TEMPLATES = TEMPLATES_DIR
# a constant table's symbol is n<node>_<letter><k>, the letter its kind (ops/base.py TableKind),
# so the flash split (sim/flashsplit.py) can count scales and kernel-layout weights apart
TABLE_LETTERS = {"table": "t", "scale": "q", "weights": "w"}
RUNTIME = RUNTIME_DIR

# element type of a float tensor in the generated C (mf_f16 is _Float16, runtime_c/include/mf_f16.h)
CTYPES = {DType.FLOAT32: "float", DType.FLOAT16: "mf_f16", DType.INT8: "int8_t", DType.UINT8: "uint8_t",
          DType.INT32: "int32_t"}


def ctype(t: Tensor) -> str:
    return CTYPES.get(t.dtype, "float")


def template_env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
                              autoescape=False)


@dataclass
class SourceSet:
    c_files: list[Path]
    include_dirs: list[Path]
    out_dir: Path


@dataclass
class NodeCode:
    comment: str
    calls: list[str]
    loop: str = ""  # a streamed first op: calls run once per band step (mf_step < loop) ...
    after: list[str] = field(default_factory=list)  # ... then these once


class CallRenderer:
    """Turns lowered kernel calls into C: static descriptors plus call expressions."""

    def __init__(self, g: Graph, mp: MemoryPlan, weight_names: dict[str, str]) -> None:
        self.g, self.mp, self.weights = g, mp, weight_names
        self.slots = arena_slots(g, mp)
        self.macros = slot_keys(g, mp, self.slots)
        self.node = 0  # the node whose calls are being rendered (its scratch)
        # the arena map comes first: every later declaration and call names tensors by it
        self.decls: list[str] = define_lines(self.slots, c_comment)
        self.kernels: set[str] = set()
        self.tables: dict[tuple[TableKind, tuple[int, ...]], str] = {}

    def pointer(self, name: str, ctype_: str = "float", const: bool = False) -> str:
        """A typed pointer to an arena tensor, through its arena-map macro."""
        return f"(({'const ' if const else ''}{ctype_} *){self.macros[name]})"

    def tensor(self, a: TensorArg, const: bool) -> str:
        t = self.g.tensors[a.name]
        base = self.weights[a.name] if t.is_const else self.pointer(a.name, ctype(t), const)
        step = getattr(a, "step", 0)  # ops/stream.py StepTensorArg: moves with the band loop
        if step:
            return f"({base} + {a.offset} + mf_step * {step})"
        return f"({base} + {a.offset})" if a.offset else base

    def value(self, a: Arg, prefix: str) -> str:
        if isinstance(a, Lit):
            return a.text
        if isinstance(a, IntArray):
            # one table per distinct contents and kind (table_bytes counts the same way): the
            # calls of a banded or blocked node repeat their requantisation, add and weight tables
            key = (a.kind, tuple(a.values))
            if key in self.tables:
                return self.tables[key]
            name = f"{prefix}_{TABLE_LETTERS[a.kind]}{len(self.decls)}"
            vals = ", ".join(str(v) for v in a.values) or "0"
            self.decls.append(f"static const int32_t {name}[] = {{{vals}}};")
            self.tables[key] = name
            return name
        if isinstance(a, Array):
            return "{" + ", ".join(self.value(x, prefix) for x in a.items) + "}"
        if isinstance(a, Struct):
            return "{" + ", ".join(f".{k} = {self.value(v, prefix)}" for k, v in a.fields) + "}"
        if isinstance(a, TensorArg):
            return self.tensor(a, const=True)
        if isinstance(a, Scratch):
            macro = self.macros.get(f"{SCRATCH}{self.node}")
            # a kernel whose size function says 0 for this shape never touches its scratch
            if not macro:
                return "((void *)mf_arena)"
            return f"((void *)((uint8_t *){macro} + {a.offset}))" if a.offset else f"((void *){macro})"
        raise TypeError(a)

    def call(self, c: Call, prefix: str, out_names: list[str]) -> str:
        self.kernels.add(c.kernel)
        args = []
        for a in c.args:
            if isinstance(a, Struct):
                name = f"{prefix}_d{len(self.decls)}"
                self.decls.append(f"static const {a.ctype} {name} = {self.value(a, prefix)};")
                args.append(f"&{name}")
            elif isinstance(a, TensorArg):
                args.append(self.tensor(a, const=a.name not in out_names))
            else:
                args.append(self.value(a, prefix))
        return f"{c.kernel}({', '.join(args)})"


def table_bytes(calls: list[list[Call]], kind: TableKind) -> int:
    """Flash bytes of the constant tables of one kind that CallRenderer emits for these calls:
    int32_t arrays, one per distinct contents (an empty table is one 0)."""
    tables = {tuple(a.values) for cs in calls for c in cs for a in int_arrays(c.args) if a.kind == kind}
    return sum(4 * max(len(v), 1) for v in tables)


def _overwrites_inputs(g: Graph, mp: MemoryPlan) -> bool:
    """True when the schedule reuses an input's bytes (patch embedding over the image)."""
    return any(a.source in g.inputs or mp.lifetimes.tensor_buffer.get(a.source) in
               {mp.lifetimes.tensor_buffer.get(i) for i in g.inputs if i in mp.lifetimes.tensor_buffer} for a in mp.lifetimes.aliases if a.kind != "view")


def io_ctype(g: Graph, names: list[str], what: str) -> str:
    """The element type of the model API's inputs (or outputs): float, or int8_t/uint8_t for a
    quantised model that declares integer I/O. One type per side, so one accessor serves all."""
    types = {ctype(g.tensors[n]) for n in names} or {"float"}
    if len(types) > 1:
        raise ValueError(f"model {what}s mix element types {sorted(types)}; the generated API has one")
    return types.pop()


def weight_values(t: Tensor) -> list[str]:
    """C literals for a constant, 8 per line (FP16 values are written as the float literal of
    the half they are, so the conversion in C is exact)."""
    if not t.dtype.is_float:  # int8 weights, int32 biases: exact integer literals
        flat_i = np.asarray(t.data, dtype=np.int64).reshape(-1)
        lits = [str(v) if v > -2**31 else "(-2147483647 - 1)" for v in flat_i.tolist()] or ["0"]
        return [", ".join(lits[i:i + 16]) for i in range(0, len(lits), 16)]
    flat = np.asarray(t.data, dtype=np.float32).reshape(-1)
    lits = [c_float(float(v)) for v in flat] or ["0.0f"]
    return [", ".join(lits[i:i + 8]) for i in range(0, len(lits), 8)]


def c_ident(i: int) -> str:
    return f"mf_w{i}"


def render_sources(g: Graph, mp: MemoryPlan, calls: list[list[Call]], macs: int, out_dir: Path,
                   prefix: str = "mf_model", build_info: list[str] = ()) -> SourceSet:
    """model.[ch], model_weights.[ch], memory_map.txt and the runtime files the calls need.
    build_info: lines for model.h saying how it was built (options, version)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    consts = [t for t in g.constants() if t.dtype.is_float or t.quant is not None]
    weight_names = {t.name: c_ident(i) for i, t in enumerate(consts)}
    # Kernel scratch is planned per node (memory.plan_memory's scratch), inside the arena.
    arena_bytes = mp.arena_bytes
    r = CallRenderer(g, mp, weight_names)
    nodes: list[NodeCode] = []
    for i, (n, cs) in enumerate(zip(g.nodes, calls)):
        r.node = i
        comment = f"{n.name} ({n.op_type})"
        if len(n.origin) > 1:
            comment += " fuses " + ", ".join(n.origin)
        code = [r.call(c, f"n{i}", n.outputs) for c in cs]
        tail = getattr(n.params, "tail_calls", 0) if n.op_type == "StreamIn" else 0
        nodes.append(NodeCode(c_comment(comment), code[:len(code) - tail], str(n.params.steps), code[len(code) - tail:])
                     if n.op_type == "StreamIn" else NodeCode(c_comment(comment), code))

    def io(names: list[str]) -> list[dict[str, str]]:
        out = []
        for name in names:
            t = g.tensors[name]
            # a streamed input arrives by rows (mf_model_run_rows): no buffer to point at
            ptr = weight_names[name] if t.is_const else r.pointer(name, ctype(t)) if name in r.macros else "NULL"
            # an integer input or output that encodes reals says how (real = scale * (q - zero_point))
            q = "" if t.dtype.is_float or t.quant is None or t.quant.per_channel else \
                f" {ctype(t)}, real = {t.quant.scale[0]!r} * (q - {t.quant.zero_point[0]})"
            out.append({"name": c_comment(name), "ptr": ptr, "size": str(t.size),
                        "shape": "x".join(str(d) for d in t.shape) + c_comment(q)})
        return out

    weights, kernel_weights = sum(t.nbytes for t in consts), table_bytes(calls, "weights")
    # the node that reads the image by rows: StreamIn, or a patch stage over a streamed image
    stream = next((n for n in g.nodes if getattr(REGISTRY.get(n.op_type), "streams_input", False)), None)
    ctx = {
        "stream": _stream_ctx(stream) if stream is not None else None,
        "in_ctype": io_ctype(g, g.inputs, "input"), "out_ctype": io_ctype(g, g.outputs, "output"),
        "io_float": "1" if {io_ctype(g, g.inputs, "input"), io_ctype(g, g.outputs, "output")} == {"float"} else "0",
        "prefix": prefix, "source": c_comment(g.source or g.name), "model_name": c_comment(g.name),
        "arena_bytes": str(arena_bytes), "consumes_inputs": "1" if _overwrites_inputs(g, mp) else "0", "arena_alloc": str(max(arena_bytes, 16)),
        "macs": str(macs), "inputs": io(g.inputs), "outputs": io(g.outputs), "decls": r.decls,
        "nodes": nodes, "weights": [{"cname": weight_names[t.name], "comment": c_comment(t.name), "ctype": ctype(t),
                                     "size": str(max(t.size, 1)), "rows": weight_values(t),
                                     "shape": "x".join(str(d) for d in t.shape) or "scalar"}
                                    for t in consts],
        # model_weights.c's arrays; model.h counts the kernel-layout copies in model.c too
        "weight_bytes": str(weights), "kernel_weight_bytes": str(kernel_weights),
        "all_weight_bytes": str(weights + kernel_weights),
        "build_info": [c_comment(x) for x in build_info],
        "weight_includes": ["mf_f16.h"] if any(t.dtype == DType.FLOAT16 for t in consts) else [],
    }
    env = template_env()
    files = {"model.h": "model.h.j2", "model.c": "model.c.j2", "model_weights.c": "model_weights.c.j2",
             "model_weights.h": "model_weights.h.j2"}
    for out_name, tpl in files.items():
        (out_dir / out_name).write_text(env.get_template(tpl).render(**ctx))
    write_memory_map(g, mp, r.slots, out_dir / "memory_map.txt")
    rt_files = copy_runtime(out_dir / "runtime", r.kernels)
    return SourceSet([out_dir / "model.c", out_dir / "model_weights.c"] + rt_files,
                     [out_dir, out_dir / "runtime" / "include"], out_dir)


def _stream_ctx(n) -> dict[str, str]:  # noqa: ANN001 (a StreamIn node)
    """What model.h says about mf_model_run_rows: the image, and the layout of one row."""
    c, h, w = n.params.image
    return {"rows": str(h), "width": str(w), "channels": str(c), "row_size": str(c * w),
            "nhwc": "1" if n.params.nhwc else "0", "band_h": str(n.params.band_h), "stride": str(n.params.stride)}


def copy_runtime(dest: Path, kernels: set[str]) -> list[Path]:
    """Copies the public headers and the runtime files these kernels need (the kernel table
    says which: toolchain/ops/kernel_table.py) into dest; returns the C files to compile."""
    inc = dest / "include"
    src = dest / "src"
    if dest.exists():
        shutil.rmtree(dest)
    inc.mkdir(parents=True)
    src.mkdir(parents=True)
    for h in (RUNTIME / "include").glob("*.h"):
        shutil.copy2(h, inc / h.name)
    try:
        needed = sources_for(kernels)
    except KeyError as e:
        raise RuntimeError(str(e.args[0])) from None
    # shared bodies (.inc) and the runtime's private headers (src/*.h: helpers outside the
    # kernel contract) are included by the files that use them, never compiled alone
    for body in [*(RUNTIME / "src").glob("*.inc"), *(RUNTIME / "src").glob("*.h")]:
        shutil.copy2(body, src / body.name)
    out = []
    for name in needed:
        shutil.copy2(RUNTIME / "src" / name, src / name)
        out.append(src / name)
    return out
