"""End-to-end NAS on digits (small enough for 2 CPU cores), the search loop, export and CLI.

The end-to-end checks are the issue's "must show": the chosen model's compiled arena and flash
are within the budget (exact: the written ONNX is compiled again here), and its compiled C,
run on every test sample, gives PyTorch's arg-max on every one.
"""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

from click.testing import CliRunner  # noqa: E402

from toolchain.api import compile_model  # noqa: E402
from toolchain.nas.commands import nas  # noqa: E402
from toolchain.nas.evolution import Candidate, EvolutionOptions, evolve, pareto_front  # noqa: E402
from toolchain.nas.measure import Budget, Footprint, fold_batchnorm, parse_bytes, to_onnx  # noqa: E402
from toolchain.nas.search import NasOptions, run_nas  # noqa: E402
from toolchain.nas.space import CNNSpace, ViTConfig, ViTSpace, hand_cnn  # noqa: E402
from toolchain.nas.train import FinetuneOptions, TrainOptions  # noqa: E402

pytestmark = pytest.mark.host

TINY_VIT = ViTSpace(resolutions=(8,), patches=(2, 4), embeds=(16, 32), depths=(1, 2), heads=(1, 2),
                    mlp_ratios=(1.0, 2.0), ranks=(4, 8, "dense"))
TINY_CNN = CNNSpace(resolutions=(8,), widths=(0.25, 0.5, 0.75), depths=(1,), kernels=(3, 5), expansions=(2, 3))
BOARD = "stm32f746-disco"
TINY_EVO = EvolutionOptions(population=6, parents=3, mutations=3, crossovers=3, generations=2)
# Budgets between the tiny spaces' smallest and largest footprints, so the search must reject.
CASES = [("vit", TINY_VIT, 4 * 1024), ("cnn", TINY_CNN, 8 * 1024)]


@pytest.mark.parametrize("family, space, ram", CASES, ids=[c[0] for c in CASES])
def test_search_end_to_end_fits_and_c_matches_pytorch(tmp_path, family, space, ram) -> None:
    out = tmp_path / "best.onnx"
    r = run_nas(NasOptions(family=family, ram_budget=ram, flash_budget=256 * 1024, space=space,
                           train=TrainOptions(epochs=8), evolution=TINY_EVO, finetune=FinetuneOptions(epochs=8),
                           out=out))
    assert r is not None
    # Exact budget, from the compiler, on the file as written.
    cm = compile_model(out)
    assert cm.arena_bytes == r.arena_bytes <= ram
    # Flash from the ELF linked for the board: every allocated section that holds bytes (code,
    # constants, .data's initial values), summed here by pyelftools on a fresh build.
    assert r.chosen.footprint.linked and r.flash_bytes <= 256 * 1024
    assert r.flash_bytes == _elf_flash(out, tmp_path / "fw") > cm.weight_bytes
    assert r.search.rejected > 0, "budget did not bind: the test would not test the constraint"
    # Compiled C on the whole test split == PyTorch, sample by sample.
    assert r.check.samples == 360
    assert r.check.agree == r.check.samples
    assert r.check.c_accuracy == r.check.torch_accuracy
    # Seeded run, 8 + 8 epochs on a tiny space: well above chance (10%).
    assert r.accuracy > {"cnn": 0.8, "vit": 0.6}[family], r.accuracy
    # The winner is the re-ranking's first: top 3 of the search and the hand design, each
    # trained from scratch for 2 seeds, best mean validation accuracy.
    assert len(r.ranking) == 4 and sum(k.entry.hand for k in r.ranking) == 1
    assert all(len(k.val) == 2 for k in r.ranking)
    assert r.label == r.ranking[0].entry.label and r.val_accuracy == max(k.mean for k in r.ranking)
    # A clean graph: BN folded, no exporter Identity nodes.
    ops = Counter(n.op_type for n in cm.graph.nodes)
    assert not {"BatchNormalization", "Identity"} & set(ops)
    j = r.to_json()
    assert {"accuracy", "inherited_accuracy", "arena_bytes", "flash_bytes", "config", "pareto"} <= set(j)
    assert all(p["arena_bytes"] <= ram for p in j["pareto"])
    json.dumps(j)


def _elf_flash(onnx_path, out_dir) -> int:
    from elftools.elf.constants import SH_FLAGS
    from elftools.elf.elffile import ELFFile

    from toolchain.boards import load_board
    from toolchain.device import build_device_firmware

    elf = build_device_firmware(onnx_path, load_board(BOARD), out_dir, target="silicon").build.elf
    with open(elf, "rb") as f:
        return sum(s["sh_size"] for s in ELFFile(f).iter_sections()
                   if s["sh_flags"] & SH_FLAGS.SHF_ALLOC and s["sh_type"] != "SHT_NOBITS")


