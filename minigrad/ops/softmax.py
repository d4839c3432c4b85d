"""Softmax, log-softmax and cross-entropy (being written)."""
