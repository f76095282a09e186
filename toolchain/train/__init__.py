"""On-device training: autodiff over the IR, backward/loss/optimizer ops, the training-step
program (planned in the static arena), host and QEMU runs, the PyTorch oracle, ONNX export.

Pipeline: Graph --autodiff--> training Graph --program--> planned calls --> C (templates/train)
--> host gcc (hostrun) | board firmware in QEMU (simrun); torch_ref replays the same steps.
"""

from toolchain.train.api import LOSS_ATOL_FP32, TrainResult, load_data, prepare, train
from toolchain.train.spec import OptimizerSpec, TrainSpecError, select_trainable

__all__ = ["LOSS_ATOL_FP32", "OptimizerSpec", "TrainResult", "TrainSpecError", "load_data", "prepare",
           "select_trainable", "train"]
