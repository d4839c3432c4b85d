"""Differentiable operations: each one a forward and, right beside it, its backward.

| module        | operations                                                              |
|---------------|-------------------------------------------------------------------------|
| arithmetic    | + - * / ** neg abs maximum minimum where clamp, comparisons, dtype casts |
| pointwise     | exp log sqrt sin cos                                                    |
| activations   | relu leaky_relu sigmoid tanh gelu silu                                  |
| reductions    | sum mean var max min argmax argmin                                      |
| shape         | reshape permute transpose expand squeeze unsqueeze flatten [] cat stack split |
| matmul        | @ with batch broadcasting                                               |
| softmax       | softmax log_softmax cross_entropy                                       |
"""
