"""Activation functions (being written: relu, leaky_relu, sigmoid, tanh, gelu, silu)."""
