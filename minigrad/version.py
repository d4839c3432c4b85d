"""minigrad's version, in one place: the package, checkpoints (which record it) and pyproject.toml read it."""

__version__ = "0.1.0"
