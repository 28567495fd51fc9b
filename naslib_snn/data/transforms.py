"""Tensor transforms: resizing, padded random crop, horizontal flip, seeded epoch permutations.

Augmentation parameters are drawn per epoch for the whole dataset from a seed derived from
(seed, epoch), so sample i of epoch e is augmented the same way in every run, in any worker
process, and after a resume.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# Re-exported: the trainer imports it from here. The helper lives in naslib_snn.utils.seeds.
from ..utils.seeds import derive_seed  # noqa: F401

_AUGMENT_TAG = 0x41554721  # separates the augmentation stream from the sampler stream
_SAMPLER_TAG = 0x53414D50


def default_padding(image_size: int) -> int:
    """Crop padding for square images of side ``image_size``: size // 8.

    That is 4 for 32x32 (CIFAR, authors' code) and 8 for 64x64 (Tiny-ImageNet, authors' code),
    scaled the same way for small images (2 for 16x16, 3 for 28x28). 0 for images under 8 pixels.
    """
    return image_size // 8


def resize_images(images: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Bilinear resize of [N, C, H, W] images to [N, C, size, size].

    uint8 input stays uint8 (rounded), float input stays float32. Downsampling is antialiased.
    Returns the input unchanged when it already has the requested size.

    Raises:
        ValueError: ``images`` is not 4-D or ``size`` < 1.
    """
    if images.dim() != 4:
        raise ValueError(f"expected images with shape [N, C, H, W], got {tuple(images.shape)}")
    if size < 1:
        raise ValueError(f"image size must be >= 1, got {size}")
    height, width = images.shape[-2:]
    if (height, width) == (size, size):
        return images
    downsampling = size < height or size < width
    out_dtype = torch.uint8 if images.dtype == torch.uint8 else torch.float32
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=out_dtype)
    for start in range(0, images.shape[0], chunk):
        block = images[start : start + chunk].float()
        block = F.interpolate(block, size=(size, size), mode="bilinear", align_corners=False, antialias=downsampling)
        if out_dtype == torch.uint8:
            block = block.round_().clamp_(0, 255)
        out[start : start + chunk] = block.to(out_dtype)
    return out


def shifted_crop(image: torch.Tensor, top: int, left: int, padding: int) -> torch.Tensor:
    """Crop [C, H, W] at (top, left) from the image zero-padded by ``padding`` on every side.

    Equals ``F.pad(image, [padding] * 4)[:, top:top + H, left:left + W]`` without building the
    padded image. ``top`` and ``left`` lie in 0..2*padding; (padding, padding) is the identity.

    Raises:
        ValueError: an offset is outside 0..2*padding.
    """
    if not (0 <= top <= 2 * padding and 0 <= left <= 2 * padding):
        raise ValueError(f"crop offsets must lie in 0..{2 * padding}, got top={top}, left={left}")
    _, height, width = image.shape
    dy, dx = top - padding, left - padding  # source row/col shown at output (0, 0)
    out = torch.zeros_like(image)
    src_y0, src_y1 = max(0, dy), min(height, height + dy)
    src_x0, src_x1 = max(0, dx), min(width, width + dx)
    if src_y0 < src_y1 and src_x0 < src_x1:
        out[:, src_y0 - dy : src_y1 - dy, src_x0 - dx : src_x1 - dx] = image[:, src_y0:src_y1, src_x0:src_x1]
    return out


def augment_params(
    n: int, padding: int, hflip: bool, seed: int, epoch: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop offsets and flip flags for ``n`` samples in one epoch.

    Returns: (top int64 [n], left int64 [n], flip bool [n]); offsets in 0..2*padding,
    flips all False when ``hflip`` is False. Same (n, padding, hflip, seed, epoch) -> same values.
    """
    rng = np.random.default_rng([seed, epoch, _AUGMENT_TAG])
    top = rng.integers(0, 2 * padding + 1, size=n, dtype=np.int64)
    left = rng.integers(0, 2 * padding + 1, size=n, dtype=np.int64)
    flip = rng.random(n) < 0.5
    if not hflip:
        flip[:] = False
    return top, left, flip


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """A permutation of range(n) that depends only on (seed, epoch). Returns int64 [n]."""
    generator = torch.Generator().manual_seed(derive_seed(seed, epoch, _SAMPLER_TAG))
    return torch.randperm(n, generator=generator)