@pytest.mark.qemu
@pytest.mark.slow
def test_chosen_model_runs_in_qemu_with_pytorchs_accuracy(tmp_path) -> None:
    """The exported model flashed into the simulated stm32f746-disco over GDB; every test
    sample over its UART; arg-max equal to PyTorch's on all 360."""
    from toolchain.nas.qemu_runner import qemu_runner

    r = run_nas(NasOptions(family="cnn", ram_budget=12 * 1024, flash_budget=256 * 1024, space=TINY_CNN,
                           train=TrainOptions(epochs=2), finetune=FinetuneOptions(epochs=1), evolution=TINY_EVO,
                           out=tmp_path / "best.onnx"),
                runner=qemu_runner("stm32f746-disco"))
    assert r is not None and r.arena_bytes <= 12 * 1024
    assert r.check.samples == 360 and r.check.agree == 360
    assert r.check.c_accuracy == r.check.torch_accuracy


def test_lowrank_export_folds_the_middle_factor_and_goes_dense_when_not_smaller() -> None:
    from toolchain.nas.vit import ViTSupernet

    space = ViTSpace()
    net = ViTSupernet(space).eval()

    def matmuls(c: ViTConfig) -> int:
        p = to_onnx(net.extract(c), 1, c.resolution)
        return sum(n.op_type == "MatMul" for n in p.graph.node)

    # Per block: 6 linears + 2 attention products. Rank 4 of 32 is factored: 2 MatMuls per
    # linear (the r x r middle merged); "dense" and rank 16 of 32 (16*64 >= 32*32) are one.
    attn = 2
    assert matmuls(ViTConfig(8, 2, 32, 1, 2, 1.0, (4, 4, 4))) == 6 * 2 + attn
    assert matmuls(ViTConfig(8, 2, 32, 1, 2, 1.0, ("dense", 4, 4))) == 6 + attn
    assert matmuls(ViTConfig(8, 2, 32, 1, 2, 1.0, (16, 4, 4))) == 6 + attn


def test_extracted_subnet_equals_supernet_and_bn_folds() -> None:
    from toolchain.nas.cnn import CNNSupernet, recalibrate_bn

    space, rng = CNNSpace(), random.Random(0)
    net = CNNSupernet(space)
    for _ in range(3):
        c = space.sample(rng)
        x = torch.randn(8, 1, c.resolution, c.resolution)
        recalibrate_bn(net, lambda b: net(b, c), [torch.randn(16, 1, c.resolution, c.resolution)])
        net.eval()
        with torch.no_grad():
            want = net(x, c)
            got = fold_batchnorm(net.extract(c))(x)
        assert torch.allclose(want, got, atol=1e-4)
        assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fold_batchnorm(net.extract(c)).modules())


def test_evolution_respects_budget_and_finds_the_best_fitting() -> None:
    space = CNNSpace()
    stem_only = lambda c: Footprint(arena_bytes=int(1000 * c.width * c.resolution), weight_bytes=0, macs=0)  # noqa: E731
    acc = lambda c: c.width + c.resolution / 100 + sum(c.depths) / 1000  # noqa: E731 - bigger is better
    budget = Budget(ram_bytes=8000, flash_bytes=10**9)
    log = evolve(space, acc, stem_only, budget, EvolutionOptions(population=10, parents=4, mutations=8,
                                                                 crossovers=8, generations=8))
    assert all(budget.fits(c.footprint) for c in log.evaluated)
    assert log.rejected > 0
    # Best fitting on this score: width 1.0 at resolution 8 (8000 B, exactly the budget), deepest.
    best = log.best.config
    assert (best.width, best.resolution, best.depths) == (1.0, 8, (2, 2, 2))
    # Seeds that fit enter the first population; those that do not are left out.
    seeds = (hand_cnn(space, 0.5, 8), hand_cnn(space, 4.0, 16))
    log = evolve(space, acc, stem_only, budget, EvolutionOptions(population=3, generations=1), seeds=seeds)
    scored = {c.config for c in log.evaluated}
    assert seeds[0] in scored and seeds[1] not in scored


def test_pareto_front() -> None:
    def cand(acc, ram, flash):
        return Candidate(CNNSpace().sample(random.Random(ram + flash)), acc, Footprint(ram, flash - 1000, 0, 1000))

    a, b, c, d = cand(0.9, 100, 100_000), cand(0.8, 50, 100_000), cand(0.8, 60, 100_000), cand(0.95, 200, 90_000)
    front = pareto_front([a, b, c, d])
    assert c not in front and {a, b, d} == set(front)


