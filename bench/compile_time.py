"""Compile time against graph size: long chains of element-wise ops (each one in-place over
the last, so every alias goes through the plan checker) with a residual Add every few nodes.

    python bench/compile_time.py [--nodes 1500 3000 6000] [--profile]

Prints nodes, wall and CPU seconds for compile_model (load, fold, passes, schedule, plan,
check) and the checker's share (wall). The issue-11 figures before the checker was made O(n log n): 1.3 s, 7 s and
45 s for 1,500 / 3,000 / 6,000 nodes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the repository, not bench/, first on the path: bench/profile.py would shadow the standard
# library's profile module that cProfile imports
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import onnx  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402

from toolchain.api import compile_model  # noqa: E402
from toolchain.memory import checker  # noqa: E402


def chain(n: int, width: int = 64) -> onnx.ModelProto:
    """x -> (Relu | Mul by a constant | Add of the value 3 nodes back) ... n nodes."""
    nodes, inits = [], [helper.make_tensor("k", TensorProto.FLOAT, [width], [0.5] * width)]
    prev = ["x"]
    for i in range(n):
        out = f"t{i}"
        kind = i % 3
        if kind == 0:
            nodes.append(helper.make_node("Relu", [prev[-1]], [out], name=f"relu{i}"))
        elif kind == 1:
            nodes.append(helper.make_node("Mul", [prev[-1], "k"], [out], name=f"mul{i}"))
        else:
            nodes.append(helper.make_node("Add", [prev[-1], prev[-3] if len(prev) >= 3 else "x"], [out], name=f"add{i}"))
        prev.append(out)
    nodes.append(helper.make_node("Identity", [prev[-1]], ["y"], name="out"))
    g = helper.make_graph(nodes, f"chain{n}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, width])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def measure(n: int, profile: bool = False) -> dict:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "chain.onnx"
        onnx.save(chain(n), p)
        spent = [0.0]
        orig = checker.check_plan

        def timed(*a, **k):  # noqa: ANN002, ANN003
            t = time.perf_counter()
            try:
                return orig(*a, **k)
            finally:
                spent[0] += time.perf_counter() - t

        import toolchain.memory as mem
        mem.check_plan = timed
        if profile:
            import cProfile
            import pstats
        prof = cProfile.Profile() if profile else None
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            if prof:
                prof.enable()
            cm = compile_model(p)
            if prof:
                prof.disable()
        finally:
            mem.check_plan = orig
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        if prof:
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return {"nodes": n, "runtime_nodes": len(cm.graph.nodes), "seconds": dt, "cpu_seconds": cpu,
            "checker_seconds": spent[0],
            "arena_bytes": cm.arena_bytes}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, nargs="+", default=[1500, 3000, 6000])
    ap.add_argument("--profile", action="store_true")
    a = ap.parse_args()
    # wall time depends on what else the machine runs; CPU time of this process much less
    print(f"{'nodes':>7} {'runtime nodes':>14} {'compile s':>10} {'CPU s':>7} {'checker s':>10} {'arena B':>9}")
    for n in a.nodes:
        r = measure(n, a.profile)
        print(f"{r['nodes']:>7} {r['runtime_nodes']:>14} {r['seconds']:>10.2f} {r['cpu_seconds']:>7.2f} "
              f"{r['checker_seconds']:>10.2f} "
              f"{r['arena_bytes']:>9}")


if __name__ == "__main__":
    main()
