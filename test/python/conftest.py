import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """PyTorch on one thread for the module: float32 reductions depend on the thread count, and
    the committed fixtures are written with one."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
