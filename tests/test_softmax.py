"""softmax, log_softmax and cross_entropy: forward against NumPy float64, backward by gradcheck, stability
for huge logits, PyTorch's edge cases (ignore_index, label smoothing, class dim 1, empty batches) and the
error messages. When PyTorch is importable, cross_entropy is also compared with it directly."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.kernels import softmax as kernels

FLOATS = [np.float32, np.float64]


# --- references: plain NumPy float64, written for clarity rather than speed ---------------------------------

def reference_log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    x = x.astype(np.float64)
    shifted = x - x.max(axis=axis, keepdims=True, initial=-np.inf)
    with np.errstate(divide="ignore"):  # an empty row sums to 0
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def reference_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    return np.exp(reference_log_softmax(x, axis))


def reference_cross_entropy(x, target, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """One sample at a time: pick the logits of each target position, then average -log p."""
    x = x.astype(np.float64)
    logits_at = (lambda index: x) if x.ndim == 1 else (lambda index: x[(index[0], slice(None), *index[1:])])
    losses = np.zeros(target.shape)
    for index in np.ndindex(target.shape):
        if target[index] == ignore_index:
            continue
        log_p = reference_log_softmax(logits_at(index), 0)
        losses[index] = -(1 - label_smoothing) * log_p[target[index]] - label_smoothing * log_p.mean()
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    with np.errstate(invalid="ignore"):
        return losses.sum() / np.count_nonzero(target != ignore_index)


def tolerance(dtype, scale=1.0):
    if dtype == np.float32:
        return {"rtol": 1e-5, "atol": 1e-6 * scale}
    return {"rtol": 1e-12, "atol": 1e-12 * scale}


# --- hypothesis strategies ----------------------------------------------------------------------------------

@st.composite
def tensors_and_dims(draw, max_dims=4, max_side=5):
    """A random array (any number of dims, size-0 sides included) and a valid dim, positive or negative."""
    shape = tuple(draw(st.lists(st.integers(0, max_side), min_size=0, max_size=max_dims)))
    bound = max(len(shape), 1)
    dim = draw(st.integers(-bound, bound - 1))
    scale = draw(st.sampled_from([1.0, 5.0, 30.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return rng.standard_normal(shape) * scale, dim, scale


@st.composite
def cross_entropy_cases(draw, max_side=4):
    """Logits (C,), (N, C) or (N, C, d1, ...), matching targets with some ignored, and the options."""
    layout = draw(st.sampled_from(["single", "batch", "spatial"]))
    classes = draw(st.integers(1, 5))
    if layout == "single":
        shape, target_shape = (classes,), ()
    else:
        n = draw(st.integers(0 if layout == "batch" else 1, max_side))
        extra = () if layout == "batch" else tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
        shape, target_shape = (n, classes, *extra), (n, *extra)
    ignore_index = draw(st.sampled_from([-100, 0, 7]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    target = rng.integers(0, classes, size=target_shape)
    target = np.where(rng.random(target_shape) < draw(st.sampled_from([0.0, 0.3])), ignore_index, target)
    options = {"ignore_index": ignore_index, "reduction": draw(st.sampled_from(["mean", "sum", "none"])),
               "label_smoothing": draw(st.sampled_from([0.0, 0.1, 1.0]))}
    return rng.standard_normal(shape) * 3, np.asarray(target, dtype=np.int64), options


# --- softmax and log_softmax --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=40, deadline=None)
@given(case=tensors_and_dims())
def test_softmax_and_log_softmax_match_the_reference(dtype, case):
    data, dim, scale = case
    x = mg.tensor(data.astype(dtype))
    axis = dim % max(data.ndim, 1)
    expected_log = reference_log_softmax(x.data.reshape(data.shape or (1,)), axis).reshape(data.shape)
    soft, log_soft = mg.softmax(x, dim), mg.log_softmax(x, dim)
    assert soft.dtype == log_soft.dtype == dtype
    assert soft.shape == log_soft.shape == data.shape
    np.testing.assert_allclose(soft.data, np.exp(expected_log), **tolerance(dtype))
    np.testing.assert_allclose(log_soft.data, expected_log, **tolerance(dtype, scale))


@settings(max_examples=25, deadline=None)
@given(case=tensors_and_dims(max_dims=3, max_side=4))
def test_softmax_and_log_softmax_gradcheck(case):
    data, dim, _ = case
    x = mg.tensor(data / 10, requires_grad=True)  # modest logits: finite differences stay accurate
    assert mg.gradcheck(lambda t: mg.softmax(t, dim), [x])
    assert mg.gradcheck(lambda t: mg.log_softmax(t, dim), [x])


def test_softmax_rows_sum_to_one_along_the_chosen_dim_of_a_strided_input():
    x = mg.tensor(np.random.default_rng(1).standard_normal((3, 4, 5)).transpose(2, 0, 1))  # not contiguous
    for dim in range(3):
        np.testing.assert_allclose(mg.softmax(x, dim).data.sum(axis=dim), 1.0, rtol=1e-12)
        np.testing.assert_allclose(x.softmax(dim).data, reference_softmax(x.data, dim), rtol=1e-12)


def test_softmax_backward_matches_the_explicit_jacobian():
    rng = np.random.default_rng(2)
    x = mg.tensor(rng.standard_normal(6), requires_grad=True)
    g = rng.standard_normal(6)
    mg.softmax(x).backward(mg.tensor(g))
    y = reference_softmax(x.data, 0)
    jacobian = np.diag(y) - np.outer(y, y)
    np.testing.assert_allclose(x.grad.data, jacobian.T @ g, rtol=1e-12, atol=1e-15)


def test_0d_softmax_is_one_and_log_softmax_zero_with_zero_gradient():
    x = mg.tensor(3.5, dtype=mg.float64, requires_grad=True)
    y = mg.softmax(x, 0)
    assert y.shape == () and y.item() == 1.0
    assert mg.log_softmax(x, -1).item() == 0.0
    y.backward()
    assert x.grad.item() == 0.0


@pytest.mark.parametrize("dtype", FLOATS)
def test_huge_logits_give_no_inf_or_nan(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [89.0, 0.0, -89.0]], dtype=dtype)
    x = mg.tensor(logits, requires_grad=True)
    soft, log_soft = mg.softmax(x, 1), mg.log_softmax(x, 1)
    assert np.isfinite(soft.data).all() and np.isfinite(log_soft.data).all()
    np.testing.assert_allclose(soft.data, reference_softmax(logits, 1), rtol=1e-6, atol=1e-30)
    np.testing.assert_allclose(log_soft.data, reference_log_softmax(logits, 1), rtol=1e-6)
    np.testing.assert_array_equal(log_soft.data[0], [0.0, -2e4, -1e4])  # exact: no exp(1e4) formed
    target = mg.tensor([1, 0, 2])
    loss = F.cross_entropy(x, target, label_smoothing=0.1)
    np.testing.assert_allclose(loss.item(), reference_cross_entropy(logits, target.data, label_smoothing=0.1),
                               rtol=1e-6)
    loss.backward()
    assert np.isfinite(x.grad.data).all()


@pytest.mark.parametrize("n", [1, 3, 4, 5, 8, 11])
def test_the_row_maximum_is_found_in_every_position_and_a_nan_anywhere_spoils_only_its_row(n):
    """The row maximum keeps four running maxima (blocks of four, then the rest). Missed anywhere, a logit
    of 1e4 would overflow exp; and a NaN anywhere must still reach its whole row, as in PyTorch."""
    forwards = (kernels.softmax_forward, kernels.attention_softmax_forward, kernels.log_softmax_forward)
    for position in range(n):
        logits = np.zeros((2, n), np.float32)
        logits[0, position] = 1e4
        one_hot = np.eye(n, dtype=np.float32)[position]
        for forward in forwards[:2]:
            np.testing.assert_array_equal(forward(logits)[0], one_hot)
        logits[0, position] = np.nan
        for forward in forwards:
            out = forward(logits)
            assert np.isnan(out[0]).all() and np.isfinite(out[1]).all(), (forward.__name__, position)
        loss = kernels.cross_entropy_forward(logits, np.array([0, 0]), -100, 0.0)[0]
        assert np.isnan(loss[0]) and np.isfinite(loss[1]), position


def test_minus_infinity_logits_get_zero_probability_and_all_masked_rows_give_nan():
    x = mg.tensor([[0.0, -np.inf, 0.0], [-np.inf, -np.inf, -np.inf]])
    y = mg.softmax(x, 1).data
    np.testing.assert_array_equal(y[0], [0.5, 0.0, 0.5])
    assert np.isnan(y[1]).all()  # as in PyTorch: 0/0


@pytest.mark.parametrize("op", [mg.softmax, mg.log_softmax])
def test_size_0_inputs(op):
    x = mg.zeros(2, 0, dtype=mg.float64, requires_grad=True)
    assert op(x, 1).shape == (2, 0)
    out = op(x, 0)
    assert out.shape == (2, 0)
    out.sum().backward()
    assert x.grad.shape == (2, 0)


# --- cross_entropy ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@settings(max_examples=60, deadline=None)
@given(case=cross_entropy_cases())
def test_cross_entropy_matches_the_reference(dtype, case):
    logits, target, options = case
    loss = F.cross_entropy(mg.tensor(logits.astype(dtype)), mg.tensor(target), **options)
    expected = reference_cross_entropy(logits.astype(dtype), target, **options)
    assert loss.dtype == dtype
    assert loss.shape == np.shape(expected)
    np.testing.assert_allclose(loss.data, expected, **tolerance(dtype, 10.0))


@settings(max_examples=40, deadline=None)
@given(case=cross_entropy_cases(max_side=3))
def test_cross_entropy_gradcheck(case):
    logits, target, options = case
    assume(options["reduction"] != "mean" or (target != options["ignore_index"]).any())  # else NaN
    x = mg.tensor(logits, requires_grad=True)
    target_tensor = mg.tensor(target)
    assert mg.gradcheck(lambda t: F.cross_entropy(t, target_tensor, **options), [x])


def test_cross_entropy_gradient_is_softmax_minus_smoothed_one_hot():
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal((4, 5)), requires_grad=True)
    target = np.array([0, 4, -100, 2])
    F.cross_entropy(x, mg.tensor(target), reduction="sum", label_smoothing=0.2).backward()
    expected = reference_softmax(x.data, 1) - (0.8 * np.eye(5)[np.maximum(target, 0)] + 0.2 / 5)
    expected[2] = 0.0
    np.testing.assert_allclose(x.grad.data, expected, rtol=1e-12, atol=1e-15)


def test_cross_entropy_mean_over_all_ignored_targets_is_nan_with_zero_gradient():
    x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor([-100, -100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.data, 0.0)


@pytest.mark.parametrize(("reduction", "expected"), [("mean", np.nan), ("sum", 0.0)])
def test_cross_entropy_of_an_empty_batch(reduction, expected):
    x = mg.zeros(0, 3, requires_grad=True)
    loss = F.cross_entropy(x, mg.tensor(np.zeros(0, dtype=np.int64)), reduction=reduction)
    np.testing.assert_array_equal(loss.data, expected)
    loss.backward()
    assert x.grad.shape == (0, 3)
    assert F.cross_entropy(x, mg.tensor(np.zeros(0, dtype=np.int64)), reduction="none").shape == (0,)


def test_cross_entropy_only_the_logits_get_a_gradient():
    x = mg.randn(2, 3, requires_grad=True)
    target = mg.tensor([2, 0])
    loss = F.cross_entropy(x, target)
    assert loss.grad_fn.inputs == (x,)
    loss.backward()
    assert x.grad.shape == (2, 3) and x.grad.dtype == np.float32 and target.grad is None


# --- the kernels' parallel path (chosen by size; forced here on small inputs) -------------------------------

def test_parallel_kernels_agree_with_the_serial_ones():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((37, 11)).astype(np.float32) * 10
    g = rng.standard_normal((37, 11)).astype(np.float32)
    target = np.where(rng.random(37) < 0.2, -100, rng.integers(0, 11, 37))
    row_grad = rng.standard_normal(37).astype(np.float32)
    for forward, backward in ((kernels.softmax_forward, kernels.softmax_backward),
                              (kernels.log_softmax_forward, kernels.log_softmax_backward)):
        y = forward(x, parallel=False)
        np.testing.assert_array_equal(forward(x, parallel=True), y)
        np.testing.assert_array_equal(backward(y, g, parallel=True), backward(y, g, parallel=False))
    serial = kernels.cross_entropy_forward(x, target, -100, 0.1, parallel=False)
    for got, want in zip(kernels.cross_entropy_forward(x, target, -100, 0.1, parallel=True), serial):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(
        kernels.cross_entropy_backward(x, target, -100, 0.1, *serial[1:], row_grad, parallel=True),
        kernels.cross_entropy_backward(x, target, -100, 0.1, *serial[1:], row_grad, parallel=False))


@pytest.mark.parametrize("length, keys", [(5, 5), (5, 3), (3, 5)])
@pytest.mark.parametrize("dtype", FLOATS)
def test_causal_softmax_kernels_equal_the_masked_softmax_and_never_read_the_future(length, keys, dtype):
    """Rows of 4 blocks of ``length`` queries (batch x heads, or a group of query heads stacked); row i is
    query position i % length. The scores a query may not see are NaN here: they must not leak in."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4 * length, keys)).astype(dtype) * 5
    g = rng.standard_normal(x.shape).astype(dtype)
    future = np.arange(keys)[None, :] > (np.arange(len(x)) % length)[:, None]
    want_y = kernels.attention_softmax_forward(np.where(future, -np.inf, x).astype(dtype))
    want_grad = kernels.softmax_backward(want_y, g)
    for parallel in (False, True):
        y = kernels.causal_softmax_forward(np.where(future, np.nan, x).astype(dtype), length, parallel)
        np.testing.assert_allclose(y, want_y, **tolerance(dtype))
        grad = kernels.causal_softmax_backward(y, np.where(future, np.nan, g).astype(dtype), length, parallel)
        np.testing.assert_allclose(grad, want_grad, **tolerance(dtype))
        in_place = np.where(future, np.nan, x).astype(dtype)
        kernels.causal_softmax_forward(in_place, length, parallel, out=in_place)
        np.testing.assert_array_equal(in_place, y)
    np.testing.assert_array_equal(kernels.causal_softmax_forward(x, length, True),
                                  kernels.causal_softmax_forward(x, length, False))


