"""Accuracy of the fast float32 approximations in minigrad.kernels.fastmath, over dense grids and extremes.

Each function is compiled into a small loop with the same Numba options as the real kernels, run on
float32 inputs, and compared with a float64 reference. The bounds below are the measured maximum relative
errors (see the fastmath docstring) with a margin of about 1.5x: loose enough for a different CPU's
rounding of fused multiply-adds, tight enough to catch a wrong coefficient (which costs 1e-5 or more).
"""

import math

import numpy as np
import pytest
from scipy import special

from minigrad.kernels import fastmath
from minigrad.kernels.loops import CONTRACT, jit

F32 = np.finfo(np.float32)
SUBNORMAL_STEP = 2.0**-149


def _pdf(x):
    return np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


# name: (reference in float64, grid limits, max relative error for normal float32 results)
CASES = {
    "exp": (np.exp, (-110.0, 95.0), 2e-7),
    "tanh": (np.tanh, (-12.0, 12.0), 2.5e-7),
    "normal_cdf": (special.ndtr, (-16.0, 16.0), 6e-7),
    "normal_pdf": (_pdf, (-16.0, 16.0), 3e-7),
}


def _vectorised(name):
    function = getattr(fastmath, name)

    @jit(fastmath=CONTRACT)
    def apply(x):
        out = np.empty_like(x)
        for i in range(x.size):
            out[i] = function(x[i])
        return out

    return apply


KERNELS = {name: _vectorised(name) for name in CASES}


def _sweep_inputs(lo, hi):
    """A dense linear grid, plus both signs of a log grid from the smallest subnormal up."""
    magnitudes = np.logspace(-45.8, math.log10(hi), 100_001).astype(np.float32)
    special_values = np.float32([0.0, -0.0, F32.tiny, -F32.tiny, 1e-45, -1e-45, 1e-40, -1e-40,
                                 F32.max, -F32.max])
    return np.concatenate([np.linspace(lo, hi, 1_000_001).astype(np.float32), magnitudes, -magnitudes,
                           special_values])


@pytest.mark.parametrize("name", list(CASES))
def test_accuracy_sweep(name):
    reference, (lo, hi), bound = CASES[name]
    x = _sweep_inputs(lo, hi)
    out = KERNELS[name](x)
    with np.errstate(over="ignore"):
        exact = reference(x.astype(np.float64))
        rounded = exact.astype(np.float32)
    assert out.dtype == np.float32
    normal = (np.abs(exact) >= F32.tiny) & (np.abs(exact) <= F32.max)
    relative = np.abs(out[normal] - exact[normal]) / np.abs(exact[normal])
    worst = int(np.argmax(relative))
    assert relative[worst] <= bound, f"{name}({x[normal][worst]!r}) relative error {relative[worst]:.3g}"
    # Results that fall among the subnormals (or round to 0) are within two subnormal steps ...
    tiny = np.abs(exact) < F32.tiny
    np.testing.assert_array_less(np.abs(out[tiny].astype(np.float64) - rounded[tiny]), 2.5 * SUBNORMAL_STEP)
    # ... and results beyond float32's range are inf.
    np.testing.assert_array_equal(out[np.abs(exact) > F32.max], rounded[np.abs(exact) > F32.max])


def test_exp_around_overflow_and_underflow():
    ln_max = np.float32(math.log(F32.max))  # 88.72284: e^x overflows float32 just above it
    last_finite = ln_max if math.exp(float(ln_max)) <= float(F32.max) else np.nextafter(ln_max, np.float32(0))
    first_inf = np.nextafter(last_finite, np.float32(100))
    ln_half_min = math.log(2.0**-150)  # below e^x = 2^-150 the result rounds to 0, above to 2^-149
    x = np.float32([last_finite, first_inf, ln_half_min - 1e-3, ln_half_min + 1e-3, 1000.0, -1000.0])
    out = KERNELS["exp"](x)
    assert np.isfinite(out[0]) and abs(out[0] / math.exp(float(last_finite)) - 1) < 2e-7
    assert out[1] == np.inf
    assert out[2] == 0 and out[3] == np.float32(2.0**-149)
    assert out[4] == np.inf and out[5] == 0


@pytest.mark.parametrize(("name", "at_inf", "at_minus_inf", "at_zero"), [
    ("exp", np.inf, 0.0, 1.0),
    ("tanh", 1.0, -1.0, 0.0),
    ("normal_cdf", 1.0, 0.0, 0.5),
    ("normal_pdf", 0.0, 0.0, 1 / math.sqrt(2 * math.pi)),
])
def test_special_values(name, at_inf, at_minus_inf, at_zero):
    out = KERNELS[name](np.float32([np.inf, -np.inf, 0.0, -0.0, np.nan, -np.nan]))
    assert out[0] == at_inf and out[1] == at_minus_inf
    assert out[2] == np.float32(at_zero) and out[3] == np.float32(at_zero)
    assert np.isnan(out[4]) and np.isnan(out[5])


def test_tanh_is_exactly_odd_and_keeps_the_sign_of_zero():
    x = np.linspace(0, 12, 200_001).astype(np.float32)
    np.testing.assert_array_equal(KERNELS["tanh"](-x), -KERNELS["tanh"](x))
    assert np.signbit(KERNELS["tanh"](np.float32([-0.0]))[0])


def test_saturation_is_exact():
    """tanh reaches exactly ±1, and normal_cdf exactly 0 and 1, once float32 cannot tell them apart."""
    big = np.float32([9.5, 20.0, 1e4, 1e30, F32.max])
    np.testing.assert_array_equal(KERNELS["tanh"](big), 1.0)
    np.testing.assert_array_equal(KERNELS["tanh"](-big), -1.0)
    np.testing.assert_array_equal(KERNELS["normal_cdf"](big[1:]), 1.0)
    np.testing.assert_array_equal(KERNELS["normal_cdf"](-big[1:]), 0.0)


def test_normal_cdf_left_tail_is_accurate_where_one_plus_erf_would_cancel():
    x = np.float32([-5.0, -8.0, -12.0])
    relative = np.abs(KERNELS["normal_cdf"](x) / special.ndtr(x.astype(np.float64)) - 1)
    assert relative.max() < 6e-7


@pytest.mark.parametrize("name", list(CASES))
def test_float64_uses_exact_libm(name):
    """In float64 the same name computes to float64 precision (what gradient checks need)."""
    reference = CASES[name][0]
    x = np.linspace(-9, 9, 2001)
    apply = KERNELS[name]
    np.testing.assert_allclose(apply(x), reference(x), rtol=4e-14, atol=0)
    assert apply(x).dtype == np.float64

