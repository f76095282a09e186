"""`mcuforge report`: one self-contained HTML page, opened in headless Chromium (Debian's
`chromium`, installed by scripts/setup.sh), which must render it: the DOM Chromium built holds
the summary, the board-fit bars, the inline SVG timeline and one table row per node with the
figures of the compile (and of the profiled run with --sim); the screenshot is not blank and
shows the bars' colours. Issue 16, part 2."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from conftest import REAL_MODELS
from fixtures.sim_support import require_tools
from toolchain.api import CompileOptions, compile_model
from toolchain.codegen.target import kernel_target
from toolchain.boards import load_board

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars")
WINDOW = (1400, 2000)
BAR_BLUE = (0x3B, 0x6F, 0xD8)  # .seg0 in templates/report.html.j2


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("no chromium (scripts/setup.sh installs Debian's chromium)")
    return exe


def render(html: Path, tmp: Path) -> tuple[str, np.ndarray]:
    """(the DOM after Chromium parsed and laid out the page, the screenshot as RGB array)."""
    exe = chromium()
    common = [exe, *CHROMIUM_FLAGS, f"--window-size={WINDOW[0]},{WINDOW[1]}"]
    dom = subprocess.run([*common, f"--user-data-dir={tmp / 'ud1'}", "--dump-dom", html.resolve().as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    png = tmp / "shot.png"
    shot = subprocess.run([*common, f"--user-data-dir={tmp / 'ud2'}", f"--screenshot={png}", html.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and png.is_file(), shot.stderr[-2000:]
    import matplotlib.image

    return dom.stdout, (matplotlib.image.imread(str(png))[..., :3] * 255).round().astype(np.uint8)


class Cells(HTMLParser):
    """Text of every <td> per table id, and which elements occur (svg, paths)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.table: str | None = None
        self.cell: list[str] | None = None
        self.tags: dict[str, int] = {}
        self.in_timeline = False
        self.svg_in_timeline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "table":
            self.table = a.get("id") or ""
            self.tables[self.table] = []
        elif tag == "tr" and self.table is not None:
            self.tables[self.table].append([])
        elif tag == "td":
            self.cell = []
        elif tag == "div" and a.get("id") == "timeline":
            self.in_timeline = True
        elif tag == "svg" and self.in_timeline:
            self.svg_in_timeline = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self.cell is not None and self.table is not None:
            self.tables[self.table][-1].append("".join(self.cell).strip())
            self.cell = None
        elif tag == "table":
            self.table = None
        elif tag == "div":
            self.in_timeline = False if self.svg_in_timeline else self.in_timeline

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _num(text: str) -> int:
    return int(text.replace(",", ""))


def _check_page(dom: str, shot: np.ndarray, model: Path, board: str) -> Cells:
    p = Cells()
    p.feed(dom)
    # as the report's build compiles it: with the board's kernels (their scratch is in the arena)
    # and the board's RAM as the budget --prefer may spend on out-of-place convs
    from toolchain.run import arena_budget

    b = load_board(board)
    cm = compile_model(model, options=CompileOptions(target=kernel_target(b, "fp32"), ram_budget=arena_budget(b)))
    summary = {row[0]: row[1] for row in p.tables["summary"] if len(row) == 2}
    assert summary["MACs"] == f"{cm.macs:,}"
    assert summary["arena"].startswith(f"{cm.arena_bytes:,} B")
    assert summary["weights"].startswith(f"{cm.weight_bytes:,} B")
    assert p.svg_in_timeline and p.tags.get("path", 0) > len(cm.nodes)  # the plot's rectangles
    rows = [r for r in p.tables["layers"] if r]
    assert len(rows) == len(cm.nodes)
    assert [r[1] for r in rows] == [n.name for n in cm.nodes]
    assert sum(_num(r[4]) for r in rows) == cm.macs
    assert [_num(r[5]) for r in rows] == [n.live_bytes for n in cm.nodes]
    assert re.search(r"RAM</b>\s+[\d,]+ B .* of 327,680 B", dom) or load_board(board).memory.ram.size != 327680
    # the screenshot: a laid-out page, not a blank or error page, with the blue bar segments drawn
    assert shot.shape[:2] == (WINDOW[1], WINDOW[0])
    assert (shot < 250).any(axis=2).mean() > 0.05
    blue = np.all(np.abs(shot.astype(int) - BAR_BLUE) <= 3, axis=2)
    assert blue.sum() > 500
    return p


def test_report_renders_in_chromium(tmp_path: Path) -> None:
    board = load_board("stm32f746-disco")
    require_tools(board)
    chromium()
    model = REAL_MODELS["dscnn"]
    out = tmp_path / "report.html"
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "report", str(model), "--board", board.name,
                        "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    # nothing to fetch, nothing to run: stylesheet and SVG inline (xmlns URIs are names, not loads)
    for bad in ("<script", "<link", 'src="', 'href="http', "url(http", "<metadata>"):
        assert bad not in html, bad
    dom, shot = render(out, tmp_path)
    p = _check_page(dom, shot, model, board.name)
    assert "sim" not in p.tables  # no run asked for, none shown


@pytest.mark.qemu
def test_report_with_sim_shows_the_profile(tmp_path: Path) -> None:
    board = load_board("stm32f746-disco")
    require_tools(board)
    chromium()
    model = REAL_MODELS["vit_opset18"]
    out = tmp_path / "report.html"
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "report", str(model), "--board", board.name, "--sim",
                        "-o", str(out)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    dom, shot = render(out, tmp_path)
    p = _check_page(dom, shot, model, board.name)
    sim = {row[0]: row[1] for row in p.tables["sim"] if len(row) == 2}
    assert sim["result"] == "MATCH"
    total = _num(sim["instructions per inference"])
    layers = sum(_num(r[7]) for r in p.tables["layers"] if r)
    assert abs(total - layers) <= 0.01 * total


def test_report_on_a_wrong_board_is_one_line(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "report", str(REAL_MODELS["dscnn"]), "--board", "nope",
                        "-o", str(tmp_path / "r.html")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    assert json.dumps(r.stderr)  # plain text


def test_report_of_a_model_that_does_not_fit_shows_by_how_much(tmp_path: Path) -> None:
    """ResNet-8's arena alone (133 KB) is more than the STM32F405's 128 KB of RAM."""
    board = load_board("stm32f405-netduinoplus2")
    require_tools(board)
    out = tmp_path / "r.html"
    r = subprocess.run([sys.executable, "-m", "toolchain.cli", "report", str(REAL_MODELS["resnet8"]), "--board",
                        board.name, "-o", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    p = Cells()
    html = out.read_text()
    p.feed(html)
    assert 'id="note">does not fit stm32f405-netduinoplus2: model needs' in html
    ram = re.search(r'id="fit-ram">\s*<div class="label"><b>RAM</b> ([\d,]+) B .*? of 131,072 B', html, re.S)
    assert ram and _num(ram.group(1)) > 131072
    assert len([row for row in p.tables["layers"] if row]) > 0  # the compile is still reported
