# Two commands on a fresh Debian 12 machine (see README):
#   make demo   set up, then compile the bundled ViT, run it on stm32f746-disco in QEMU
#   make test   set up, then run the whole test suite (host + QEMU tiers, 2 workers)
PYTHON ?= python3
MODEL ?= examples/vit_tiny_opset18.onnx
BOARD ?= stm32f746-disco
JOBS ?= 2

.PHONY: setup demo test test-host bench protos

setup:
	@./scripts/setup.sh

demo: setup
	mcuforge compile $(MODEL) -o out/demo
	mcuforge run $(MODEL) --board $(BOARD) --sim
	mcuforge report $(MODEL) --board $(BOARD) --sim -o out/demo/report.html

test: setup
	$(PYTHON) -m pytest -q -n $(JOBS) --dist loadgroup

test-host: setup
	$(PYTHON) -m pytest -q -n $(JOBS) --dist loadgroup -m "not qemu"

bench: setup
	$(PYTHON) bench/memory.py

# the kernel prototypes in runtime_c/include, from the kernel table (toolchain/ops/protos.py)
protos:
	$(PYTHON) -m toolchain.ops.protos --write
