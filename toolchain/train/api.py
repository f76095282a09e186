"""The training API the CLI calls: compile a training step, run it, compare with PyTorch."""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from toolchain.errors import McuforgeError
from toolchain.frontend import load_onnx
from toolchain.passes import optimize
from toolchain.codegen.target import kernel_target
from toolchain.sim.cluster import resolve_harts
from toolchain.ops.base import KernelTarget
from toolchain.train.autodiff import TrainGraph, build_training_graph
from toolchain.train.mixed import to_mixed
from toolchain.train.loss_optim import LossParams
from toolchain.train.program import TrainProgram, compile_training, render_training
from toolchain.train.spec import LOSSES, OptimizerSpec, TrainSpecError, select_trainable

# FP32: the step's loss must be within this of PyTorch's, at every step.
LOSS_ATOL_FP32 = 1e-4
# FP16 (mixed precision) against PyTorch FP32 from the same start, at every step:
# |ours - torch| <= LOSS_RTOL_FP16 * max(1, |torch|). FP16 rounds each activation and gradient
# to 11 significant bits (2^-11 = 4.9e-4 relative) and the two trajectories drift apart step by
# step; over 20 steps of DS-CNN and the ViT the measured gap stays below 0.5 % of the loss.
LOSS_RTOL_FP16 = 2e-2


def loss_errors(dtype: str, ours: list[float], reference: list[float]) -> tuple[float, bool]:
    """(max |ours - reference|, within tolerance at every step)."""
    a, b = np.asarray(ours, np.float64), np.asarray(reference, np.float64)
    if not len(a):
        return 0.0, True
    err = np.abs(a - b)
    tol = LOSS_RTOL_FP16 * np.maximum(1.0, np.abs(b)) if dtype == "fp16" else np.full_like(b, LOSS_ATOL_FP32)
    return float(err.max()), bool(np.all(err <= tol))


def loss_tolerance(dtype: str) -> float:
    """The tolerance as printed: absolute (fp32) or relative to max(1, |loss|) (fp16)."""
    return LOSS_RTOL_FP16 if dtype == "fp16" else LOSS_ATOL_FP32


@dataclass
class TrainResult:
    model: str
    board: str
    dtype: str
    trainable: list[str]
    loss: list[float]
    reference_loss: list[float] | None
    match: bool | None
    max_loss_error: float | None
    tolerance: float
    peak_ram_bytes: int
    instructions_per_step: float | None
    report: dict = field(default_factory=dict)
    weights: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    export: str | None = None
    weighted_instructions_per_step: float | None = None  # RVV: each vector instruction x LMUL
    # cluster boards: harts, span_instructions, instructions_per_hart (per step; LMUL-weighted
    # on RVV) and parallel_efficiency against one_hart_instructions (toolchain.sim.cluster)
    cluster: dict | None = None

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("weights")
        return d