# --- errors that teach --------------------------------------------------------------------------------------

def test_integer_logits_are_refused():
    ints = mg.tensor([[1, 2, 3]])
    for op in (mg.softmax, mg.log_softmax):
        with pytest.raises(mg.DTypeError, match=r"softmax\(\): needs floating-point input, got int64.*float"):
            op(ints, 1)
    with pytest.raises(mg.DTypeError, match=r"cross_entropy\(\).*int64"):
        F.cross_entropy(ints, mg.tensor([0]))


def test_softmax_dim_out_of_range_names_the_shape():
    with pytest.raises(mg.ShapeError, match=r"softmax\(\): dim 2 .*\(4, 3\)"):
        mg.softmax(mg.randn(4, 3), 2)
    with pytest.raises(mg.ShapeError, match=r"log_softmax\(\): dim must be one integer"):
        mg.log_softmax(mg.randn(4, 3), None)


def test_float_target_says_to_pass_int64_class_indices():
    with pytest.raises(mg.DTypeError, match=r"cross_entropy\(\): target has dtype float32.*int64.*\.long"):
        F.cross_entropy(mg.randn(4, 3), mg.zeros(4))
    with pytest.raises(mg.DTypeError, match=r"class probabilities"):
        F.cross_entropy(mg.randn(4, 3), mg.zeros(4, 3))