def test_sizes_and_cli_errors(tmp_path) -> None:
    assert parse_bytes("64K") == 65536 and parse_bytes("1M") == 1 << 20 and parse_bytes("1000") == 1000
    runner = CliRunner()
    r = runner.invoke(nas, ["--ram-budget", "lots"])
    assert r.exit_code == 2 and "cannot read 'lots' as a size" in r.output
    r = runner.invoke(nas, ["--board", "no-such-board"])
    assert r.exit_code == 2 and "unknown board 'no-such-board'" in r.output
    r = runner.invoke(nas, ["--finetune-epochs", "-1"])
    assert r.exit_code == 2 and "--finetune-epochs must be at least 0" in r.output
    r = runner.invoke(nas, ["--ram-budget", "1K", "--family", "cnn", "--out", str(tmp_path / "x.onnx")])
    assert r.exit_code == 2 and "even the smallest cnn" in r.output
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"x")
    r = runner.invoke(nas, ["--dataset", str(bad)])
    assert r.exit_code == 2 and "not a readable .npz" in r.output


def test_pareto_plot(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    from toolchain.nas.plot import plot_pareto

    space, rng = ViTSpace(), random.Random(5)
    cands = [Candidate(space.sample(rng), rng.random(), Footprint(rng.randrange(1000, 60000), 40000, 0))
             for _ in range(20)]
    front = pareto_front(cands)
    out = plot_pareto(cands, front, front[-1], 64 * 1024, tmp_path / "p.png", "test",
                      hand=[("hand cnn width 16", 12288, 0.99)], chosen_test=0.98)
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("width", [8, 16, 24, 32])
def test_hand_cnn_is_the_spaces_subnetwork(width) -> None:
    """The hand-designed CNN is inside the CNN space: the supernet's sub-network at
    ``hand_cnn`` exports the very graph PlainCNN does (ops, weight shapes, arena)."""
    from toolchain.nas.baseline import PlainCNN
    from toolchain.nas.cnn import CNNSupernet

    space = CNNSpace()
    c = hand_cnn(space, width / space.stem_channels, 8)
    assert space.is_valid(c)
    ours = to_onnx(fold_batchnorm(CNNSupernet(space).extract(c)), 1, 8)
    hand = to_onnx(fold_batchnorm(PlainCNN(width)), 1, 8)
    assert [n.op_type for n in ours.graph.node] == [n.op_type for n in hand.graph.node]
    assert [list(t.dims) for t in ours.graph.initializer] == [list(t.dims) for t in hand.graph.initializer]
    assert compile_model(ours).arena_bytes == compile_model(hand).arena_bytes


def test_distillation_and_shrinking_schedule() -> None:
    from toolchain.nas.train import phase_plan, sandwich, sandwich_loss

    assert phase_plan(40, (0.25, 0.15, 0.2, 0.4), 4) == [10, 6, 8, 16]
    assert phase_plan(2, (0.25, 0.15, 0.2, 0.4), 4) == [0, 0, 0, 2]  # too short: whole space only
    assert sandwich(TINY_CNN, random.Random(0), 2)[0] == TINY_CNN.largest()
    # distill=1: a student's gradient comes from the teacher's soft labels only, not the labels
    teacher = torch.tensor([[4.0, 0.0, 0.0]])
    student = torch.zeros(1, 3, requires_grad=True)
    sandwich_loss([teacher, student], torch.tensor([2]), 1.0).backward()
    soft = torch.softmax(teacher, 1)
    assert torch.allclose(student.grad, torch.softmax(student, 1).detach() - soft)


def test_cuda_request_falls_back_with_one_line(capsys) -> None:
    from toolchain.nas.train import pick_device

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert pick_device(None, "cuda").type == "cpu"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no CUDA device" in err[0]


def _ddp_rank(rank: int, port: int, out: str) -> None:
    import os

    from toolchain.nas.cnn import CNNSupernet
    from toolchain.nas.data import load_dataset
    from toolchain.nas.train import train_supernet

    os.environ.update(RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.manual_seed(0)
    net = CNNSupernet(TINY_CNN)
    log = train_supernet(net, TINY_CNN, load_dataset("digits"), TrainOptions(epochs=1, device="cpu"))
    torch.save({"world": log.world, "params": [p.detach() for p in net.parameters()]}, f"{out}/rank{rank}.pt")
    import torch.distributed as tdist

    tdist.destroy_process_group()


@pytest.mark.slow
def test_torchrun_ddp_two_cpu_processes_keep_one_set_of_weights(tmp_path) -> None:
    """The DDP path for real: two gloo processes, each on its shard of every batch; after
    training both hold identical weights (gradients were averaged), and they moved."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_rank, args=(port, str(tmp_path)), nprocs=2, join=True)
    a, b = (torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1))
    assert a["world"] == b["world"] == 2
    assert all(torch.equal(x, y) for x, y in zip(a["params"], b["params"]))
    torch.manual_seed(0)
    from toolchain.nas.cnn import CNNSupernet

    fresh = list(CNNSupernet(TINY_CNN).parameters())
    assert any(not torch.equal(x, y) for x, y in zip(a["params"], fresh))
