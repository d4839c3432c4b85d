"""Shared test settings: the "ci" hypothesis profile has no per-example deadline (Numba compiles on first
call, and the machine is shared), and is the one loaded unless HYPOTHESIS_PROFILE says otherwise."""

import os

import matplotlib
from hypothesis import settings

# Tests draw figures and there is no screen. Set here, not through MPLBACKEND: nbval's kernels would
# inherit the variable, and with Agg a notebook's plt.show() no longer produces its stored output.
matplotlib.use("Agg")

settings.register_profile("ci", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