@pytest.mark.parametrize(("input_shape", "target_shape", "shown"), [
    ((4, 10), (4, 1), r"\(4, 1\) does not fit input of shape \(4, 10\).*must be .*\(4,\).*squeeze"),
    ((4, 10), (4, 10), r"\(4, 10\) does not fit input of shape \(4, 10\).*argmax\(dim=1\)"),
    ((2, 3, 5, 5), (2, 5), r"\(2, 5\) does not fit input of shape \(2, 3, 5, 5\).*dim 1 \(size 3\)"
                           r".*dims 0, 2, \.\.\. with dim 1 removed: \(2, 5, 5\)"),
    ((3,), (1,), r"\(1,\) does not fit input of shape \(3,\).*0-d"),
])
def test_target_shape_mismatch_shows_both_shapes_and_the_rule(input_shape, target_shape, shown):
    with pytest.raises(mg.ShapeError, match=r"cross_entropy\(\): target of shape " + shown):
        F.cross_entropy(mg.randn(*input_shape), mg.tensor(np.zeros(target_shape, dtype=np.int64)))


def test_target_out_of_range_names_value_position_and_class_count():
    with pytest.raises(mg.ShapeError, match=r"cross_entropy\(\): target value 10 at position \(1,\) is out "
                                            r"of range for 10 classes.*0\.\.9.*1 more"):
        F.cross_entropy(mg.randn(4, 10), mg.tensor([1, 10, 3, -1]))
    with pytest.raises(mg.ShapeError, match=r"target value 3 at position \(1, 0, 1\) .* 3 classes"):
        F.cross_entropy(mg.randn(2, 3, 2, 2), mg.tensor([[[0, 1], [2, 0]], [[0, 3], [1, 1]]]))
    with pytest.raises(mg.ShapeError, match=r"target value -1 at position \(\) .*ignore_index=7"):
        F.cross_entropy(mg.randn(3), mg.tensor(-1), ignore_index=7)


