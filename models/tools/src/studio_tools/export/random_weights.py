"""Random weights for parity checks and benchmarks.

The release zero-initialises every residual branch's last layer and the UNet's output
convolution, so a freshly built network would hide most of the graph behind zeros.
"""

from __future__ import annotations

import math

import torch


def randomize(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights ~ N(0, 1/fan_in), norm scales and biases ~ 1 + N(0, 0.1²): every branch contributes."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if parameter.dim() > 1:
                parameter.copy_(noise / math.sqrt(parameter[0].numel()))
            else:
                parameter.copy_(1.0 + 0.1 * noise)
    return module.eval()
