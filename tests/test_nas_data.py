"""Dataset loading: digits by default, user .npz files with clear errors for wrong shapes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("torch")

from toolchain.errors import McuforgeError  # noqa: E402
from toolchain.nas.data import load_dataset  # noqa: E402

pytestmark = pytest.mark.host


def test_digits_default_split_and_resize() -> None:
    d = load_dataset("digits")
    assert (d.channels, d.size, d.classes) == (1, 8, 10)
    assert len(d.train) + len(d.val) + len(d.test) == 1797
    up = d.at(16)
    assert up.train.x.shape[1:] == (1, 16, 16) and up.train.x.dtype == np.float32
    assert d.at(16) is up  # cached: every user of resolution 16 sees the same pixels


def _npz(tmp_path, **arrays):
    p = tmp_path / "data.npz"
    np.savez(p, **arrays)
    return p


def _xy(n=60, shape=(8, 8), classes=3):
    rng = np.random.default_rng(0)
    return rng.random((n, *shape)).astype(np.float32), np.arange(n) % classes


def test_npz_xy_and_explicit_splits(tmp_path) -> None:
    x, y = _xy()
    d = load_dataset(_npz(tmp_path, x=x, y=y))
    assert d.classes == 3 and d.channels == 1 and len(d.train) == 36
    d = load_dataset(_npz(tmp_path, x_train=x[:, None], y_train=y, x_test=x[:9, None], y_test=y[:9]))
    assert len(d.test) == 9 and len(d.val) == 12


@pytest.mark.parametrize("arrays, message", [
    (lambda x, y: dict(x=x[:, :, :4], y=y), "only square images"),
    (lambda x, y: dict(x=x[:, 0], y=y), r"expected \(N, H, W\) or \(N, C, H, W\)"),
    (lambda x, y: dict(x=x, y=y[:-1]), "60 samples but 'y' has 59 labels"),
    (lambda x, y: dict(x=x, y=y.astype(np.float32)), "expected integer class indices"),
    (lambda x, y: dict(x=x, y=y[:, None]), r"expected \(N,\) class indices"),
    (lambda x, y: dict(x=x, y=-y), "negative labels"),
    (lambda x, y: dict(x=np.where(x > 0.5, np.nan, x), y=y), "NaN"),
    (lambda x, y: dict(x=x), "'x' and 'y' must both be present"),
    (lambda x, y: dict(images=x, labels=y), "expected arrays 'x' and 'y'"),
    (lambda x, y: dict(x_train=x, y_train=y, x_test=x[:, :4, :4], y_test=y), "'x_test' images are"),
])
def test_npz_errors_name_the_problem(tmp_path, arrays, message) -> None:
    x, y = _xy()
    with pytest.raises(McuforgeError, match=message):
        load_dataset(_npz(tmp_path, **arrays(x, y)))


def test_missing_and_unreadable_files(tmp_path) -> None:
    with pytest.raises(McuforgeError, match="not found"):
        load_dataset(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(McuforgeError, match="not a readable .npz"):
        load_dataset(bad)


def test_image_folder_png_and_npy(tmp_path) -> None:
    """One sub-folder per class; PNG through Pillow (if installed) and .npy always."""
    rng = np.random.default_rng(1)
    for k, name in enumerate(("cat", "dog", "eel")):
        (tmp_path / name).mkdir()
        for i in range(10):
            img = (rng.random((12, 12)) * 255).astype(np.uint8)
            np.save(tmp_path / name / f"{i}.npy", img)
    d = load_dataset(tmp_path)
    assert (d.classes, d.channels, d.size) == (3, 1, 12)
    assert len(d.train) + len(d.val) + len(d.test) == 30
    assert 0.0 <= d.train.x.min() and d.train.x.max() <= 1.0
    pil = pytest.importorskip("PIL.Image")
    png = tmp_path / "png"
    for name in ("a", "b"):
        (png / name).mkdir(parents=True)
        for i in range(10):
            pil.fromarray((rng.random((8, 8, 3)) * 255).astype(np.uint8)).save(png / name / f"{i}.png")
    d = load_dataset(png)
    assert (d.classes, d.channels, d.size) == (2, 3, 8)


def test_image_folder_errors(tmp_path) -> None:
    (tmp_path / "only").mkdir()
    with pytest.raises(McuforgeError, match="one sub-folder of images per class"):
        load_dataset(tmp_path)
    (tmp_path / "other").mkdir()
    np.save(tmp_path / "only" / "a.npy", np.zeros((8, 8), np.uint8))
    np.save(tmp_path / "other" / "b.npy", np.zeros((9, 9), np.uint8))
    with pytest.raises(McuforgeError, match="images must share one size"):
        load_dataset(tmp_path)