def test_bad_reduction_and_label_smoothing_and_0d_input():
    with pytest.raises(ValueError, match=r"cross_entropy\(\): reduction='avg' is not one of 'mean', 'sum'"):
        F.cross_entropy(mg.randn(2, 3), mg.tensor([0, 1]), reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing=1.5 must be between 0.0 and 1.0"):
        F.cross_entropy(mg.randn(2, 3), mg.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(mg.ShapeError, match=r"cross_entropy\(\): input is 0-d"):
        F.cross_entropy(mg.tensor(1.0), mg.tensor(0))


# --- PyTorch, when it is installed --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(("input_shape", "options"), [
    ((6, 5), {}),
    ((6, 5), {"ignore_index": 2, "reduction": "sum", "label_smoothing": 0.3}),
    ((3, 4, 2, 3), {"reduction": "none", "label_smoothing": 0.1}),
    ((3, 4, 5), {"reduction": "mean", "label_smoothing": 0.05}),
    ((7,), {"reduction": "none"}),
])
def test_cross_entropy_matches_pytorch(dtype, input_shape, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    logits = (rng.standard_normal(input_shape) * 4).astype(dtype)
    classes = input_shape[0] if len(input_shape) == 1 else input_shape[1]
    target_shape = () if len(input_shape) == 1 else (input_shape[0], *input_shape[2:])
    target = rng.integers(0, classes, size=target_shape)
    if target.ndim:
        target.reshape(-1)[::4] = options.get("ignore_index", -100)
    ours_x = mg.tensor(logits, requires_grad=True)
    ours = F.cross_entropy(ours_x, mg.tensor(target), **options)
    theirs_x = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(theirs_x, torch.tensor(target), **options)
    seed = np.asarray(rng.standard_normal(ours.shape), dtype=dtype)
    ours.backward(mg.tensor(seed))
    theirs.backward(torch.tensor(seed))
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-14}
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), **tol)
    np.testing.assert_allclose(ours_x.grad.data, theirs_x.grad.numpy(), **tol)
