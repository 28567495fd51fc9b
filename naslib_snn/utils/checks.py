"""Argument checks shared by the config classes and loaders; the errors name the value and the expectation."""

from __future__ import annotations

import numpy as np


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as a Python int, if it is an int (numpy ints too, bools not) and at least ``minimum``.

    Raises:
        TypeError: ``value`` is not an int (the message names its type).
        ValueError: ``value`` < ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def require_int(name: str, value: object, minimum: int) -> int:
    """As :func:`check_int`, for APIs whose contract is a ValueError for any bad count or seed.

    Raises:
        ValueError: ``value`` is not an int (bools excluded) or is < ``minimum``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)
