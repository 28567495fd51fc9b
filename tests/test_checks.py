import numpy as np
import pytest

from naslib_snn.utils.checks import check_int, require_int


def test_check_int_returns_python_int():
    value = check_int("n", np.int64(3), 1)
    assert value == 3 and type(value) is int


@pytest.mark.parametrize(
    "value, error, message",
    [
        (True, TypeError, "n must be an int, got True of type bool"),
        (2.0, TypeError, "n must be an int, got 2.0 of type float"),
        (0, ValueError, "n must be >= 1, got 0"),
    ],
)
def test_check_int_names_the_bad_value(value, error, message):
    with pytest.raises(error, match=message):
        check_int("n", value, 1)


@pytest.mark.parametrize("value", [True, 2.0, "3", -1])
def test_require_int_raises_value_error_naming_the_value(value):
    with pytest.raises(ValueError, match=f"seed must be an int >= 0, got {value!r}"):
        require_int("seed", value, 0)


def test_require_int_accepts_numpy_ints():
    assert require_int("seed", np.uint8(0), 0) == 0
