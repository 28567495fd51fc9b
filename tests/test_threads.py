"""naslib_snn.utils.threads.torch_threads: set for a block, restored after, also on error."""

import pytest
import torch

from naslib_snn.utils.threads import torch_threads


def test_torch_threads_sets_and_restores_even_on_error():
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    with torch_threads(other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError, match="boom"):
        with torch_threads(other):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == before
    with torch_threads(None):  # None leaves the count, and puts back whatever the block set
        assert torch.get_num_threads() == before
        torch.set_num_threads(other)
    assert torch.get_num_threads() == before
