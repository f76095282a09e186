"""Click commands of the device workflow: flash, monitor, validate, sim-device. Thin: parse,
call toolchain.device, print. The lead registers them on the `mcuforge` group:

    from toolchain.device.commands import flash, monitor, validate, sim_device
    for cmd in (flash, monitor, validate, sim_device):
        main.add_command(cmd)

User-facing failures end in one line on stderr (toolchain.clierrors.friendly): exit 2 for a
user mistake (device, link, probe, model), 3 for an internal failure (toolchain/failure.py),
1 for a validation MISMATCH.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from toolchain.clierrors import friendly


def _probe_default() -> str:
    return "pyocd" if importlib.util.find_spec("pyocd") is not None else "openocd"


def _flash_model_or_elf(what: str, board_name: str, probe: str, target: str,
                        out: str | None, input_shape: tuple[str, ...], force: bool = False) -> None:
    from toolchain.boards import load_board
    from toolchain.device.firmware import build_device_firmware
    from toolchain.frontend import parse_input_shapes

    board = load_board(board_name)
    elf = Path(what)
    if elf.suffix == ".onnx":
        shapes = parse_input_shapes(input_shape)
        with contextlib.ExitStack() as stack:
            # without -o the build is only needed until it is flashed: a temporary folder
            # removed on success, failure and SIGTERM alike
            if out:
                from toolchain.outdir import claim

                out_dir = claim(out, force, replaced=("model",))
            else:
                out_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mcuforge-device-")))
            built = build_device_firmware(elf, board, out_dir, target=target,  # type: ignore[arg-type]
                                          input_shapes=shapes)
            click.echo(f"built {built.elf} ({built.build_id}): flash {built.build.flash_bytes:,} B,"
                       f" RAM {built.build.ram_bytes:,} B")
            _flash_elf(built.elf, board, probe)
        return
    _flash_elf(elf, board, probe)


def _flash_elf(elf: Path, board: Any, probe: str) -> None:
    from toolchain.device.flashing import flash as do_flash

    rep = do_flash(elf, board, probe)
    click.echo(f"flashed {elf.name} with {rep.probe}: {rep.bytes_written:,} bytes in "
               f"{rep.segments} segments, verified, started at {rep.entry:#010x}")


@click.command()
@click.argument("firmware", type=click.Path(dir_okay=False))
@click.option("--board", required=True, help="Board record (boards/*.toml).")
@click.option("--probe", default=None,
              help="pyocd | openocd | gdb://HOST:PORT  [default: pyocd if installed, else openocd]")
@click.option("--target", type=click.Choice(["silicon", "qemu"]), default="silicon",
              show_default=True, help="Memory map to build for when FIRMWARE is a .onnx model.")
@click.option("-o", "--out", default=None, help="Build directory when FIRMWARE is a model.")
@click.option("--input-shape", multiple=True, metavar="NAME=D0xD1x...",
              help="Bind an input's shape when FIRMWARE is a model.")
@click.option("--force", is_flag=True, help="Build into a non-empty OUT that mcuforge did not write.")
@friendly
def flash(firmware: str, board: str, probe: str | None, target: str, out: str | None,
          input_shape: tuple[str, ...], force: bool) -> None:
    """Program FIRMWARE (an ELF, or a .onnx model built into the device firmware first)."""
    _flash_model_or_elf(firmware, board, probe or _probe_default(), target, out, input_shape, force)


@click.command()
@click.option("--port", required=True, help="Serial port or pyserial URL (socket://HOST:PORT).")
@click.option("--baud", default=115200, show_default=True)
@click.option("--no-frames", is_flag=True, help="Show only the firmware's text lines.")
@click.option("--reconnects", default=10, show_default=True,
              help="Reopen attempts in a row before giving up when the link drops.")
@friendly
def monitor(port: str, baud: int, no_frames: bool, reconnects: int) -> None:
    """Show what the device prints (text and decoded frames) until Ctrl-C."""
    from toolchain.device.monitoring import monitor as run_monitor

    click.echo(f"monitoring {port} (Ctrl-C to stop)", err=True)
    try:
        run_monitor(port, baud, emit=lambda s: click.echo(s), reconnects=reconnects,
                    show_frames=not no_frames)
    except KeyboardInterrupt:
        click.echo("", err=True)


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--board", required=True, help="Board record (boards/*.toml).")
@click.option("--port", required=True, help="Serial port or pyserial URL (socket://HOST:PORT).")
@click.option("--baud", default=115200, show_default=True)
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 10**7), help="Number of inferences.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**32 - 1),
              help="Seed of the random inputs.")
@click.option("--data", type=click.Path(dir_okay=False), default=None,
              help=".npz with one array per input (by name, or arr_0...), samples first.")
@click.option("--flash", "flash_probe", default=None,
              help="Build and flash the model first with this probe (as `flash --probe`).")
@click.option("--target", type=click.Choice(["silicon", "qemu"]), default="silicon",
              show_default=True, help="Memory map to build for with --flash.")
@click.option("--timeout", default=2.0, show_default=True, type=click.FloatRange(0, 3600, min_open=True),
              help="Seconds per reply.")
@click.option("--retries", default=8, show_default=True, type=click.IntRange(0, 1000), help="Resends per request.")
@click.option("--input-shape", multiple=True, metavar="NAME=D0xD1x...")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@friendly
def validate(model: str, board: str, port: str, baud: int, count: int, seed: int,
             data: str | None, flash_probe: str | None, target: str, timeout: float,
             retries: int, input_shape: tuple[str, ...], as_json: bool) -> None:
    """Run MODEL on the device at PORT and compare every output with onnxruntime."""
    from toolchain.device.client import DeviceClient
    from toolchain.device.link import Link
    from toolchain.device.validation import format_report
    from toolchain.device.validation import validate as run_validate
    from toolchain.frontend import parse_input_shapes

    from toolchain.boards import load_board

    load_board(board)  # an unknown --board is a one-line error before any connection
    if flash_probe:
        _flash_model_or_elf(model, board, flash_probe, target, None, input_shape)
    with Link(port, baud) as link:
        client = DeviceClient(link, timeout=timeout, retries=retries)
        rep = run_validate(model, client, count=count, seed=seed, data=data,
                           input_shapes=parse_input_shapes(input_shape), board=board)
    click.echo(json.dumps(rep.as_dict()) if as_json else format_report(rep))
    sys.exit(0 if rep.match else 1)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@click.command("sim-device")
@click.option("--board", required=True, help="Board record with a QEMU machine.")
@click.option("--gdb-port", type=click.IntRange(1, 65535), default=None, help="TCP port of the GDB stub (free one).")
@click.option("--uart-port", type=click.IntRange(1, 65535), default=None, help="TCP port of the UART (free one).")
@click.option("--no-icount", is_flag=True,
              help="Run QEMU without -icount shift=0 (faster; RISC-V minstret inexact).")
@friendly
def sim_device(board: str, gdb_port: int | None, uart_port: int | None,
               no_icount: bool) -> None:
    """Start QEMU empty and halted, probe on GDB_PORT and serial on UART_PORT, until Ctrl-C."""
    from toolchain.boards import load_board
    from toolchain.device.simdevice import start_sim_device

    b = load_board(board)
    # a service stopped with SIGTERM (or started in the background, where SIGINT is ignored)
    # must still take its QEMU down with it
    signal.signal(signal.SIGTERM, _raise_interrupt)
    dev = start_sim_device(b, gdb_port, uart_port, icount=not no_icount)
    click.echo(f"{b.name} on QEMU {b.qemu.machine if b.qemu else '?'}: probe {dev.probe}, "
               f"port {dev.port} (Ctrl-C to stop)")
    try:
        while dev.running():
            time.sleep(0.2)
        click.echo(f"QEMU exited with status {dev.process.returncode}", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        dev.stop()
