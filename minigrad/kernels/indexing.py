"""Scatter-add: the backward of a lookup, where every looked-up row sends its gradient back to its source.

``np.add.at(out, indices, rows)`` does the same, element by element through NumPy's general indexing
machinery, which made it the slowest backward of the GPT step's embedding; with this loop it takes 0.06 ms
per step (``benchmarks/results/scaling_gpt.md``). Both add the rows in the order of ``indices``, so they
give the same bits.
"""

from minigrad.kernels.loops import jit


@jit
def scatter_add_rows(indices, rows, out):
    """``out[indices[i]] += rows[i]`` for each ``i`` in order; an index that repeats adds each of its rows.
    ``indices`` is 1-D int64, ``rows`` (len(indices), D) and ``out`` (V, D) C-contiguous, in one dtype."""
    for i in range(indices.size):
        target, source = out[indices[i]], rows[i]
        for j in range(source.size):
            target[j] += source[j]
