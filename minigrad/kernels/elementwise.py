"""Elementwise kernels (placeholder: NumPy until the Numba versions land)."""

import numpy as np


def exp(x: np.ndarray) -> np.ndarray:
    return np.exp(x)
