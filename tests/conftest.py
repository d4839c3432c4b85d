"""Shared test settings: the "ci" hypothesis profile has no per-example deadline (Numba compiles on first
call, and the machine is shared), and is the one loaded unless HYPOTHESIS_PROFILE says otherwise."""

import os

from hypothesis import settings

settings.register_profile("ci", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
