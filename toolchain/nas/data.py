"""Datasets for the search: scikit-learn's bundled digits (the default), a user ``.npz`` or a
folder of images.

Images are float32 NCHW and square. A search space asks for several input resolutions; all
of them come from ``Dataset.at(resolution)``, one bilinear resize done once and cached, so
the supernet, the PyTorch check and the compiled C all see the very same pixels.

``.npz`` layout (errors name the key and the shape that is wrong):

- ``x`` (N, H, W) or (N, C, H, W) and ``y`` (N,) integer labels 0..K-1: split here, seeded
  and stratified, 60/20/20 into train/val/test; or
- ``x_train, y_train, x_test, y_test`` and optionally ``x_val, y_val`` (else a fifth of the
  training set becomes the validation split).

Folder layout: one sub-folder per class (sorted names are the classes 0..K-1), each holding
images of one size: ``.npy`` arrays (H, W) or (H, W, C) always; ``.png``, ``.jpg``, ``.bmp``,
``.pgm``, ``.ppm``, ``.gif`` when Pillow is installed (it comes with matplotlib). 8-bit images
are scaled to 0..1; grey images stay one channel, colour ones become RGB. Split as ``x, y``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from toolchain.errors import McuforgeError


class DatasetError(McuforgeError):
    """A dataset that cannot be used: missing file or key, wrong shape, bad labels."""


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # (N, C, H, W) float32
    y: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass
class Dataset:
    name: str
    train: Split
    val: Split
    test: Split
    classes: int
    _cache: dict[int, "Dataset"] = field(default_factory=dict, repr=False)

    @property
    def channels(self) -> int:
        return int(self.train.x.shape[1])

    @property
    def size(self) -> int:
        return int(self.train.x.shape[2])

    @property
    def train_val(self) -> Split:
        """Training and validation splits together: what a model is trained on once the
        validation split has done its job (choosing the architecture)."""
        return Split(np.concatenate([self.train.x, self.val.x]), np.concatenate([self.train.y, self.val.y]))

    def at(self, resolution: int) -> "Dataset":
        """The same data resized to resolution x resolution (cached)."""
        if resolution == self.size:
            return self
        if resolution not in self._cache:
            self._cache[resolution] = Dataset(
                self.name, *(Split(resize(s.x, resolution), s.y) for s in (self.train, self.val, self.test)),
                classes=self.classes)
        return self._cache[resolution]


def resize(x: np.ndarray, resolution: int) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = F.interpolate(torch.from_numpy(x), size=(resolution, resolution), mode="bilinear", align_corners=False)
    return np.ascontiguousarray(t.numpy(), dtype=np.float32)


def load_dataset(spec: str | Path, seed: int = 0) -> Dataset:
    """``"digits"``, a path to an ``.npz`` file or a folder of class sub-folders."""
    if str(spec) == "digits":
        return load_digits(seed)
    if Path(spec).is_dir():
        return load_folder(Path(spec), seed)
    return load_npz(Path(spec), seed)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".gif")


def load_folder(path: Path, seed: int = 0) -> Dataset:
    classes = sorted(d for d in path.iterdir() if d.is_dir())
    if len(classes) < 2:
        raise DatasetError(f"{path}: expected one sub-folder of images per class (found {len(classes)} sub-folders)")
    xs, ys, first = [], [], None
    for label, d in enumerate(classes):
        files = sorted(f for f in d.iterdir() if f.suffix.lower() in (".npy", *IMAGE_SUFFIXES))
        if not files:
            raise DatasetError(f"{d}: no images (.npy, or {', '.join(IMAGE_SUFFIXES)} with Pillow)")
        for f in files:
            xs.append(_read_image(f))
            ys.append(label)
            first = first or (f, xs[-1].shape)
            if xs[-1].shape != first[1]:
                raise DatasetError(f"{f}: shape {xs[-1].shape} differs from {first[0].name}'s {first[1]}; "
                                   "images must share one size")
    x = np.stack(xs).transpose(0, 3, 1, 2)  # (N, H, W, C) -> NCHW
    x, y = _pair({"x": x, "y": np.asarray(ys, np.int64)}, "x", "y", path)
    return _split_three(path.name, x, y, seed)


def _read_image(f: Path) -> np.ndarray:
    """(H, W, C) float32 in 0..1 for 8-bit images."""
    if f.suffix.lower() == ".npy":
        try:
            a = np.load(f, allow_pickle=False)
        except Exception as e:
            raise DatasetError(f"{f}: not a readable .npy file ({e})") from None
    else:
        try:
            from PIL import Image
        except ImportError:
            raise DatasetError(f"{f}: reading {f.suffix} images needs Pillow (pip install pillow), "
                               "or store the images as .npy arrays") from None
        try:
            with Image.open(f) as im:
                a = np.asarray(im.convert("L" if im.mode in ("1", "L", "I", "I;16", "P") else "RGB"))
        except Exception as e:
            raise DatasetError(f"{f}: not a readable image ({e})") from None
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or not np.issubdtype(a.dtype, np.number):
        raise DatasetError(f"{f}: shape {a.shape}, dtype {a.dtype}; expected an (H, W) or (H, W, C) image")
    return a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)


def load_digits(seed: int = 0) -> Dataset:
    from sklearn.datasets import load_digits as sk_digits

    d = sk_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None]  # pixel values are 0..16
    return _split_three("digits", x, d.target.astype(np.int64), seed)


def load_npz(path: Path, seed: int = 0) -> Dataset:
    if not path.is_file():
        raise DatasetError(f"dataset {str(path)!r} not found (use 'digits' or a .npz file)")
    try:
        z = dict(np.load(path, allow_pickle=False))
    except Exception as e:  # a zip that is not an npz, a pickle, a truncated file, ...
        raise DatasetError(f"{path}: not a readable .npz file ({e})") from None
    if "x" in z or "y" in z:
        x, y = _pair(z, "x", "y", path)
        return _split_three(path.stem, x, y, seed)
    if "x_train" not in z or "x_test" not in z:
        raise DatasetError(f"{path}: expected arrays 'x' and 'y', or 'x_train', 'y_train', 'x_test', 'y_test' "
                           f"(found {', '.join(sorted(z)) or 'none'})")
    xtr, ytr = _pair(z, "x_train", "y_train", path)
    xte, yte = _pair(z, "x_test", "y_test", path)
    if "x_val" in z:
        xva, yva = _pair(z, "x_val", "y_val", path)
    else:
        xtr, xva, ytr, yva = _stratified(xtr, ytr, 0.2, seed, path)
    for name, a in (("x_test", xte), ("x_val", xva)):
        if a.shape[1:] != xtr.shape[1:]:
            raise DatasetError(f"{path}: '{name}' images are {a.shape[1:]}, 'x_train' images are {xtr.shape[1:]}")
    classes = _classes(path, ytr, yva, yte)
    return Dataset(path.stem, Split(xtr, ytr), Split(xva, yva), Split(xte, yte), classes)


def _pair(z: dict[str, np.ndarray], xk: str, yk: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    if xk not in z or yk not in z:
        raise DatasetError(f"{path}: '{xk}' and '{yk}' must both be present")
    x, y = z[xk], z[yk]
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4:
        raise DatasetError(f"{path}: '{xk}' has shape {x.shape}; expected (N, H, W) or (N, C, H, W)")
    if x.shape[2] != x.shape[3]:
        raise DatasetError(f"{path}: '{xk}' images are {x.shape[2]}x{x.shape[3]}; only square images are supported")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DatasetError(f"{path}: '{xk}' has dtype {x.dtype}; expected real numbers")
    if not np.all(np.isfinite(x)):
        raise DatasetError(f"{path}: '{xk}' contains NaN or infinite values")
    if y.ndim != 1:
        raise DatasetError(f"{path}: '{yk}' has shape {y.shape}; expected (N,) class indices")
    if y.shape[0] != x.shape[0]:
        raise DatasetError(f"{path}: '{xk}' has {x.shape[0]} samples but '{yk}' has {y.shape[0]} labels")
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{path}: '{yk}' has dtype {y.dtype}; expected integer class indices")
    if y.size and y.min() < 0:
        raise DatasetError(f"{path}: '{yk}' has negative labels")
    return np.ascontiguousarray(x, dtype=np.float32), y.astype(np.int64)


def _classes(path: str | Path, *ys: np.ndarray) -> int:
    k = int(max(int(y.max()) for y in ys if y.size)) + 1
    if k < 2:
        raise DatasetError(f"{path}: labels name {k} class; need at least 2")
    return k


def _stratified(x: np.ndarray, y: np.ndarray, frac: float, seed: int, where: str | Path):
    from sklearn.model_selection import train_test_split

    try:
        return train_test_split(x, y, test_size=frac, random_state=seed, stratify=y)
    except ValueError as e:  # a class with a single sample, or too few samples overall
        raise DatasetError(f"{where}: cannot split {len(y)} samples by class ({e})") from None


def _split_three(name: str, x: np.ndarray, y: np.ndarray, seed: int) -> Dataset:
    classes = _classes(name, y)
    xtr, xrest, ytr, yrest = _stratified(x, y, 0.4, seed, name)
    xva, xte, yva, yte = _stratified(xrest, yrest, 0.5, seed, name)
    return Dataset(name, Split(xtr, ytr), Split(xva, yva), Split(xte, yte), classes)
