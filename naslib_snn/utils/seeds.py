"""One seed-derivation helper for every independent random stream of the package.

A stream is named by a tuple of non-negative ints, typically ``(run seed, stream tag, index...)``:
the training loader's shuffling ``(seed, epoch, sampler tag)``, a search candidate's weights
``(seed, init stream, k)``, an oracle's cell ``(seed, stream, *op_indices)``, the scoring images
``(seed, images tag)``. numpy's SeedSequence hashes the whole tuple, so neighbouring seeds,
epochs or indices give unrelated streams.

Two properties of SeedSequence to keep in mind: it reads each part as 32-bit words and pads with
zero words, so ``(1,)`` and ``(1, 0)`` give the same seed, and so do ``(2**32,)`` and ``(0, 1)``.
Tuples of the same length whose parts are below ``2**32`` never collide that way, which is why
every stream uses a fixed-length tuple with its own tag.
"""

from __future__ import annotations

import numpy as np

from naslib_snn.utils.checks import check_int

__all__ = ["SEED_BITS", "derive_seed"]

#: derived seeds lie in [0, 2**SEED_BITS): non-negative for torch.manual_seed and numpy alike
SEED_BITS = 63


def derive_seed(*parts: int) -> int:
    """A 63-bit seed mixed from non-negative ints by numpy's SeedSequence.

    ``w0, w1 = SeedSequence(list(parts)).generate_state(2, dtype=uint32)`` and the seed is
    ``(w0 << 31) ^ w1``, an int in ``[0, 2**63)``, accepted by ``torch.Generator.manual_seed``,
    ``torch.manual_seed`` and ``numpy.random.default_rng``. This is the derivation the trainer's
    shuffling and dropout have always used, so trained results (the shipped benchmark) stay
    reproducible.

    Raises:
        ValueError: no parts, or a part < 0 (the message names the part and its value).
        TypeError: a part that is not an int (numpy ints are accepted, bools and floats are not;
            the message names the value and its type).
    """
    if not parts:
        raise ValueError("derive_seed needs at least one part")
    entropy = [check_int(f"derive_seed part {position}", part, 0) for position, part in enumerate(parts)]
    words = np.random.SeedSequence(entropy).generate_state(2, dtype=np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])