def load_data(data: str | Path | tuple[np.ndarray, np.ndarray] | None, x_shape: tuple[int, ...],
              lp: LossParams, seed: int = 0, samples: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(x, y), sample i % len(x) at step i: from an npz (keys x, y), or seeded synthetic data
    (x ~ N(0, 1), uniform random labels / N(0, 1) targets)."""
    if data is None:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((samples,) + x_shape).astype(np.float32)
        if lp.kind == "cross_entropy":
            return x, rng.integers(0, lp.cols, (samples, lp.rows)).astype(np.int64)
        return x, rng.standard_normal((samples, lp.rows * lp.cols)).astype(np.float32)
    if isinstance(data, tuple):
        x, y = data
    else:
        try:
            z = np.load(str(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:  # not an npz, pickled objects, truncated
            raise McuforgeError(f"{data}: not a readable .npz file ({str(e)[:120]})") from None
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise McuforgeError(f"{data}: a single .npy array; expected an .npz with arrays 'x' and 'y'")
        with z:
            if "x" not in z or "y" not in z:
                raise McuforgeError(f"{data}: the npz needs arrays 'x' and 'y' (has {', '.join(z.files)})")
            try:
                x, y = z["x"], z["y"]
            except (ValueError, OSError, EOFError) as e:
                raise McuforgeError(f"{data}: cannot read its arrays ({str(e)[:120]})") from None
    n = len(x)
    per = int(np.prod(x_shape))
    if n == 0 or np.asarray(x).size != n * per:
        raise McuforgeError(f"data x has shape {np.shape(x)}; expected (samples,) + {x_shape}")
    y_per = lp.rows if lp.kind == "cross_entropy" else lp.rows * lp.cols
    if len(y) != n or np.asarray(y).size != n * y_per:
        raise McuforgeError(f"data y has shape {np.shape(y)}; expected ({n}, {y_per}) "
                            f"({'class indices' if lp.kind == 'cross_entropy' else 'targets'})")
    y = np.asarray(y).reshape(n, y_per)
    if lp.kind == "cross_entropy" and (y.min() < 0 or y.max() >= lp.cols):
        raise McuforgeError(f"labels must lie in [0, {lp.cols})")
    return np.asarray(x, np.float32).reshape((n,) + x_shape), y


def prepare(model_path: str | Path, trainable: str, loss: str, optimizer: OptimizerSpec,
            ram_budget: int | None = None, target: KernelTarget = KernelTarget()) -> TrainProgram:
    """The planned training step; `target` f16 builds the mixed-precision step (train.mixed)."""
    return compile_training(_mixed_if(build_fp32(model_path, trainable, loss, optimizer), target), ram_budget,
                            target)


def _mixed_if(tg: TrainGraph, target: KernelTarget) -> TrainGraph:
    return to_mixed(tg) if target.dtype == "f16" else tg


def build_fp32(model_path: str | Path, trainable: str, loss: str, optimizer: OptimizerSpec) -> TrainGraph:
    if loss not in LOSSES:
        raise TrainSpecError(f"loss {loss!r}: expected one of {', '.join(LOSSES)}")
    # Operator integration (attention / token-chain kernels) exists to never materialise the
    # intermediates; a backward pass needs them, so training keeps the plain fusions only.
    g = optimize(load_onnx(model_path), integrate=False)
    if len(g.inputs) != 1:
        raise TrainSpecError(f"training needs a single-input model; this one has {len(g.inputs)}")
    return build_training_graph(g, select_trainable(g, trainable), loss, optimizer)


def train(model_path: str | Path, trainable: str = "last:1", loss: str = "cross_entropy",
          optimizer: str = "sgd", lr: float = 0.01, momentum: float = 0.0, steps: int = 20,
          data: str | Path | tuple[np.ndarray, np.ndarray] | None = None, board: str | None = None,
          dtype: str = "fp32", ram_budget: int | None = None, reference: bool = True,
          export: str | Path | None = None, seed: int = 0, work_dir: str | Path | None = None,
          harts: int | None = None, one_hart_work: float | None = None) -> TrainResult:
    """Fine-tune on the host (board None or 'host') or in QEMU; data None = seeded synthetic.
    dtype fp16: FP16 activations and gradients, FP32 master weights (train.mixed); the kernels
    are the board's best for that dtype (codegen.target.kernel_target), the reference ones on
    the host. harts: on a cluster board, the harts the kernels fork over (default all);
    one_hart_work: the same step's instructions on 1 hart, for the parallel efficiency."""
    if dtype not in ("fp32", "fp16"):
        raise McuforgeError(f"--dtype {dtype}: expected fp32 or fp16")
    opt = OptimizerSpec(optimizer, lr, momentum)
    on_host = board in (None, "host")
    brd = None
    if not on_host:
        from toolchain.boards import load_board

        brd = load_board(board)
        harts = resolve_harts(brd, harts)
        if ram_budget is None:  # every hart has its own stack (a cluster's workers too)
            ram_budget = brd.memory.ram.size - brd.memory.stack_size * brd.max_harts
    elif harts not in (None, 1):
        raise McuforgeError(f"--harts {harts}: the host runs one hart")
    target = kernel_target(brd, dtype)  # type: ignore[arg-type]
    tg32 = build_fp32(model_path, trainable, loss, opt)
    prog = compile_training(_mixed_if(tg32, target), ram_budget, target, harts=harts or 1)
    tg = prog.tg
    x, y = load_data(data, tg.graph.tensors[tg.inputs[0]].shape, tg.loss_params, seed)
    with tempfile.TemporaryDirectory(prefix="mcuforge-train-") as tmp:
        out_dir = Path(work_dir or tmp)
        src = render_training(prog, out_dir)
        if on_host:
            from toolchain.train.hostrun import build_host_trainer, run_host_trainer

            run = run_host_trainer(build_host_trainer(src), prog, x, y, steps)
            losses, weights, ips, wips = run.losses, run.weights, None, None
            cluster = None
        else:
            from toolchain.train.simrun import run_in_qemu

            losses, weights, ips, wips, cluster = run_in_qemu(src, prog, brd, x, y, steps, out_dir, harts or 1,
                                                              one_hart_work)
    ref_loss, match, err = None, None, None
    if reference:
        from toolchain.train.torch_ref import train_reference

        ref = train_reference(tg32.graph, tg.logits, {w.name: w.init for w in tg.weights}, tg.inputs, [x], y,
                              loss, opt, steps)
        ref_loss = ref.losses
        err, match = loss_errors(dtype, list(losses), ref_loss)
    exported = None
    if export is not None:
        from toolchain.train.export import export_onnx

        exported = str(export_onnx(model_path, tg.weights, weights, export))
    return TrainResult(str(model_path), board or "host", dtype, [w.name for w in tg.weights],
                       [float(v) for v in losses], ref_loss, match, err,
                       loss_tolerance(dtype),
                       prog.peak_ram_bytes, ips, prog.report(), dict(weights), exported, wips, cluster)


def train_cluster(model_path: str | Path, board: str, harts: int | None = None, **kw: object) -> TrainResult:
    """train() on `harts` harts of a cluster board and once on 1 hart (no reference run), for
    the parallel efficiency and the check that the loss trajectory is the 1-hart one, bit for
    bit (cluster["loss_equals_one_hart"])."""
    from toolchain.boards import load_board

    harts = resolve_harts(load_board(board), harts)
    one = train(model_path, board=board, harts=1, **{**kw, "reference": False, "export": None})  # type: ignore[arg-type]
    one_work = one.cluster["work_instructions"] if one.cluster else None
    if harts == 1:
        r = train(model_path, board=board, harts=1, **kw)  # type: ignore[arg-type]
    else:
        r = train(model_path, board=board, harts=harts, one_hart_work=one_work, **kw)  # type: ignore[arg-type]
    if r.cluster is not None:
        r.cluster["one_hart_instructions"] = one_work
        if harts == 1 and one_work:
            r.cluster["parallel_efficiency"] = one_work / r.cluster["span_instructions"]
        r.cluster["loss_equals_one_hart"] = [np.float32(v) for v in r.loss] == [np.float32(v) for v in one.loss]
    return r
