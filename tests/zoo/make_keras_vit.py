"""A Keras ViT on keras.layers.MultiHeadAttention (Einsum inside), converted by tf2onnx, for the
test zoo. Needs tensorflow-cpu and tf2onnx, which want their own virtualenv here:

  python -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu tf2onnx
  /tmp/tfenv/bin/python tests/zoo/make_keras_vit.py

Channels-last 32x32x3 input, patch 4, width 32, 4 heads, 2 blocks, no class token (average
pooling), a learned position embedding. Checked against Keras with onnxruntime before writing.
The default conversion and one without tf2onnx's optimizers (Einsum nodes kept).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import onnx
import onnxruntime as ort
import tensorflow as tf
import tf2onnx

HERE = Path(__file__).resolve().parent
DIM, HEADS, GRID = 32, 4, 8


class AddPosition(keras.layers.Layer):
    def build(self, shape):
        self.pos = self.add_weight(shape=(1, shape[1], shape[2]), initializer=keras.initializers.RandomNormal(0, 0.02))

    def call(self, x):
        return x + self.pos


def build(heads: int = HEADS, depth: int = 2) -> keras.Model:
    x = inp = keras.Input((32, 32, 3), name="pixels")
    x = keras.layers.Conv2D(DIM, 4, strides=4)(x)
    x = keras.layers.Reshape((GRID * GRID, DIM))(x)
    x = AddPosition()(x)
    for _ in range(depth):
        h = keras.layers.LayerNormalization(epsilon=1e-6)(x)
        h = keras.layers.MultiHeadAttention(num_heads=heads, key_dim=DIM // heads)(h, h)
        x = keras.layers.Add()([x, h])
        h = keras.layers.LayerNormalization(epsilon=1e-6)(x)
        h = keras.layers.Dense(2 * DIM)(h)
        h = keras.layers.Activation(lambda v: keras.activations.gelu(v, approximate=True))(h)  # tf2onnx has no Erfc
        h = keras.layers.Dense(DIM)(h)
        x = keras.layers.Add()([x, h])
    x = keras.layers.LayerNormalization(epsilon=1e-6)(x)
    x = keras.layers.GlobalAveragePooling1D()(x)
    return keras.Model(inp, keras.layers.Dense(10)(x))


def main() -> None:
    # tf2onnx's default optimizers rewrite Einsum into MatMul/Transpose/Reshape; without them
    # the graph keeps Keras's Einsum nodes (EinsumDense projections, scores, context).
    for name, heads, opt in (("keras_mha_tf2onnx", 4, None), ("keras_mha_h2_tf2onnx", 2, None),
                             ("keras_mha_einsum_tf2onnx", 4, {})):
        keras.utils.set_random_seed(0)
        model = build(heads)
        x = np.random.default_rng(0).standard_normal((1, 32, 32, 3)).astype(np.float32)
        want = model(x).numpy()
        spec = (tf.TensorSpec((None, 32, 32, 3), tf.float32, name="pixels"),)
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, optimizers=opt)
        path = HERE / f"{name}.onnx"
        onnx.save_model(proto, str(path))
        got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"pixels": x})[0]
        err = float(np.abs(got - want).max())
        if err > 1e-4:
            raise SystemExit(f"{name}: onnxruntime differs from Keras by {err}")
        ops = sorted({n.op_type for n in proto.graph.node})
        print(f"{path.name:<40} {path.stat().st_size:>8,} B  max err {err:.1e}  ops {' '.join(ops)}")


if __name__ == "__main__":
    main()
