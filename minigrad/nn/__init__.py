"""Neural-network building blocks. ``minigrad.nn.functional`` (imported as ``F``) holds the functional ops."""

from minigrad.nn import functional

__all__ = ["functional"]
