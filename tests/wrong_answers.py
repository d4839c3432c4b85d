"""Plausible wrong answers to every exercise, which each exercise's check must reject.

A check that lets a wrong answer through tells the learner that the wrong answer is right, so
tests/test_book.py plants each answer below into its solution notebook, in place of the exercise's solution
region, and requires the check cells after it to fail with an AssertionError (whose message teaches).

``WRONG_ANSWERS[notebook][N]`` lists the mistakes planted in Exercise N of ``solutions/<notebook>.ipynb``,
numbered as ``exercises/generate.py`` numbers them (the N of "Exercise N": the N-th code cell holding a
``# BEGIN SOLUTION``). An answer is the code that replaces the region, written without its indentation;
for a cell with several regions it is a tuple with one entry per region, ``KEEP`` for a region that keeps
its correct solution. Each answer is a mistake a learner makes (an off-by-one, a missing transpose, the
naive formula, float64 for float32...), and its comment names the mistake.
"""

from __future__ import annotations

KEEP = None  # in a tuple: this region keeps its correct solution

Answer = str | tuple[str | None, ...]

WRONG_ANSWERS: dict[str, dict[int, list[Answer]]] = {
    "00_welcome_exercises": {
        1: [
            # differentiates x^3 and leaves -2x as it is (its derivative is -2)
            "return 3 * x**2 - 2 * x",
        ],
    },
    "01_tensors_exercises": {
        1: [
            # compares the stride of every dimension, also those of size 1
            """
            if 0 in shape:
                return True
            expected = itemsize
            for size, stride in zip(reversed(shape), reversed(strides)):
                if stride != expected:
                    return False
                expected *= size
            return True
            """,
            # forgets that an array with no elements is contiguous
            """
            expected = itemsize
            for size, stride in zip(reversed(shape), reversed(strides)):
                if size != 1 and stride != expected:
                    return False
                expected *= size
            return True
            """,
        ],
        2: [
            # believes that reshape always returns a view
            """
            return {
                "x.T": "view", "x[1]": "view", "x[:, 1]": "view", "x[::2, 1:]": "view",
                "x.reshape(4, 3)": "view", "x.T.reshape(12)": "view", "x.T.T.reshape(12)": "view",
                "x[:, [0, 2]]": "copy", "x[x > 5]": "copy", "x.expand(2, 3, 4)": "view",
                "x.unsqueeze(0)": "view", "x * 1": "copy", "x.permute(1, 0).flatten()": "copy",
            }
            """,
        ],
        3: [
            # takes the larger size, so a 0 against a 1 gives 1
            """
            ndim = max(len(a), len(b))
            a = (1,) * (ndim - len(a)) + tuple(a)
            b = (1,) * (ndim - len(b)) + tuple(b)
            result = []
            for m, n in zip(a, b):
                if m != n and m != 1 and n != 1:
                    raise minigrad.ShapeError(f"shapes {a} and {b} cannot be broadcast")
                result.append(max(m, n))
            return tuple(result)
            """,
            # aligns the shapes on the left (pads the shorter one on the right)
            """
            ndim = max(len(a), len(b))
            a = tuple(a) + (1,) * (ndim - len(a))
            b = tuple(b) + (1,) * (ndim - len(b))
            result = []
            for m, n in zip(a, b):
                if m != n and m != 1 and n != 1:
                    raise minigrad.ShapeError(f"shapes {a} and {b} cannot be broadcast")
                result.append(n if m == 1 else m)
            return tuple(result)
            """,
        ],
        4: [
            # sums the stretched dimensions away instead of keeping them as size 1
            """
            grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
            stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
            return grad.sum(axis=stretched)
            """,
        ],
        5: [
            # forgets to make the view read-only
            """
            pairs = zip(array.shape, shape, array.strides)
            strides = tuple(0 if n == 1 and m != 1 else s for n, m, s in pairs)
            return np.lib.stride_tricks.as_strided(array, shape=shape, strides=strides)
            """,
        ],
    },
    "02_numba_kernels_exercises": {
        1: [
            # allocates the output as float64 whatever the input's dtype
            """
            out = np.empty(x.size)
            for i in range(x.size):
                out[i] = a * x[i] + y[i]
            return out
            """,
        ],
        2: [
            # returns the mean of the timings, not the median
            """
            for _ in range(warmup):
                fn()
            durations = []
            for _ in range(repeats):
                start = clock()
                fn()
                durations.append(clock() - start)
            return float(np.mean(durations))
            """,
            # times the warm-up calls too
            """
            durations = []
            for _ in range(warmup + repeats):
                start = clock()
                fn()
                durations.append(clock() - start)
            return float(np.median(durations))
            """,
        ],
        3: [
            # counts the elements equal to the threshold too (>= for >)
            """
            count = 0
            total = 0.0
            for i in numba.prange(x.size):
                if x[i] >= threshold:
                    count += 1
                    total += x[i]
            if count == 0:
                return np.nan
            return total / count
            """,
        ],
        4: [
            # stops the Taylor series at degree 6, too early for 1e-9
            """
            out = np.empty_like(x)
            for i in range(x.size):
                k = round(x[i] / LN2)
                r = x[i] - k * LN2
                p = 1.0
                for j in range(6, 0, -1):
                    p = 1.0 + r * p / j
                out[i] = math.ldexp(p, k)
            return out
            """,
        ],
    },
    "03_autograd_from_scratch_exercises": {
        1: [
            # power's local derivative forgets the factor n
            ("return Value(v.data**n, (v,), lambda: (v.data ** (n - 1),), f'**{n}')", KEEP),
            # divide derives x / y directly and gets the sign of d/dy wrong
            (KEEP, "return Value(x.data / y.data, (x, y), lambda: (1 / y.data, x.data / y.data**2), '/')"),
        ],
        2: [
            # reversed pre-order: a Value is placed when first reached, not after all of its inputs
            """
            order, visited, stack = [], set(), [root]
            while stack:
                v = stack.pop()
                if id(v) not in visited:
                    visited.add(id(v))
                    order.append(v)
                    stack.extend(v.inputs)
            return order[::-1]
            """,
            # the chapter's recursive sort, which a deep graph drives past the recursion limit
            """
            order, visited = [], set()

            def visit(v):
                if id(v) not in visited:
                    visited.add(id(v))
                    for inp in v.inputs:
                        visit(inp)
                    order.append(v)

            visit(root)
            return order
            """,
        ],
        3: [
            # dL/dq counts only q's direct use in L, not its route through r
            """
            q = x * y
            r = q + x
            dL_dr = q
            dL_dq = r
            return dL_dq * y + dL_dr, dL_dq * x
            """,
        ],
        4: [
            # the backward forgets to multiply by the incoming gradient g
            """
            data = x.data
            out = np.logaddexp(0, data)
            backward = lambda g: (1 / (1 + np.exp(-data)),)
            return minigrad.engine.make_result(out, (x,), backward, "SoftplusBackward")
            """,
            # writes e^x / (1 + e^x) as 1 / (1 + e^x): sigmoid(-x)
            """
            data = x.data
            out = np.logaddexp(0, data)
            backward = lambda g: (g / (1 + np.exp(data)),)
            return minigrad.engine.make_result(out, (x,), backward, "SoftplusBackward")
            """,
        ],
    },
    "04_deriving_backward_exercises": {
        1: [
            # averages the copies' gradients instead of summing them
            """
            grad = grad.mean(axis=tuple(range(grad.ndim - len(shape))))
            stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
            return grad.mean(axis=stretched, keepdims=True).reshape(shape)
            """,
            # sums the stretched axes away instead of keeping them as size 1
            """
            grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
            stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
            return grad.sum(axis=stretched)
            """,
        ],
        2: [
            # returns the two gradients in each other's places
            "return np.swapaxes(a, -1, -2) @ g, g @ np.swapaxes(b, -1, -2)",
            # transposes with .T, which reverses the batch axis too (the batched case crashes in matmul)
            "return g @ b.T, a.T @ g",
            # forgets the transpose in da (crashes in matmul)
            "return g @ b, np.swapaxes(a, -1, -2) @ g",
        ],
        3: [
            # grad[idx] += g, which keeps only one of the repeated picks
            """
            grad = np.zeros(shape, dtype=g.dtype)
            grad[idx] += g
            return grad
            """,
        ],
        4: [
            # multiplies by g without putting its reduced axis back
            "return g * np.exp(x - out[:, None])",
            # forgets the incoming gradient g
            "return np.exp(x - out[:, None])",
        ],
        5: [
            # keeps only the diagonal of the Jacobian: y * g
            "return y * g",
            # takes the dot product g . y over the whole array, not per row
            "return y * (g - (g * y).sum())",
            # takes the dot product per row but drops its axis
            "return y * (g - (g * y).sum(axis=-1))",
        ],
        6: [
            # the plain formulas, with NaN where b == 0 or a == 0
            """
            with np.errstate(divide="ignore", invalid="ignore"):
                da = g * b * a ** (b - 1)
                db = g * a**b * np.log(a)
            return da, db
            """,
            # db by the power rule too, without the factor ln a
            """
            with np.errstate(divide="ignore", invalid="ignore"):
                da = np.where(b == 0, 0.0, g * b * a ** (b - 1))
                db = np.where((a == 0) & (b >= 0), 0.0, g * a**b)
            return da, db
            """,
            # zeroes db wherever a == 0, forgetting b >= 0 (at a = 0, b < 0 it is -inf)
            """
            with np.errstate(divide="ignore", invalid="ignore"):
                da = np.where(b == 0, 0.0, g * b * a ** (b - 1))
                db = np.where(a == 0, 0.0, g * a**b * np.log(a))
            return da, db
            """,
        ],
        7: [
            # permutes g by dims again instead of by the inverse permutation
            "return g.transpose(dims)",
        ],
    },
    "05_gradient_checking_exercises": {
        1: [
            # nudges each element but never puts it back
            """
            grad = np.zeros_like(x)
            for j in np.ndindex(x.shape):
                original = x[j]
                x[j] = original + eps
                plus = f(x)
                x[j] = original - eps
                minus = f(x)
                grad[j] = (plus - minus) / (2 * eps)
            return grad
            """,
            # divides the central difference by eps instead of 2 eps
            """
            grad = np.zeros_like(x)
            for j in np.ndindex(x.shape):
                original = x[j]
                x[j] = original + eps
                plus = f(x)
                x[j] = original - eps
                minus = f(x)
                x[j] = original
                grad[j] = (plus - minus) / eps
            return grad
            """,
            # the forward difference (f(x + eps) - f(x)) / eps, whose error is O(eps), not O(eps^2)
            """
            grad = np.zeros_like(x)
            base = f(x)
            for j in np.ndindex(x.shape):
                original = x[j]
                x[j] = original + eps
                grad[j] = (f(x) - base) / eps
                x[j] = original
            return grad
            """,
        ],
        2: [
            # applies tanh to out, which already is tanh(x)
            "return grad * (1 - np.tanh(out) ** 2)",
            # forgets the incoming gradient
            "return 1 - out * out",
        ],
        3: [
            # returns the two gradients in each other's places
            "return a.T @ grad, grad @ b.T",
            # forgets to transpose b (crashes in matmul)
            "return grad @ b, a.T @ grad",
        ],
    },
    "06_activations_and_losses_exercises": {
        1: [
            # forgets to add the row maximum back
            """
            m = z.max(axis=1)
            return np.log(np.exp(z - m[:, None]).sum(axis=1))
            """,
            # the naive formula, which overflows for large logits
            "return np.log(np.exp(z).sum(axis=1))",
        ],
        2: [
            # forgets the incoming gradient
            "return out * (1 - out)",
            # treats the output as the input: sigmoid(out) * (1 - sigmoid(out))
            """
            s = 1 / (1 + np.exp(-out))
            return grad * s * (1 - s)
            """,
        ],
        3: [
            # u'(x) without the factor 3 from differentiating x^3
            """
            c = math.sqrt(2 / math.pi)
            t = np.tanh(c * (x + 0.044715 * x**3))
            return 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * c * (1 + 0.044715 * x**2)
            """,
            # drops the product rule's second term
            """
            c = math.sqrt(2 / math.pi)
            return 0.5 * (1 + np.tanh(c * (x + 0.044715 * x**3)))
            """,
        ],
        4: [
            # the gradient of the summed loss: forgets to divide by N
            """
            n, c = logits.shape
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True) - np.eye(c)[targets]
            """,
            # a softmax without subtracting the row maximum
            """
            n, c = logits.shape
            e = np.exp(logits)
            return (e / e.sum(axis=1, keepdims=True) - np.eye(c)[targets]) / n
            """,
        ],
        5: [
            # stops at z - yz + log(1 + e^(-z)), which overflows for very negative z
            "return (z - y * z + (1 + (-z).exp()).log()).mean()",
            # the sum, not the mean
            "return (z.relu() - y * z + (1 + (-z.abs()).exp()).log()).sum()",
        ],
    },
    "07_errors_that_teach_exercises": {
        1: [
            # the chapter's mistake itself: the mean loses its dimension (no keepdim)
            "return x - x.mean(dim=1)",
            # centres the columns instead of the rows
            "return x - x.mean(dim=0, keepdim=True)",
        ],
        2: [
            # forgets the 1/sqrt(d) scale
            "return q @ k.T",
        ],
        3: [
            # forgets to clear the gradients, which then accumulate
            """
            with minigrad.no_grad():
                for p in params:
                    p -= lr * p.grad
            """,
            # updates outside no_grad, so autograd would record the update
            """
            for p in params:
                p -= lr * p.grad
                p.grad = None
            """,
            # rebinds the name p to a new tensor instead of updating the parameter in place
            """
            with minigrad.no_grad():
                for p in params:
                    p = p - lr * p.grad
                    p.grad = None
            """,
        ],
    },
    "08_first_network_exercises": {
        1: [
            # forward forgets the ReLU between the two layers
            (KEEP, "return self.fc2(self.fc1(x))"),
        ],
        2: [
            # an exponential moving average, b = mu b + (1 - mu) g, instead of PyTorch's b = mu b + g
            """
            p, buffer, history = p0.copy(), np.zeros_like(p0), []
            for g in gradients:
                buffer = mu * buffer + (1 - mu) * g
                p = p - lr * buffer
                history.append(p.copy())
            return history
            """,
        ],
        3: [
            # no bias correction
            """
            p, m, v, history = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), []
            for g in gradients:
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g * g
                p = p - lr * m / (np.sqrt(v) + eps)
                history.append(p.copy())
            return history
            """,
            # counts t from 0 (an off-by-one): the first step divides by 1 - beta**0 = 0
            """
            p, m, v, history = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), []
            for t, g in enumerate(gradients):
                m = beta1 * m + (1 - beta1) * g
                v = beta2 * v + (1 - beta2) * g * g
                m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
                history.append(p.copy())
            return history
            """,
        ],
        4: [
            # fancy-index += counts a repeated (true, predicted) pair once
            """
            confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
            confusion[true, predicted] += 1
            return confusion, float(np.trace(confusion) / len(true))
            """,
            # rows indexed by the prediction, columns by the truth (transposed)
            """
            confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
            np.add.at(confusion, (predicted, true), 1)
            return confusion, float(np.trace(confusion) / len(true))
            """,
        ],
        5: [
            # never zeroes the gradients, so they accumulate across steps
            """
            optimizer = SGD(model.parameters(), lr=lr)
            losses = []
            for _ in range(steps):
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            return losses
            """,
            # zeroes the gradients after backward, so every step is a step of size 0
            """
            optimizer = SGD(model.parameters(), lr=lr)
            losses = []
            for _ in range(steps):
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                optimizer.zero_grad()
                optimizer.step()
                losses.append(loss.item())
            return losses
            """,
        ],
    },
    "09_normalization_exercises": {
        1: [
            # the unbiased variance (divides by n - 1)
            """
            mean = x.mean(axis=1, keepdims=True)
            var = x.var(axis=1, ddof=1, keepdims=True)
            return (x - mean) / np.sqrt(var + eps) * weight + bias
            """,
            # eps outside the square root
            """
            mean = x.mean(axis=1, keepdims=True)
            var = ((x - mean) ** 2).mean(axis=1, keepdims=True)
            return (x - mean) / (np.sqrt(var) + eps) * weight + bias
            """,
        ],
        2: [
            # drops the term x_hat * mean(h * x_hat)
            """
            mean = x.mean(axis=1, keepdims=True)
            r = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=1, keepdims=True) + eps)
            x_hat = (x - mean) * r
            h = g * weight
            dx = r * (h - h.mean(axis=1, keepdims=True))
            return dx, (g * x_hat).sum(axis=0), g.sum(axis=0)
            """,
            # dweight is summed over the features (axis 1) instead of the rows
            """
            mean = x.mean(axis=1, keepdims=True)
            r = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=1, keepdims=True) + eps)
            x_hat = (x - mean) * r
            h = g * weight
            dx = r * (h - h.mean(axis=1, keepdims=True) - x_hat * (h * x_hat).mean(axis=1, keepdims=True))
            return dx, (g * x_hat).sum(axis=1), g.sum(axis=0)
            """,
        ],
        3: [
            # the naive one-pass formula E[x^2] - E[x]^2, in float32
            """
            count, total, squares = 0, np.float32(0), np.float32(0)
            for value in values:
                count += 1
                total += value
                squares += value * value
            mean = total / np.float32(count)
            return mean, squares / np.float32(count) - mean * mean
            """,
            # the naive formula in Python floats (float64), where it looks fine at this offset
            """
            count, total, squares = 0, 0.0, 0.0
            for value in values:
                count += 1
                total += float(value)
                squares += float(value) ** 2
            mean = total / count
            return mean, squares / count - mean**2
            """,
            # Welford's update, but in Python floats (float64) rather than the values' float32
            """
            mean, m2, k = 0.0, 0.0, 0
            for k, value in enumerate(values, start=1):
                delta = float(value) - mean
                mean += delta / k
                m2 += delta * (float(value) - mean)
            return mean, m2 / k
            """,
            # not one pass: collects the stream into an array and calls np.var
            """
            array = np.fromiter(values, dtype=np.float32)
            return array.mean(), array.var()
            """,
            # M updated with the old mean: M += delta * delta
            """
            mean, m2, k = np.float32(0), np.float32(0), 0
            for k, value in enumerate(values, start=1):
                delta = value - mean
                mean += delta / np.float32(k)
                m2 += delta * delta
            return mean, m2 / np.float32(k)
            """,
        ],
        4: [
            # stores the biased batch variance (forgets k / (k - 1))
            """
            new_mean = (1 - momentum) * running_mean + momentum * batch.mean(axis=0)
            new_var = (1 - momentum) * running_var + momentum * batch.var(axis=0)
            return new_mean, new_var
            """,
            # swaps the weights: keeps momentum of the old value and 1 - momentum of the batch
            """
            k = batch.shape[0]
            new_mean = momentum * running_mean + (1 - momentum) * batch.mean(axis=0)
            new_var = momentum * running_var + (1 - momentum) * batch.var(axis=0) * k / (k - 1)
            return new_mean, new_var
            """,
        ],
    },
    "10_convolution_exercises": {
        1: [
            # pads one side only
            "return (size + padding - kernel) // stride + 1",
            # forgets the + 1 (counts the steps, not the positions)
            "return (size + 2 * padding - kernel) // stride",
        ],
        2: [
            # numbers the windows column-major: column b * OH + a
            """
            channels, height, width = image.shape
            out_h = (height - kh) // stride + 1
            out_w = (width - kw) // stride + 1
            cols = np.empty((channels * kh * kw, out_h * out_w), dtype=image.dtype)
            for a in range(out_h):
                for b in range(out_w):
                    window = image[:, a * stride:a * stride + kh, b * stride:b * stride + kw]
                    cols[:, b * out_h + a] = window.reshape(-1)
            return cols
            """,
            # flattens each window in (row, column, channel) order
            """
            channels, height, width = image.shape
            out_h = (height - kh) // stride + 1
            out_w = (width - kw) // stride + 1
            cols = np.empty((channels * kh * kw, out_h * out_w), dtype=image.dtype)
            for a in range(out_h):
                for b in range(out_w):
                    window = image[:, a * stride:a * stride + kh, b * stride:b * stride + kw]
                    cols[:, a * out_w + b] = window.transpose(1, 2, 0).reshape(-1)
            return cols
            """,
        ],
        3: [
            # averages over the batch instead of summing
            """
            n_images, out_channels, out_h, out_w = grad_out.shape
            x_pad = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
            cols = im2col(x_pad, (kh, kw), (stride, stride), (out_h, out_w))
            g = grad_out.reshape(n_images, out_channels, out_h * out_w)
            grad = sum(g[n] @ cols[n].T for n in range(n_images)) / n_images
            return grad.reshape(out_channels, x.shape[1], kh, kw)
            """,
        ],
        4: [
            # gives the window's gradient to every element that ties for the maximum
            """
            grad = np.zeros_like(x)
            for a in range(grad_out.shape[0]):
                for b in range(grad_out.shape[1]):
                    window = x[a * k:(a + 1) * k, b * k:(b + 1) * k]
                    grad[a * k:(a + 1) * k, b * k:(b + 1) * k][window == window.max()] = grad_out[a, b]
            return grad
            """,
            # places the gradient at (a + i, b + j), forgetting that window (a, b) starts at (a * k, b * k)
            """
            grad = np.zeros_like(x)
            for a in range(grad_out.shape[0]):
                for b in range(grad_out.shape[1]):
                    window = x[a * k:(a + 1) * k, b * k:(b + 1) * k]
                    i, j = np.unravel_index(np.argmax(window), window.shape)
                    grad[a + i, b + j] = grad_out[a, b]
            return grad
            """,
        ],
        5: [
            # assigns (=) instead of adding (+=), so overlapping windows overwrite each other
            """
            channels, height, width = shape
            out_h = (height - kh) // stride + 1
            out_w = (width - kw) // stride + 1
            image = np.zeros(shape, dtype=cols.dtype)
            for a in range(out_h):
                for b in range(out_w):
                    window = cols[:, a * out_w + b].reshape(channels, kh, kw)
                    image[:, a * stride:a * stride + kh, b * stride:b * stride + kw] = window
            return image
            """,
        ],
    },
    "11_resnet_exercises": {
        1: [
            # applies the final ReLU before adding the shortcut
            """
            out = F.relu(block.bn1(block.conv1(x)))
            out = F.relu(block.bn2(block.conv2(out)))
            if block.residual:
                out = out + block.shortcut(x)
            return out
            """,
            # adds the shortcut whether or not the block is residual
            """
            out = F.relu(block.bn1(block.conv1(x)))
            out = block.bn2(block.conv2(out))
            return F.relu(out + block.shortcut(x))
            """,
        ],
        2: [
            # never clears the old gradients, which then accumulate
            """
            F.cross_entropy(model(minigrad.tensor(images)), minigrad.tensor(labels)).backward()
            return {name: float(np.linalg.norm(p.grad.data)) for name, p in model.named_parameters()
                    if name.endswith(("conv1.weight", "conv2.weight"))}
            """,
            # keeps every weight, the shortcut's and the head's too
            """
            model.zero_grad()
            F.cross_entropy(model(minigrad.tensor(images)), minigrad.tensor(labels)).backward()
            return {name: float(np.linalg.norm(p.grad.data)) for name, p in model.named_parameters()
                    if name.endswith("weight")}
            """,
        ],
        3: [
            # halves the side (n // 2) instead of (n + 2 - 3) // 2 + 1
            """
            shapes = []
            for stage, width in enumerate(widths):
                for index in range(blocks_per_stage):
                    if stage > 0 and index == 0:
                        size = size // 2
                    shapes.append((batch, width, size, size))
            return shapes
            """,
            # strides 2 in the first block of every stage, the first stage too
            """
            shapes = []
            for width in widths:
                for index in range(blocks_per_stage):
                    stride = 2 if index == 0 else 1
                    size = (size + 2 - 3) // stride + 1
                    shapes.append((batch, width, size, size))
            return shapes
            """,
        ],
        4: [
            # forgets the identity path: returns the branch's gradient only
            "return (g * (1 - np.tanh(x @ w) ** 2)) @ w.T",
            # a missing transpose: multiplies by W instead of W^T
            "return g + (g * (1 - np.tanh(x @ w) ** 2)) @ w",
            # takes tanh's derivative at x instead of at x W
            "return g + (g * (1 - np.tanh(x) ** 2)) @ w.T",
        ],
    },
    "12_saving_and_loading_exercises": {
        1: [
            # keeps the "__metadata__" entry
            """
            with open(path, "rb") as file:
                length = int.from_bytes(file.read(8), "little")
                header = json.loads(file.read(length))
            return {name: (info["dtype"], tuple(info["shape"])) for name, info in header.items()}
            """,
            # keeps the shape as JSON gives it, a list
            """
            with open(path, "rb") as file:
                length = int.from_bytes(file.read(8), "little")
                header = json.loads(file.read(length))
            return {name: (info["dtype"], info["shape"]) for name, info in header.items()
                    if name != "__metadata__"}
            """,
        ],
        2: [
            # the temporary file goes to the system's temporary folder, which may be another file system
            """
            descriptor, temp = tempfile.mkstemp()
            try:
                with os.fdopen(descriptor, "wb") as file:
                    for chunk in chunks:
                        file.write(chunk)
                    file.flush()
                    os.fsync(file.fileno())
                os.replace(temp, path)
            finally:
                if os.path.exists(temp):
                    os.unlink(temp)
            """,
            # never fsyncs: after a crash the rename can be on disk while the data is not
            """
            path = Path(path)
            temp = path.with_name(f".{path.name}.tmp")
            try:
                with open(temp, "wb") as file:
                    for chunk in chunks:
                        file.write(chunk)
                os.replace(temp, path)
            finally:
                if temp.exists():
                    temp.unlink()
            """,
            # fsyncs before flushing Python's buffer, so the data is not yet in the file
            """
            path = Path(path)
            temp = path.with_name(f".{path.name}.tmp")
            try:
                with open(temp, "wb") as file:
                    for chunk in chunks:
                        file.write(chunk)
                    os.fsync(file.fileno())
                os.replace(temp, path)
            finally:
                if temp.exists():
                    temp.unlink()
            """,
            # leaves the temporary file behind when writing fails
            """
            path = Path(path)
            temp = path.with_name(f".{path.name}.tmp")
            with open(temp, "wb") as file:
                for chunk in chunks:
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
            """,
            # copies the temporary file over the target (not atomic) and leaves it behind
            """
            path = Path(path)
            temp = path.with_name(f".{path.name}.tmp")
            with open(temp, "wb") as file:
                for chunk in chunks:
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
            shutil.copyfile(temp, path)
            """,
        ],
        3: [
            # looks for GLOBAL and STACK_GLOBAL only, and lets INST and EXT1/2/4 through
            """
            for opcode, _, position in pickletools.genops(payload):
                if opcode.name in ("GLOBAL", "STACK_GLOBAL"):
                    raise pickle.UnpicklingError(f"refusing to load: {opcode.name} at byte {position}")
            return pickle.loads(payload)
            """,
            # loads first and scans afterwards, when the code has already run
            """
            data = pickle.loads(payload)
            for opcode, _, position in pickletools.genops(payload):
                if opcode.name in IMPORTING:
                    raise pickle.UnpicklingError(f"refusing to load: {opcode.name} at byte {position}")
            return data
            """,
        ],
        4: [
            # compares values with np.array_equal, blind to -0.0, NaN bits and dtypes
            """
            if set(a) != set(b):
                return False
            return all(a[name].shape == b[name].shape and np.array_equal(a[name].data, b[name].data)
                       for name in a)
            """,
            # looks the names of a up in b, and never compares the names
            """
            for name in a:
                x, y = a[name].data, b[name].data
                if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                    return False
            return True
            """,
            # checks that b has every name of a, but not that a has every name of b
            """
            for name in a:
                if name not in b:
                    return False
                x, y = a[name].data, b[name].data
                if x.dtype != y.dtype or x.shape != y.shape or x.tobytes() != y.tobytes():
                    return False
            return True
            """,
            # compares the bytes only: the same bytes in another shape or dtype pass
            """
            if set(a) != set(b):
                return False
            return all(a[name].data.tobytes() == b[name].data.tobytes() for name in a)
            """,
        ],
    },
    "13_diagnosing_training_exercises": {
        1: [
            # counts the values that are 0, not the units that are 0 for every example
            "return float(np.mean(np.asarray(activation) <= 0))",
            # counts a unit as dead when it is 0 for *some* example
            """
            units = np.asarray(activation).reshape(len(activation), -1)
            return float(np.mean(np.any(units <= 0, axis=0)))
            """,
            # takes whole channels of a (N, C, H, W) output as the units
            """
            a = np.asarray(activation)
            units = a.reshape(len(a), a.shape[1], -1)
            return float(np.mean(np.all(units <= 0, axis=(0, 2))))
            """,
        ],
        2: [
            # keeps a second name for the array that the step changes in place, not a copy
            """
            before = parameter.data
            step()
            return float(np.linalg.norm(parameter.data - before) / np.linalg.norm(before))
            """,
            # divides by the norm after the step
            """
            before = parameter.data.astype(np.float64)
            step()
            after = parameter.data.astype(np.float64)
            return float(np.linalg.norm(after - before) / np.linalg.norm(after))
            """,
            # averages each entry's own ratio instead of comparing norms
            """
            before = parameter.data.astype(np.float64)
            step()
            after = parameter.data.astype(np.float64)
            return float(np.mean(np.abs(after - before) / np.abs(before)))
            """,
        ],
        3: [
            # forgets the bias correction, so the first averages are tiny and look lowest
            """
            average, smoothed = 0.0, []
            for loss in losses:
                average = beta * average + (1 - beta) * loss
                smoothed.append(average)
            return float(lrs[int(np.argmin(smoothed))] / 10)
            """,
            # takes the lowest raw loss, one lucky batch
            "return float(lrs[int(np.argmin(losses))] / 10)",
            # forgets to divide by 10
            """
            average, smoothed = 0.0, []
            for t, loss in enumerate(losses, start=1):
                average = beta * average + (1 - beta) * loss
                smoothed.append(average / (1 - beta**t))
            return float(lrs[int(np.argmin(smoothed))])
            """,
        ],
        4: [
            # looks for NaN only, and misses the infinity that came first
            """
            for name, array in named_arrays:
                array = np.asarray(array)
                if np.isnan(array).any():
                    return name, int(np.isnan(array).sum()), int(np.isinf(array).sum())
            return None
            """,
            # looks for +inf only (np.isposinf), and misses log(0) = -inf
            """
            for name, array in named_arrays:
                array = np.asarray(array)
                nans, infs = int(np.isnan(array).sum()), int(np.isposinf(array).sum())
                if nans or infs:
                    return name, nans, infs
            return None
            """,
            # returns the last non-finite array instead of the first
            """
            found = None
            for name, array in named_arrays:
                array = np.asarray(array)
                nans, infs = int(np.isnan(array).sum()), int(np.isinf(array).sum())
                if nans or infs:
                    found = name, nans, infs
            return found
            """,
        ],
        5: [
            # k * P(X = m) * F(m)^(k-1): the density of a maximum of continuous variables, wrong with ties
            """
            pmf = np.array([math.comb(n, m) * p**m * (1 - p) ** (n - m) for m in range(n + 1)])
            cdf = np.cumsum(pmf)
            return float(np.sum(np.arange(n + 1) / n * k * pmf * cdf ** (k - 1)))
            """,
            # the expected accuracy of one candidate: choosing seems to cost nothing
            "return float(p)",
            # P(max = m) taken as P(X = m)^k, as if every candidate had to score m
            """
            pmf = np.array([math.comb(n, m) * p**m * (1 - p) ** (n - m) for m in range(n + 1)])
            return float(np.sum(np.arange(n + 1) / n * pmf**k))
            """,
        ],
    },
    "14_text_as_numbers_exercises": {
        1: [
            # one character per byte: reads UTF-8 as Latin-1 (mojibake)
            'return "".join(chr(b) for b in data)',
            # keeps the leading 10 of each continuation byte
            """
            chars, i = [], 0
            while i < len(data):
                first = data[i]
                if first < 0b10000000:
                    length, code = 1, first
                elif first < 0b11100000:
                    length, code = 2, first & 0b00011111
                elif first < 0b11110000:
                    length, code = 3, first & 0b00001111
                else:
                    length, code = 4, first & 0b00000111
                for byte in data[i + 1: i + length]:
                    code = code << 6 | byte
                chars.append(chr(code))
                i += length
            return "".join(chars)
            """,
            # forgets the characters of four bytes (emoji): reads every long character as three bytes
            """
            chars, i = [], 0
            while i < len(data):
                first = data[i]
                if first < 0b10000000:
                    length, code = 1, first
                elif first < 0b11100000:
                    length, code = 2, first & 0b00011111
                else:
                    length, code = 3, first & 0b00001111
                for byte in data[i + 1: i + length]:
                    code = code << 6 | byte & 0b00111111
                chars.append(chr(code))
                i += length
            return "".join(chars)
            """,
        ],
        2: [
            # breaks ties by the first pair seen (Counter.most_common), not the smallest
            """
            chunk_counts = Counter(split_into_chunks(text))
            words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
            weights = list(chunk_counts.values())
            merges = []
            for k in range(num_merges):
                counts = Counter()
                for word, weight in zip(words, weights):
                    for pair in itertools.pairwise(word):
                        counts[pair] += weight
                if not counts:
                    break
                best = counts.most_common(1)[0][0]
                words = [merge_pair(word, best, 256 + k) for word in words]
                merges.append(best)
            return merges
            """,
            # breaks ties by the largest pair
            """
            chunk_counts = Counter(split_into_chunks(text))
            words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
            weights = list(chunk_counts.values())
            merges = []
            for k in range(num_merges):
                counts = Counter()
                for word, weight in zip(words, weights):
                    for pair in itertools.pairwise(word):
                        counts[pair] += weight
                if not counts:
                    break
                best = max(counts, key=lambda pair: (counts[pair], pair))
                words = [merge_pair(word, best, 256 + k) for word in words]
                merges.append(best)
            return merges
            """,
            # no pre-split: learns from the whole text as one sequence, so merges cross chunks
            """
            ids = list(text.encode("utf-8"))
            merges = []
            for k in range(num_merges):
                counts = Counter(itertools.pairwise(ids))
                if not counts:
                    break
                best = min(counts, key=lambda pair: (-counts[pair], pair))
                ids = merge_pair(ids, best, 256 + k)
                merges.append(best)
            return merges
            """,
            # counts each distinct chunk once, however often it occurs
            """
            words = [list(chunk.encode("utf-8")) for chunk in set(split_into_chunks(text))]
            merges = []
            for k in range(num_merges):
                counts = Counter()
                for word in words:
                    for pair in itertools.pairwise(word):
                        counts[pair] += 1
                if not counts:
                    break
                best = min(counts, key=lambda pair: (-counts[pair], pair))
                words = [merge_pair(word, best, 256 + k) for word in words]
                merges.append(best)
            return merges
            """,
        ],
        3: [
            # no pre-split: applies the merges to the whole text, so a token can span two chunks
            """
            ids = list(text.encode("utf-8"))
            for k, pair in enumerate(merges):
                ids = merge_pair(ids, pair, 256 + k)
            return ids
            """,
            # applies the merges from the last learned to the first
            """
            ids = []
            for chunk in split_into_chunks(text):
                chunk_ids = list(chunk.encode("utf-8"))
                for k, pair in reversed(list(enumerate(merges))):
                    chunk_ids = merge_pair(chunk_ids, pair, 256 + k)
                ids.extend(chunk_ids)
            return ids
            """,
            # merges only the first occurrence of each pair
            """
            ids = []
            for chunk in split_into_chunks(text):
                chunk_ids = list(chunk.encode("utf-8"))
                for k, pair in enumerate(merges):
                    for i in range(len(chunk_ids) - 1):
                        if (chunk_ids[i], chunk_ids[i + 1]) == pair:
                            chunk_ids[i: i + 2] = [256 + k]
                            break
                ids.extend(chunk_ids)
            return ids
            """,
            # numbers the new tokens from 255 (off by one)
            """
            ids = []
            for chunk in split_into_chunks(text):
                chunk_ids = list(chunk.encode("utf-8"))
                for k, pair in enumerate(merges):
                    chunk_ids = merge_pair(chunk_ids, pair, 255 + k)
                ids.extend(chunk_ids)
            return ids
            """,
        ],
        4: [
            # log2 for the nats, so the "nats" are bits
            """
            ids = np.asarray(ids)
            nats = float(-np.log2(probs[ids[:-1], ids[1:]]).mean())
            return nats, nats / math.log(2), math.exp(nats)
            """,
            # multiplies by ln 2 to get bits, instead of dividing
            """
            ids = np.asarray(ids)
            nats = float(-np.log(probs[ids[:-1], ids[1:]]).mean())
            return nats, nats * math.log(2), math.exp(nats)
            """,
            # perplexity as 2 to the power of the nats
            """
            ids = np.asarray(ids)
            nats = float(-np.log(probs[ids[:-1], ids[1:]]).mean())
            return nats, nats / math.log(2), 2.0**nats
            """,
            # reads the table the wrong way round: probs[next, previous]
            """
            ids = np.asarray(ids)
            nats = float(-np.log(probs[ids[1:], ids[:-1]]).mean())
            return nats, nats / math.log(2), math.exp(nats)
            """,
            # divides by the number of tokens, not the number of predictions
            """
            ids = np.asarray(ids)
            nats = float(-np.log(probs[ids[:-1], ids[1:]]).sum() / len(ids))
            return nats, nats / math.log(2), math.exp(nats)
            """,
        ],
        5: [
            # multiplies the logits by the temperature instead of dividing
            """
            scaled = np.asarray(logits, dtype=np.float64) * tau
            weights = np.exp(scaled - scaled.max())
            return weights / weights.sum()
            """,
            # no shift by the largest logit: exp overflows for large logits
            """
            weights = np.exp(np.asarray(logits, dtype=np.float64) / tau)
            return weights / weights.sum()
            """,
            # divides the probabilities by tau, which the normalisation undoes
            """
            z = np.asarray(logits, dtype=np.float64)
            probs = np.exp(z - z.max())
            probs = probs / probs.sum() / tau
            return probs / probs.sum()
            """,
            # forgets to normalise
            """
            scaled = np.asarray(logits, dtype=np.float64) / tau
            return np.exp(scaled - scaled.max())
            """,
        ],
    },
    "15_attention_exercises": {
        1: [
            # forgets to divide the scores by sqrt(d)
            """
            T = q.shape[-2]
            scores = q @ k.transpose(-2, -1)
            future = minigrad.ones(T, T, dtype=minigrad.bool).triu(1)
            return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v
            """,
            # divides by d instead of sqrt(d)
            """
            T = q.shape[-2]
            scores = q @ k.transpose(-2, -1) / q.shape[-1]
            future = minigrad.ones(T, T, dtype=minigrad.bool).triu(1)
            return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v
            """,
            # takes the softmax over the queries (dim=-2) instead of over the keys
            """
            T = q.shape[-2]
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            future = minigrad.ones(T, T, dtype=minigrad.bool).triu(1)
            return scores.masked_fill(future, float("-inf")).softmax(dim=-2) @ v
            """,
            # passes the allowed positions (tril) to masked_fill, which fills where the mask is True
            """
            T = q.shape[-2]
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            allowed = minigrad.ones(T, T, dtype=minigrad.bool).tril()
            return scores.masked_fill(allowed, float("-inf")).softmax(dim=-1) @ v
            """,
            # fills the future scores with 0 instead of -inf, so they still get weight
            """
            T = q.shape[-2]
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            future = minigrad.ones(T, T, dtype=minigrad.bool).triu(1)
            return scores.masked_fill(future, 0.0).softmax(dim=-1) @ v
            """,
            # computes in NumPy and wraps the result: right values, but the graph is cut
            """
            T = q.shape[-2]
            scores = q.detach().numpy() @ k.detach().numpy().swapaxes(-1, -2) / math.sqrt(q.shape[-1])
            scores[..., np.triu(np.ones((T, T), dtype=bool), 1)] = -np.inf
            return minigrad.tensor(softmax_rows(scores) @ v.detach().numpy())
            """,
        ],
        2: [
            # only the diagonal of the Jacobian: forgets that raising one score lowers the other weights
            "return p * dp",
            # the diagonal entries p (1 - p) of the Jacobian, applied as if it were diagonal
            "return p * (1 - p) * dp",
            # sums over the wrong axis (the rows of the batch instead of the entries of a row)
            "return p * (dp - (dp * p).sum(axis=0, keepdims=True))",
            # forgets to weight the row sum by p
            "return p * (dp - dp.sum(axis=-1, keepdims=True))",
        ],
        3: [
            # forgets the scale in dq and dk
            """
            p = softmax_rows(scale * q @ k.swapaxes(-1, -2))
            dv = p.swapaxes(-1, -2) @ g
            dp = g @ v.swapaxes(-1, -2)
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
            return ds @ k, ds.swapaxes(-1, -2) @ q, dv
            """,
            # recomputes P without the scale
            """
            p = softmax_rows(q @ k.swapaxes(-1, -2))
            dv = p.swapaxes(-1, -2) @ g
            dp = g @ v.swapaxes(-1, -2)
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
            return scale * ds @ k, scale * ds.swapaxes(-1, -2) @ q, dv
            """,
            # dK without transposing dS
            """
            p = softmax_rows(scale * q @ k.swapaxes(-1, -2))
            dv = p.swapaxes(-1, -2) @ g
            dp = g @ v.swapaxes(-1, -2)
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
            return scale * ds @ k, scale * ds @ q, dv
            """,
            # dV = P G, without transposing P
            """
            p = softmax_rows(scale * q @ k.swapaxes(-1, -2))
            dv = p @ g
            dp = g @ v.swapaxes(-1, -2)
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
            return scale * ds @ k, scale * ds.swapaxes(-1, -2) @ q, dv
            """,
            # skips the softmax's backward: dS = dP
            """
            p = softmax_rows(scale * q @ k.swapaxes(-1, -2))
            dv = p.swapaxes(-1, -2) @ g
            ds = g @ v.swapaxes(-1, -2)
            return scale * ds @ k, scale * ds.swapaxes(-1, -2) @ q, dv
            """,
            # transposes with .T, which reverses every axis: right for one (L, d) matrix, not with batch axes
            """
            p = softmax_rows(scale * q @ k.T)
            dv = p.T @ g
            dp = g @ v.T
            ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
            return scale * ds @ k, scale * ds.T @ q, dv
            """,
        ],
        4: [
            # True for the padding: masked_fill's convention instead of attn_mask's
            """
            lengths = np.asarray(lengths)
            return minigrad.tensor(np.arange(T)[None, None, None, :] >= lengths[:, None, None, None])
            """,
            # off by one: key j = length is treated as real
            """
            lengths = np.asarray(lengths)
            return minigrad.tensor(np.arange(T)[None, None, None, :] <= lengths[:, None, None, None])
            """,
            # shape (B, T), without the dimensions that broadcast over heads and queries
            """
            lengths = np.asarray(lengths)
            return minigrad.tensor(np.arange(T)[None, :] < lengths[:, None])
            """,
            # shape (B, 1, T, 1): hides padded queries instead of padded keys
            """
            lengths = np.asarray(lengths)
            return minigrad.tensor(np.arange(T)[None, None, :, None] < lengths[:, None, None, None])
            """,
            # 0/1 integers instead of bools
            """
            lengths = np.asarray(lengths)
            real = np.arange(T)[None, None, None, :] < lengths[:, None, None, None]
            return minigrad.tensor(real.astype(np.int64))
            """,
        ],
        5: [
            # reshapes straight to (B, H, T, D/H), cutting across tokens
            (
                """
                B, T, D = x.shape
                return x.reshape(B, heads, T, D // heads)
                """,
                KEEP,
            ),
            # transposes the wrong pair of axes
            (
                """
                B, T, D = x.shape
                return x.reshape(B, T, heads, D // heads).transpose(2, 3)
                """,
                KEEP,
            ),
            # merges without transposing back first
            (
                KEEP,
                """
                B, H, T, head_dim = x.shape
                return x.reshape(B, T, H * head_dim)
                """,
            ),
            # splits through NumPy: right numbers, but no gradient reaches the projections
            (
                """
                B, T, D = x.shape
                split = x.detach().numpy().reshape(B, T, heads, D // heads)
                return minigrad.tensor(split.transpose(0, 2, 1, 3))
                """,
                KEEP,
            ),
        ],
    },
    "16_gpt2_exercises": {
        1: [
            # forgets the biases of the linear layers
            """
            d = dim
            block = (d * 3 * d) + (d * d) + (d * 4 * d) + (4 * d * d) + 2 * (2 * d)
            head = 0 if tie_embeddings else vocab_size * d
            return vocab_size * d + context_length * d + n_layers * block + 2 * d + head
            """,
            # counts an output matrix even when it is the tied embedding
            """
            d = dim
            block = (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 2 * (2 * d)
            return vocab_size * d + context_length * d + n_layers * block + 2 * d + vocab_size * d
            """,
            # forgets the position embedding
            """
            d = dim
            block = (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d) + 2 * (2 * d)
            head = 0 if tie_embeddings else vocab_size * d
            return vocab_size * d + n_layers * block + 2 * d + head
            """,
        ],
        2: [
            # decays everything called "weight", LayerNorm gains included
            "return sorted(name for name, p in model.named_parameters() if name.endswith('weight'))",
            # decays every parameter
            "return sorted(name for name, p in model.named_parameters())",
        ],
        3: [
            # a warm-up that starts at 0 and reaches the peak one step late
            """
            if step < warmup:
                return peak * step / warmup
            progress = (step - warmup) / (total - warmup)
            return floor + (peak - floor) * (1 + math.cos(math.pi * progress)) / 2
            """,
            # measures the cosine's progress over the whole run, warm-up included
            """
            if step < warmup:
                return peak * (step + 1) / warmup
            return floor + (peak - floor) * (1 + math.cos(math.pi * step / total)) / 2
            """,
            # decays to 0 instead of to the floor
            """
            if step < warmup:
                return peak * (step + 1) / warmup
            progress = (step - warmup) / (total - warmup)
            return peak * (1 + math.cos(math.pi * progress)) / 2
            """,
        ],
        4: [
            # keeps exactly k entries by position, dropping ties with the k-th largest
            """
            out = np.full_like(logits, -np.inf)
            keep = np.argsort(logits)[-k:]
            out[keep] = logits[keep]
            return out
            """,
            # keeps the k smallest
            """
            kth_smallest = np.sort(logits)[k - 1]
            return np.where(logits > kth_smallest, -np.inf, logits)
            """,
            # filters in place
            """
            logits[logits < np.sort(logits)[-k]] = -np.inf
            return logits
            """,
        ],
        5: [
            # forgets the transpose to (out, in)
            """
            d = weight.shape[0]
            return [(weight[:, i * d:(i + 1) * d], bias[i * d:(i + 1) * d]) for i in range(3)]
            """,
            # reshapes the (D, 3D) weight as if it were three (D, D) matrices stacked along the rows
            """
            d = weight.shape[0]
            return [(weight.reshape(3, d, d)[i], bias[i * d:(i + 1) * d]) for i in range(3)]
            """,
        ],
    },
    "17_modern_transformer_exercises": {
        1: [
            # layer norm's habit: subtracts the mean first
            """
            centred = x - x.mean(axis=-1, keepdims=True)
            return centred / np.sqrt((centred ** 2).mean(axis=-1, keepdims=True) + eps) * weight
            """,
            # eps outside the square root
            "return x / (np.sqrt((x ** 2).mean(axis=-1, keepdims=True)) + eps) * weight",
            # the mean over the whole array instead of each row
            "return x / np.sqrt((x ** 2).mean() + eps) * weight",
        ],
        2: [
            # pairs neighbouring features (i, i + 1), the layout of the original paper, not Hugging Face's
            """
            half = x.shape[-1] // 2
            angles = np.outer(positions, theta ** (-2 * np.arange(half) / x.shape[-1]))
            even, odd = x[:, 0::2], x[:, 1::2]
            out = np.empty_like(x)
            out[:, 0::2] = even * np.cos(angles) - odd * np.sin(angles)
            out[:, 1::2] = odd * np.cos(angles) + even * np.sin(angles)
            return out
            """,
            # turns the wrong way
            """
            half = x.shape[-1] // 2
            angles = np.outer(positions, theta ** (-2 * np.arange(half) / x.shape[-1]))
            first, second = x[:, :half], x[:, half:]
            return np.concatenate([first * np.cos(angles) + second * np.sin(angles),
                                   second * np.cos(angles) - first * np.sin(angles)], axis=1)
            """,
            # uses the row number instead of the given position
            """
            half = x.shape[-1] // 2
            angles = np.outer(np.arange(len(x)), theta ** (-2 * np.arange(half) / x.shape[-1]))
            first, second = x[:, :half], x[:, half:]
            return np.concatenate([first * np.cos(angles) - second * np.sin(angles),
                                   second * np.cos(angles) + first * np.sin(angles)], axis=1)
            """,
        ],
        3: [
            # gives the key and value projections as many heads as the queries
            """
            block = 4 * dim * dim + 3 * dim * mlp_hidden + 2 * dim
            head = 0 if tie_embeddings else vocab_size * dim
            return vocab_size * dim + n_layers * block + dim + head
            """,
            # counts two MLP matrices, as in GPT-2
            """
            kv_dim = n_kv_heads * (dim // n_heads)
            block = 2 * dim * dim + 2 * dim * kv_dim + 2 * dim * mlp_hidden + 2 * dim
            head = 0 if tie_embeddings else vocab_size * dim
            return vocab_size * dim + n_layers * block + dim + head
            """,
            # forgets the final norm, and counts a tied output layer
            """
            kv_dim = n_kv_heads * (dim // n_heads)
            block = 2 * dim * dim + 2 * dim * kv_dim + 3 * dim * mlp_hidden + 2 * dim
            return 2 * vocab_size * dim + n_layers * block
            """,
        ],
        4: [
            # interleaves the groups: query head h uses key/value head h % H_kv
            """
            group = q.shape[0] // k.shape[0]
            k, v = np.tile(k, (group, 1, 1)), np.tile(v, (group, 1, 1))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
            length = q.shape[1]
            scores = np.where(np.tril(np.ones((length, length), dtype=bool)), scores, -np.inf)
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            return weights @ v
            """,
            # forgets the causal mask
            """
            group = q.shape[0] // k.shape[0]
            k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[-1])
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            return weights @ v
            """,
            # scales by 1/d instead of 1/sqrt(d)
            """
            group = q.shape[0] // k.shape[0]
            k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
            scores = q @ k.transpose(0, 2, 1) / q.shape[-1]
            length = q.shape[1]
            scores = np.where(np.tril(np.ones((length, length), dtype=bool)), scores, -np.inf)
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            return weights @ v
            """,
        ],
    },
    "18_generation_exercises": {
        1: [
            # multiplies the logits by the temperature instead of dividing
            """
            z = logits * temperature
            z = np.where(z < np.sort(z)[-k], -np.inf, z)
            weights = np.exp(z - z.max())
            return weights / weights.sum()
            """,
            # keeps exactly k tokens by position, dropping ties with the k-th largest
            """
            z = logits / temperature
            keep = np.argsort(z)[-k:]
            out = np.zeros_like(z)
            weights = np.exp(z[keep] - z[keep].max())
            out[keep] = weights / weights.sum()
            return out
            """,
            # zeroes the cut tokens' probabilities without renormalising the kept ones
            """
            z = logits / temperature
            probs = np.exp(z - z.max())
            probs /= probs.sum()
            return np.where(z < np.sort(z)[-k], 0.0, probs)
            """,
        ],
        2: [
            # keeps the tokens whose cumulative mass, their own included, is below p: drops the crossing one
            """
            order = np.argsort(-probs, kind="stable")
            cumulative = np.cumsum(probs[order])
            kept = np.zeros_like(probs)
            kept[order[cumulative < p]] = probs[order[cumulative < p]]
            return kept / kept.sum()
            """,
            # forgets to renormalise
            """
            order = np.argsort(-probs, kind="stable")
            before = np.cumsum(probs[order]) - probs[order]
            kept = np.zeros_like(probs)
            kept[order[before < p]] = probs[order[before < p]]
            return kept
            """,
            # returns the kept probabilities in sorted order, not in the tokens' order
            """
            sorted_probs = probs[np.argsort(-probs, kind="stable")]
            before = np.cumsum(sorted_probs) - sorted_probs
            kept = np.where(before < p, sorted_probs, 0.0)
            return kept / kept.sum()
            """,
            # filters in place
            """
            order = np.argsort(-probs, kind="stable")
            before = np.cumsum(probs[order]) - probs[order]
            probs[order[before >= p]] = 0.0
            probs /= probs.sum()
            return probs
            """,
        ],
        3: [
            # counts a key/value pair per query head (as if every model were multi-head)
            "return 2 * n_layers * n_heads * (dim // n_heads) * np.dtype(dtype).itemsize",
            # stores the keys and forgets the values
            "return n_layers * n_kv_heads * (dim // n_heads) * np.dtype(dtype).itemsize",
            # gives each key/value head the model's whole width
            "return 2 * n_layers * n_kv_heads * dim * np.dtype(dtype).itemsize",
            # assumes 4 bytes per number whatever the dtype
            "return 2 * n_layers * n_kv_heads * (dim // n_heads) * 4",
        ],
        4: [
            # attends over the stored positions only, appending the new key and value afterwards
            """
            group = q.shape[0] // keys.shape[0]
            shared_keys, shared_values = np.repeat(keys, group, axis=0), np.repeat(values, group, axis=0)
            scores = q @ shared_keys.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            keys, values = np.concatenate([keys, k], axis=1), np.concatenate([values, v], axis=1)
            return weights @ shared_values, keys, values
            """,
            # shares the key/value heads round-robin (np.tile) instead of in consecutive groups
            """
            keys, values = np.concatenate([keys, k], axis=1), np.concatenate([values, v], axis=1)
            group = q.shape[0] // keys.shape[0]
            shared_keys, shared_values = np.tile(keys, (group, 1, 1)), np.tile(values, (group, 1, 1))
            scores = q @ shared_keys.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            return weights @ shared_values, keys, values
            """,
            # applies a square causal mask to the one new query's row of scores: it sees position 0 only
            """
            keys, values = np.concatenate([keys, k], axis=1), np.concatenate([values, v], axis=1)
            group = q.shape[0] // keys.shape[0]
            shared_keys, shared_values = np.repeat(keys, group, axis=0), np.repeat(values, group, axis=0)
            scores = q @ shared_keys.swapaxes(-1, -2) / math.sqrt(q.shape[-1])
            scores = np.where(np.tril(np.ones(scores.shape[-2:], dtype=bool)), scores, -np.inf)
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            return weights @ shared_values, keys, values
            """,
            # forgets the 1/sqrt(d) scale
            """
            keys, values = np.concatenate([keys, k], axis=1), np.concatenate([values, v], axis=1)
            group = q.shape[0] // keys.shape[0]
            shared_keys, shared_values = np.repeat(keys, group, axis=0), np.repeat(values, group, axis=0)
            scores = q @ shared_keys.swapaxes(-1, -2)
            weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights /= weights.sum(axis=-1, keepdims=True)
            return weights @ shared_values, keys, values
            """,
        ],
    },
    "19_bert_exercises": {
        1: [
            # puts [MASK] at every chosen position: no random tokens, none left unchanged
            """
            chosen = (rng.random(ids.shape) < p) & (ids >= 5)
            inputs = np.where(chosen, mask_id, ids)
            return inputs, np.where(chosen, ids, -100)
            """,
            # chooses special tokens too
            """
            chosen = rng.random(ids.shape) < p
            roll = rng.random(ids.shape)
            inputs = ids.copy()
            inputs[chosen & (roll < 0.8)] = mask_id
            randomised = chosen & (roll >= 0.9)
            inputs[randomised] = rng.integers(5, vocab_size, randomised.sum())
            return inputs, np.where(chosen, ids, -100)
            """,
            # scores every position: the original id as the target everywhere, never -100
            """
            chosen = (rng.random(ids.shape) < p) & (ids >= 5)
            roll = rng.random(ids.shape)
            inputs = ids.copy()
            inputs[chosen & (roll < 0.8)] = mask_id
            randomised = chosen & (roll >= 0.9)
            inputs[randomised] = rng.integers(5, vocab_size, randomised.sum())
            return inputs, ids.copy()
            """,
            # writes the corruption into ids itself, so ids and inputs are one array
            """
            chosen = (rng.random(ids.shape) < p) & (ids >= 5)
            roll = rng.random(ids.shape)
            targets = np.where(chosen, ids, -100)
            ids[chosen & (roll < 0.8)] = mask_id
            randomised = chosen & (roll >= 0.9)
            ids[randomised] = rng.integers(5, vocab_size, randomised.sum())
            return ids, targets
            """,
            # draws the random tokens from the whole vocabulary, special tokens included
            """
            chosen = (rng.random(ids.shape) < p) & (ids >= 5)
            roll = rng.random(ids.shape)
            inputs = ids.copy()
            inputs[chosen & (roll < 0.8)] = mask_id
            randomised = chosen & (roll >= 0.9)
            inputs[randomised] = rng.integers(0, vocab_size, randomised.sum())
            return inputs, np.where(chosen, ids, -100)
            """,
            # draws the random tokens from the text (a shuffle of the ids) instead of uniformly
            """
            chosen = (rng.random(ids.shape) < p) & (ids >= 5)
            roll = rng.random(ids.shape)
            inputs = ids.copy()
            inputs[chosen & (roll < 0.8)] = mask_id
            randomised = chosen & (roll >= 0.9)
            ordinary = ids[ids >= 5]
            inputs[randomised] = rng.choice(ordinary, randomised.sum())
            return inputs, np.where(chosen, ids, -100)
            """,
            # draws a second, independent number for "random": 80% [MASK], then 10% of the other 20% random
            """
            chosen = (rng.random(ids.shape) < p) & (ids >= 5)
            inputs = ids.copy()
            masked = chosen & (rng.random(ids.shape) < 0.8)
            inputs[masked] = mask_id
            randomised = chosen & ~masked & (rng.random(ids.shape) < 0.1)
            inputs[randomised] = rng.integers(5, vocab_size, randomised.sum())
            return inputs, np.where(chosen, ids, -100)
            """,
            # uses NumPy's global generator instead of rng
            """
            chosen = (np.random.random(ids.shape) < p) & (ids >= 5)
            roll = np.random.random(ids.shape)
            inputs = ids.copy()
            inputs[chosen & (roll < 0.8)] = mask_id
            randomised = chosen & (roll >= 0.9)
            inputs[randomised] = np.random.randint(5, vocab_size, randomised.sum())
            return inputs, np.where(chosen, ids, -100)
            """,
        ],
        2: [
            # chooses tokens one by one, splitting words
            """
            special = np.array([token in SPECIAL for token in tokens], dtype=bool)
            return (rng.random(len(tokens)) < p) & ~special
            """,
            # chooses the first piece of each word and forgets its ## pieces
            """
            starts = np.array([not token.startswith("##") for token in tokens])
            special = np.array([token in SPECIAL for token in tokens], dtype=bool)
            return (rng.random(len(tokens)) < p) & starts & ~special
            """,
            # chooses tokens, then extends each choice to its whole word: long words are chosen more often
            """
            starts = np.array([not token.startswith("##") for token in tokens])
            word = np.cumsum(starts) - 1
            hit = rng.random(len(tokens)) < p
            chosen_words = np.bincount(word, weights=hit) > 0
            special = np.array([token in SPECIAL for token in tokens], dtype=bool)
            return chosen_words[word] & ~special
            """,
            # forgets the special tokens
            """
            starts = np.array([not token.startswith("##") for token in tokens])
            word = np.cumsum(starts) - 1
            return (rng.random(word[-1] + 1) < p)[word]
            """,
        ],
        3: [
            # BPE's rule: the pair's frequency, not divided by its parts' counts
            """
            pair_count = Counter()
            for pieces, n in split_words.items():
                for a, b in zip(pieces, pieces[1:]):
                    pair_count[a, b] += n
            return {pair: float(n) for pair, n in pair_count.items()}
            """,
            # counts each distinct word once, ignoring how often it occurs
            """
            token_count, pair_count = Counter(), Counter()
            for pieces in split_words:
                token_count.update(pieces)
                pair_count.update(zip(pieces, pieces[1:]))
            return {(a, b): n / (token_count[a] * token_count[b]) for (a, b), n in pair_count.items()}
            """,
            # counts a pair once per word, even when the word holds it twice
            """
            token_count, pair_count = Counter(), Counter()
            for pieces, n in split_words.items():
                for piece in pieces:
                    token_count[piece] += n
                for pair in set(zip(pieces, pieces[1:])):
                    pair_count[pair] += n
            return {(a, b): n / (token_count[a] * token_count[b]) for (a, b), n in pair_count.items()}
            """,
            # divides by count(a) only: how often b follows a, not a pair that rarely occurs apart
            """
            token_count, pair_count = Counter(), Counter()
            for pieces, n in split_words.items():
                for piece in pieces:
                    token_count[piece] += n
                for a, b in zip(pieces, pieces[1:]):
                    pair_count[a, b] += n
            return {(a, b): n / token_count[a] for (a, b), n in pair_count.items()}
            """,
        ],
        4: [
            # averages over every position, counting the ignored ones as wrong
            "return float((logits.argmax(axis=-1) == targets).mean())",
            # counts the ignored positions as right
            "return float(((logits.argmax(axis=-1) == targets) | (targets == ignore_index)).mean())",
            # averages the accuracy of each sequence (row), so short rows weigh as much as long ones
            """
            scored = targets != ignore_index
            right = (logits.argmax(axis=-1) == targets) & scored
            return float(np.mean(right.sum(axis=-1) / np.maximum(scored.sum(axis=-1), 1)))
            """,
            # ignores the ignore_index argument: always skips -100
            "return float((logits.argmax(axis=-1) == targets)[targets != -100].mean())",
        ],
    },
    "20_pretrained_models_exercises": {
        1: [
            # averages over every position, the padding included
            "return hidden.mean(axis=1)",
            # leaves the padding out of the sum but divides by the full length T
            "return (hidden * mask[:, :, None]).sum(axis=1) / hidden.shape[1]",
            # counts only the real tokens but sums every position, the padding's vectors included
            "return hidden.sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)",
            # divides by the count unguarded: a text with no real token gives 0/0 = NaN
            "return (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)",
        ],
        2: [
            # ranks by the raw dot product, without normalising: long vectors win
            """
            scores = documents @ query
            return np.argsort(-scores, kind="stable")[:k]
            """,
            # sorts from the least similar up
            """
            scores = (documents / np.linalg.norm(documents, axis=1, keepdims=True)) @ query
            return np.argsort(scores, kind="stable")[:k]
            """,
            # reverses an ascending sort: equal scores come out with the higher index first
            """
            scores = (documents / np.linalg.norm(documents, axis=1, keepdims=True)) @ query
            return np.argsort(scores, kind="stable")[::-1][:k]
            """,
            # returns the k best scores instead of their indices
            """
            scores = (documents / np.linalg.norm(documents, axis=1, keepdims=True)) @ query
            return np.sort(scores)[::-1][:k]
            """,
        ],
        3: [
            # transposes only the matrices the loader complains about (the non-square ones)
            """
            return {name: (array.T if array.ndim == 2 and array.shape[0] != array.shape[1]
                           and not name.startswith("embeddings.") else array)
                    for name, array in exported.items()}
            """,
            # transposes every 2-D array, the embedding tables too
            "return {name: (array.T if array.ndim == 2 else array) for name, array in exported.items()}",
            # returns the checkpoint unchanged, trusting the loader to sort it out
            "return dict(exported)",
        ],
        4: [
            # splits all the indices at random at once: the classes' proportions drift
            """
            rng = np.random.default_rng(seed)
            test = np.sort(rng.permutation(len(labels))[:round(test_fraction * len(labels))])
            return np.setdiff1d(np.arange(len(labels)), test), test
            """,
            # truncates instead of rounding: int(0.4 * 7) = 2, not 3
            """
            rng = np.random.default_rng(seed)
            test = []
            for label in np.unique(labels):
                members = np.flatnonzero(labels == label)
                test.extend(rng.permutation(members)[:int(test_fraction * len(members))])
            test = np.sort(np.array(test, dtype=np.int64))
            return np.setdiff1d(np.arange(len(labels)), test), test
            """,
            # takes the first members of each class instead of a random choice: every seed gives one split
            """
            test = []
            for label in np.unique(labels):
                members = np.flatnonzero(labels == label)
                test.extend(members[:round(test_fraction * len(members))])
            test = np.sort(np.array(test, dtype=np.int64))
            return np.setdiff1d(np.arange(len(labels)), test), test
            """,
            # returns the test indices in the random order they were drawn, not sorted
            """
            rng = np.random.default_rng(seed)
            test = []
            for label in np.unique(labels):
                members = np.flatnonzero(labels == label)
                test.extend(rng.permutation(members)[:round(test_fraction * len(members))])
            test = np.array(test, dtype=np.int64)
            return np.setdiff1d(np.arange(len(labels)), test), test
            """,
        ],
    },
    "21_vision_transformers_exercises": {
        1: [
            # reshapes straight to (B, N, C*p*p): the rows of the image, not its patches
            """
            B, C, H, W = images.shape
            return images.reshape(B, (H // p) * (W // p), C * p * p)
            """,
            # puts the channel last inside each patch (row, column, channel), as channels-last images do
            """
            B, C, H, W = images.shape
            grid = images.reshape(B, C, H // p, p, W // p, p)
            return grid.transpose(0, 2, 4, 3, 5, 1).reshape(B, (H // p) * (W // p), C * p * p)
            """,
            # numbers the patches column by column
            """
            B, C, H, W = images.shape
            grid = images.reshape(B, C, H // p, p, W // p, p)
            return grid.transpose(0, 4, 2, 1, 3, 5).reshape(B, (H // p) * (W // p), C * p * p)
            """,
            # swaps the row and the column inside each patch
            """
            B, C, H, W = images.shape
            grid = images.reshape(B, C, H // p, p, W // p, p)
            return grid.transpose(0, 2, 4, 1, 5, 3).reshape(B, (H // p) * (W // p), C * p * p)
            """,
        ],
        2: [
            # gives positions to the patches only, not to the class token
            """
            D = config.dim
            M = config.mlp_hidden or 4 * D
            N = (config.image_size // config.patch_size) ** 2
            patch = D * config.channels * config.patch_size ** 2 + (D if config.patch_bias else 0)
            embeddings = patch + D + N * D + (2 * D if config.embedding_norm else 0)
            block = 2 * 2 * D + 4 * (D * D + D) + (D * M + M + M * D + D)
            head = 0 if config.num_classes is None else D * config.num_classes + config.num_classes
            return embeddings + config.n_layers * block + 2 * D + head
            """,
            # forgets the final LayerNorm
            """
            D = config.dim
            M = config.mlp_hidden or 4 * D
            N = (config.image_size // config.patch_size) ** 2
            patch = D * config.channels * config.patch_size ** 2 + (D if config.patch_bias else 0)
            embeddings = patch + D + (1 + N) * D + (2 * D if config.embedding_norm else 0)
            block = 2 * 2 * D + 4 * (D * D + D) + (D * M + M + M * D + D)
            head = 0 if config.num_classes is None else D * config.num_classes + config.num_classes
            return embeddings + config.n_layers * block + head
            """,
            # counts the attention's four matrices but not their biases
            """
            D = config.dim
            M = config.mlp_hidden or 4 * D
            N = (config.image_size // config.patch_size) ** 2
            patch = D * config.channels * config.patch_size ** 2 + (D if config.patch_bias else 0)
            embeddings = patch + D + (1 + N) * D + (2 * D if config.embedding_norm else 0)
            block = 2 * 2 * D + 4 * D * D + (D * M + M + M * D + D)
            head = 0 if config.num_classes is None else D * config.num_classes + config.num_classes
            return embeddings + config.n_layers * block + 2 * D + head
            """,
            # ignores the options: always a patch bias, no embedding norm, a classifier of num_classes or 0
            """
            D = config.dim
            M = config.mlp_hidden or 4 * D
            N = (config.image_size // config.patch_size) ** 2
            embeddings = D * config.channels * config.patch_size ** 2 + D + D + (1 + N) * D
            block = 2 * 2 * D + 4 * (D * D + D) + (D * M + M + M * D + D)
            K = config.num_classes or 0
            return embeddings + config.n_layers * block + 2 * D + D * K + K
            """,
        ],
        3: [
            # multiplies the layers first-on-the-left
            """
            T = weights.shape[-1]
            rollout = np.eye(T)
            for layer in weights:
                rollout = rollout @ (0.5 * (np.eye(T) + layer.mean(axis=0)))
            return rollout
            """,
            # leaves out the residual connection's identity
            """
            T = weights.shape[-1]
            rollout = np.eye(T)
            for layer in weights:
                rollout = layer.mean(axis=0) @ rollout
            return rollout
            """,
            # adds the identity but does not renormalise: rows grow to sum 2, 4, 8...
            """
            T = weights.shape[-1]
            rollout = np.eye(T)
            for layer in weights:
                rollout = (np.eye(T) + layer.mean(axis=0)) @ rollout
            return rollout
            """,
            # takes the strongest head instead of the mean of the heads, then renormalises
            """
            T = weights.shape[-1]
            rollout = np.eye(T)
            for layer in weights:
                mixing = np.eye(T) + layer.max(axis=0)
                rollout = (mixing / mixing.sum(axis=1, keepdims=True)) @ rollout
            return rollout
            """,
        ],
        4: [
            # keeps the class token's position
            """
            positions = position_embedding[0]
            unit = positions / np.linalg.norm(positions, axis=1, keepdims=True)
            return unit @ unit.T
            """,
            # the plain dot product, not normalised
            """
            positions = position_embedding[0, 1:]
            return positions @ positions.T
            """,
            # normalises each feature (column) instead of each position vector (row)
            """
            positions = position_embedding[0, 1:]
            unit = positions / np.linalg.norm(positions, axis=0, keepdims=True)
            return unit @ unit.T
            """,
            # drops the last patch instead of the class token
            """
            positions = position_embedding[0, :-1]
            unit = positions / np.linalg.norm(positions, axis=1, keepdims=True)
            return unit @ unit.T
            """,
        ],
    },
    "22_clip_exercises": {
        1: [
            # only the image -> text direction (each row a classifier), forgetting the captions' side
            """
            top = S.max(axis=1, keepdims=True)
            rows = S - (top + np.log(np.exp(S - top).sum(axis=1, keepdims=True)))
            return float(-np.trace(rows) / len(S))
            """,
            # the textbook log-sum-exp without subtracting the maximum: exp(100) overflows
            """
            rows = S - np.log(np.exp(S).sum(axis=1, keepdims=True))
            columns = S - np.log(np.exp(S).sum(axis=0, keepdims=True))
            return float(-(np.trace(rows) + np.trace(columns)) / (2 * len(S)))
            """,
            # sums over the pairs instead of averaging: the loss grows with the batch
            """
            top_r, top_c = S.max(axis=1, keepdims=True), S.max(axis=0, keepdims=True)
            rows = S - (top_r + np.log(np.exp(S - top_r).sum(axis=1, keepdims=True)))
            columns = S - (top_c + np.log(np.exp(S - top_c).sum(axis=0, keepdims=True)))
            return float(-(np.trace(rows) + np.trace(columns)) / 2)
            """,
            # takes the log-sum-exp of the columns over axis 1 too: both halves are the rows' loss
            """
            top = S.max(axis=1, keepdims=True)
            rows = S - (top + np.log(np.exp(S - top).sum(axis=1, keepdims=True)))
            return float(-(np.trace(rows) + np.trace(rows.T)) / (2 * len(S)))
            """,
        ],
        2: [
            # the transpose of the row softmax for the columns: right only for a symmetric S
            """
            e = np.exp(S - S.max(axis=1, keepdims=True))
            P = e / e.sum(axis=1, keepdims=True)
            return (P + P.T - 2 * np.eye(len(S))) / (2 * len(S))
            """,
            # forgets the 1/2B of the mean over both directions
            """
            def softmax(a, axis):
                e = np.exp(a - a.max(axis=axis, keepdims=True))
                return e / e.sum(axis=axis, keepdims=True)

            return softmax(S, axis=1) + softmax(S, axis=0) - 2 * np.eye(len(S))
            """,
            # forgets to subtract the identity (the targets)
            """
            def softmax(a, axis):
                e = np.exp(a - a.max(axis=axis, keepdims=True))
                return e / e.sum(axis=axis, keepdims=True)

            return (softmax(S, axis=1) + softmax(S, axis=0)) / (2 * len(S))
            """,
            # only the rows' half of the loss
            """
            e = np.exp(S - S.max(axis=1, keepdims=True))
            return (e / e.sum(axis=1, keepdims=True) - np.eye(len(S))) / (2 * len(S))
            """,
        ],
        3: [
            # ranks the columns, so one repeated text takes several of the k places
            """
            best = np.argsort(-similarity, axis=1)[:, :k]
            return float(np.mean([true_captions[i] in [candidates[j] for j in row]
                                  for i, row in enumerate(best)]))
            """,
            # counts a hit only at the column with the image's own index, as if captions did not repeat
            """
            texts = sorted(set(candidates))
            column_text = np.array([texts.index(c) for c in candidates])
            scores = np.full((len(similarity), len(texts)), -np.inf)
            for column, text in enumerate(column_text):
                scores[:, text] = np.maximum(scores[:, text], similarity[:, column])
            best = np.argsort(-scores, axis=1)[:, :k]
            return float((best == np.arange(len(similarity))[:, None]).any(axis=1).mean())
            """,
            # sorts from the least similar up
            """
            texts = sorted(set(candidates))
            column_text = np.array([texts.index(c) for c in candidates])
            scores = np.full((len(similarity), len(texts)), -np.inf)
            for column, text in enumerate(column_text):
                scores[:, text] = np.maximum(scores[:, text], similarity[:, column])
            best = np.argsort(scores, axis=1)[:, :k]
            truth = np.array([texts.index(c) for c in true_captions])
            return float((best == truth[:, None]).any(axis=1).mean())
            """,
            # scores a repeated text by the sum of its columns: texts that occur often win
            """
            texts = sorted(set(candidates))
            column_text = np.array([texts.index(c) for c in candidates])
            scores = np.zeros((len(similarity), len(texts)))
            for column, text in enumerate(column_text):
                scores[:, text] += similarity[:, column]
            best = np.argsort(-scores, axis=1)[:, :k]
            truth = np.array([texts.index(c) for c in true_captions])
            return float((best == truth[:, None]).any(axis=1).mean())
            """,
        ],
        4: [
            # averages the prompts but compares the mean without scaling it back to length 1
            """
            unit = prompt_vectors / np.linalg.norm(prompt_vectors, axis=-1, keepdims=True)
            return np.argmax(image_vectors @ unit.mean(axis=1).T, axis=1)
            """,
            # averages the raw prompt vectors: the longest prompt outvotes the others
            """
            classes = prompt_vectors.mean(axis=1)
            classes = classes / np.linalg.norm(classes, axis=-1, keepdims=True)
            return np.argmax(image_vectors @ classes.T, axis=1)
            """,
            # averages over the classes instead of the prompts: predicts a template, not a class
            """
            unit = prompt_vectors / np.linalg.norm(prompt_vectors, axis=-1, keepdims=True)
            templates = unit.mean(axis=0)
            templates = templates / np.linalg.norm(templates, axis=-1, keepdims=True)
            return np.argmax(image_vectors @ templates.T, axis=1)
            """,
            # scores each class by its best single prompt (the largest cosine) instead of the averaged vector
            """
            unit = prompt_vectors / np.linalg.norm(prompt_vectors, axis=-1, keepdims=True)
            return np.argmax(np.einsum("nd,kmd->nkm", image_vectors, unit).max(axis=2), axis=1)
            """,
        ],
    },
    "23_making_it_fast_exercises": {
        1: [
            # ranks the rows by total time: a range (or an op that calls others) counts its insides as its own
            (
                """
                row = max(table, key=lambda r: r.total_time)
                return row.name, row.kind
                """,
                KEEP,
                KEEP,
            ),
            # adds total times: nested operations are counted twice
            (
                KEEP,
                "return sum(r.total_time for r in table if r.kind == kind) / table.wall_time",
                "return 1.0 - sum(r.total_time for r in table) / table.wall_time",
            ),
            # divides by the rows' time instead of the wall time
            (
                KEEP,
                "return sum(r.self_time for r in table if r.kind == kind) / sum(r.self_time for r in table)",
                KEEP,
            ),
            # returns the fraction of the time inside the rows, not outside them
            (KEEP, KEEP, "return sum(r.self_time for r in table) / table.wall_time"),
            # returns only the name of the top row
            ("return max(table, key=lambda r: r.self_time).name", KEEP, KEEP),
        ],
        2: [
            # counts one FLOP per multiply-add (m k n) instead of two
            ("return m * k * n / (itemsize * (m * k + k * n + m * n))", KEEP),
            # forgets the bytes of the output
            ("return 2 * m * k * n / (itemsize * (m * k + k * n))", KEEP),
            # FLOPs per number moved, not per byte: forgets the itemsize
            (
                "return 2 * m * k * n / (m * k + k * n + m * n)",
                "return flops_per_element / (inputs + outputs)",
            ),
            # forgets the output of an elementwise operation
            (KEEP, "return flops_per_element / (itemsize * inputs)"),
        ],
        3: [
            # adds the two times, as if arithmetic waited for the data and the data for the arithmetic
            """
            compute_time = flops / (peak_gflops * 1e9)
            memory_time = nbytes / (bandwidth_gbs * 1e9)
            return compute_time + memory_time, ("compute" if compute_time >= memory_time else "memory")
            """,
            # takes the smaller of the two times
            """
            compute_time = flops / (peak_gflops * 1e9)
            memory_time = nbytes / (bandwidth_gbs * 1e9)
            return min(compute_time, memory_time), ("compute" if compute_time >= memory_time else "memory")
            """,
            # names the limit the wrong way round
            """
            compute_time = flops / (peak_gflops * 1e9)
            memory_time = nbytes / (bandwidth_gbs * 1e9)
            return max(compute_time, memory_time), ("memory" if compute_time >= memory_time else "compute")
            """,
            # decides by the intensity against bandwidth / peak (the ridge point upside down)
            """
            compute_time = flops / (peak_gflops * 1e9)
            memory_time = nbytes / (bandwidth_gbs * 1e9)
            limit = "compute" if flops / nbytes >= bandwidth_gbs / peak_gflops else "memory"
            return max(compute_time, memory_time), limit
            """,
            # forgets that GFLOPS and GB/s are billions per second
            """
            compute_time = flops / peak_gflops
            memory_time = nbytes / bandwidth_gbs
            return max(compute_time, memory_time), ("compute" if compute_time >= memory_time else "memory")
            """,
        ],
        4: [
            # the textbook formula: exp(x) overflows for large x
            (
                """
                for i in range(x.size):
                    out[i] = math.log(1.0 + math.exp(x[i]))
                """,
                KEEP,
                KEEP,
            ),
            # the derivative of log(1 + e^x) taken as sigmoid(-x)
            (
                KEEP,
                """
                for i in range(x.size):
                    e = math.exp(-abs(x[i]))
                    s = 1.0 / (1.0 + e) if x[i] >= 0 else e / (1.0 + e)
                    out[i] = grad[i] * (1.0 - s)
                """,
                KEEP,
            ),
            # forgets to multiply by the incoming gradient
            (
                KEEP,
                """
                for i in range(x.size):
                    e = math.exp(-abs(x[i]))
                    out[i] = 1.0 / (1.0 + e) if x[i] >= 0 else e / (1.0 + e)
                """,
                KEEP,
            ),
            # composes minigrad's operations instead of one fused op (three nodes, and it overflows)
            (KEEP, KEEP, "return minigrad.log(1 + minigrad.exp(x))"),
            # allocates a float64 output whatever the input's dtype
            (
                KEEP,
                KEEP,
                """
                data = np.ascontiguousarray(x.data)
                out = np.empty(data.shape)
                softplus_forward(data.reshape(-1), out.reshape(-1))

                def backward(grad):
                    grad_x = np.empty_like(data)
                    flat_grad = np.ascontiguousarray(grad, dtype=data.dtype).reshape(-1)
                    softplus_backward(data.reshape(-1), flat_grad, grad_x.reshape(-1))
                    return (grad_x,)

                return minigrad.engine.make_result(out, (x,), backward, "SoftplusBackward")
                """,
            ),
        ],
    },
}
