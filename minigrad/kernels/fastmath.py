r"""Fast float32 ``exp``, ``tanh`` and the normal distribution's CDF and PDF, for Numba kernels.

Numba from PyPI has no vector math library: ``math.exp`` inside a loop is one libm call per element, and
the loop cannot use the CPU's vector units. Written as plain float arithmetic (a few multiplies, adds, one
division, integer bit operations and selects instead of branches), the same functions compile to vector
code: measured on 10M float32 elements with one thread, ``exp`` runs at about 1 Gelem/s here against
0.2 Gelem/s for libm in Numba and 0.5 for NumPy.

How each function works (all arithmetic in float32, so that a 256-bit vector holds eight lanes):

* ``exp``: write :math:`x = k \ln 2 + r` with integer :math:`k` and :math:`|r| \le \tfrac12 \ln 2`, so
  :math:`e^x = 2^k e^r`. The subtraction :math:`x - k \ln 2` uses :math:`\ln 2` split into a short high
  part (exact when multiplied by :math:`k`) and a low part, so :math:`r` is accurate. :math:`e^r` is a
  degree-6 polynomial; :math:`2^k` is built directly from its exponent bits. Scaling by two factors
  :math:`2^{\lfloor k/2 \rfloor} 2^{k - \lfloor k/2 \rfloor}` lets overflow give ``inf`` and tiny
  results fade through the subnormals to 0 instead of wrapping around.
* ``tanh``: :math:`x + x^3 P(x^2)` for :math:`|x| < \tfrac12`; beyond,
  :math:`\operatorname{sign}(x)\,\bigl(1 - 2/(e^{2|x|} + 1)\bigr)`, which saturates to :math:`\pm 1`.
* ``normal_cdf`` (:math:`\Phi(x) = \tfrac12 \operatorname{erfc}(-x/\sqrt2)`, for the exact GELU): a polynomial
  :math:`z P(z^2)` near 0; in the tails :math:`\operatorname{erfc}(a) = e^{-a^2} M(a)` with :math:`M` a
  polynomial in :math:`t = 1/(1 + a/2)`. Computing the tail directly, never as ``1 - erf``, keeps
  :math:`\Phi(x)` accurate *relative to its size* far out in the left tail, where
  ``0.5 * (1 + erf(x / sqrt(2)))`` would be all rounding error. The exponent :math:`-a^2` is passed to
  ``exp`` as an exact high part plus a small low part (:math:`a` is split into its top 12 bits and the
  rest), because rounding :math:`a^2` to float32 would cost a relative error of :math:`a^2 \cdot 2^{-24}`.

The polynomial coefficients are our own fits: Lawson's iteratively reweighted least squares, which
converges to the minimax (smallest maximum *relative* error) polynomial, on 20,000-60,000 points of each
interval, then rounded to float32. Fit errors are below 1.5e-8; what remains is float32 rounding.

**Measured accuracy** (``tests/test_fastmath.py`` checks these over dense grids against float64
references, including ±0, ±inf, NaN, subnormal inputs and the overflow thresholds): the maximum relative
error against the exact value, over all inputs whose result is a normal float32 number, is

==============  ===============================================================================
``exp``         1.2e-7 (about 1 ulp); results among the subnormals within 1 subnormal step
``tanh``        1.7e-7
``normal_cdf``  4.1e-7, all the way down the left tail to where :math:`\Phi` leaves the normal
                numbers (:math:`x \approx -13`)
``normal_pdf``  2.1e-7
==============  ===============================================================================

**float64 is exact, not fast.** Gradient checks run in float64 and need float64 precision, which these
float32 polynomials cannot give. So each function here is *one name with two implementations*, chosen by
the argument's type when Numba compiles a kernel (``numba.extending.overload``): float32 gets the fast
approximation, float64 gets libm (``np.exp``, ``np.tanh``, ``math.erfc``), within an ulp or
two; ``normal_cdf`` also rounds :math:`x/\sqrt2`, which costs a relative error growing like
:math:`x^2 \cdot 10^{-16}` in the left tail (1.3e-14 at :math:`x = -8`). A kernel is written once and
compiled for each dtype. With ``NUMBA_DISABLE_JIT=1`` the same choice is made in plain Python by
:func:`isinstance`.

Numba's on-disk cache does not track imports: after editing this file, delete the ``__pycache__`` entries
of the elementwise kernels (``minigrad/kernels/__pycache__/elementwise*.nb*``), or they keep the old code.
The row kernels' loops (softmax, layer norm) notice a change here by themselves (``loops.item_loops``).
"""

import math

import numpy as np
from numba import types
from numba.extending import overload

from minigrad.kernels.loops import CONTRACT, OPTIONS, jit

# The elementwise kernels' options (minigrad/kernels/loops.py): a loop vectorises only if no division can
# raise. LLVM inlines the small functions into the kernels' loops by itself; the two largest it would leave
# as calls (and the loop scalar), so Numba pastes those into their callers (inline="always", slower to
# compile).
_scalar = jit(fastmath=CONTRACT)
_inlined = jit(fastmath=CONTRACT, inline="always")
_IN_KERNEL = {"fastmath": set(CONTRACT), "error_model": OPTIONS["error_model"]}  # the overloads' options

_f32 = np.float32
_ZERO, _HALF, _ONE, _TWO = _f32(0.0), _f32(0.5), _f32(1.0), _f32(2.0)
_SQRT1_2_64, _INV_SQRT_2PI_64 = 1 / math.sqrt(2), 1 / math.sqrt(2 * math.pi)
_SQRT1_2, _INV_SQRT_2PI = _f32(_SQRT1_2_64), _f32(_INV_SQRT_2PI_64)

# exp: ln 2 = _LN2_HI + _LN2_LO, with _LN2_HI = 355/512 so that k * _LN2_HI is exact for |k| < 2^15.
_LOG2E = _f32(1 / math.log(2))
_LN2_HI = _f32(355 / 512)
_LN2_LO = _f32(math.log(2) - 355 / 512)
_EXP_MAX, _EXP_MIN = _f32(89.0), _f32(-105.0)  # e^89 overflows float32; e^-105 rounds to 0
_EXP = tuple(_f32(c) for c in (0.4999999403953552, 0.1666652113199234, 0.04166838899254799,
                               0.008368710055947304, 0.0013814599951729178))
_BIAS, _MANTISSA_BITS, _ONE_BIT = np.int32(127), np.int32(23), np.int32(1)
_TOP_12_BITS = np.int32(-4096)  # 0xFFFFF000: keeps the sign, exponent and top 12 bits of a float32

_TANH_SMALL, _TANH_MAX = _f32(0.5), _f32(10.0)  # tanh(10) rounds to 1 in float32
_TANH = tuple(_f32(c) for c in (-0.333331435918808, 0.13325878977775574, -0.05304549261927605,
                                0.01724148355424404))

_ERF_SMALL, _CDF_MAX = _f32(0.5), _f32(15.0)  # Phi(-15) underflows float32
_ERF = tuple(_f32(c) for c in (1.1283791065216064, -0.37612608075141907, 0.11282822489738464,
                               -0.02675718441605568, 0.0047179884277284145))
# erfc(a) e^{a^2} = t * (c0 + c1 t + ... + c9 t^9) with t = 1 / (1 + a/2), for 0.5 <= a <= 11.
_ERFCX = tuple(_f32(c) for c in (0.2820883095264435, 0.28227484226226807, 0.24470286071300507,
                                 0.1902991682291031, 0.028179435059428215, 0.13017088174819946,
                                 -0.23946087062358856, 0.03319243714213371, 0.0823984444141388,
                                 -0.03387675806879997))


# --- float32 approximations ---------------------------------------------------------------------------

@_scalar
def _exp_f32(hi, lo):
    """:math:`e^{hi + lo}` where ``lo`` is a small correction to ``hi`` (0 for a plain exp)."""
    x = hi + lo
    clamped = hi if hi < _EXP_MAX else _EXP_MAX  # NaN also lands here; it is restored at the end
    clamped = clamped if clamped > _EXP_MIN else _EXP_MIN
    kf = np.floor(clamped * _LOG2E + _HALF)
    r = (clamped - kf * _LN2_HI) + lo - kf * _LN2_LO
    c2, c3, c4, c5, c6 = _EXP
    p = _ONE + r + r * r * (c2 + r * (c3 + r * (c4 + r * (c5 + r * c6))))
    k = np.int32(kf)
    k1 = k >> _ONE_BIT
    scale1 = np.int32((k1 + _BIAS) << _MANTISSA_BITS).view(np.float32)  # 2^k1, from its exponent bits
    scale2 = np.int32((k - k1 + _BIAS) << _MANTISSA_BITS).view(np.float32)
    y = p * scale1 * scale2
    return y if x == x else x


@_scalar
def _top_bits(a):
    """``a`` with all but the top 12 significant bits cleared, so that ``a * a`` is exact."""
    return np.int32(np.float32(a).view(np.int32) & _TOP_12_BITS).view(np.float32)


@_scalar
def _erfc_tail(a, hi, lo):
    r""":math:`\operatorname{erfc}(a)` for :math:`a \ge 1/2`, given :math:`-a^2 = hi + lo`."""
    t = _ONE / (_ONE + _HALF * a)
    c0, c1, c2, c3, c4, c5, c6, c7, c8, c9 = _ERFCX
    upper = c5 + t * (c6 + t * (c7 + t * (c8 + t * c9)))
    m = t * (c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * upper)))))
    return _exp_f32(hi, lo) * m


@_scalar
def _erf_small(z):
    r""":math:`\operatorname{erf}(z)` for :math:`|z| < 1/2`."""
    z2 = z * z
    c0, c1, c2, c3, c4 = _ERF
    return z * (c0 + z2 * (c1 + z2 * (c2 + z2 * (c3 + z2 * c4))))


@_scalar
def _exp32(x):
    return _exp_f32(x, _ZERO)


@_scalar
def _tanh32(x):
    a = abs(x)
    a = a if a < _TANH_MAX else _TANH_MAX
    x2 = x * x
    c0, c1, c2, c3 = _TANH
    small = x + x * x2 * (c0 + x2 * (c1 + x2 * (c2 + x2 * c3)))
    large = _ONE - _TWO / (_exp_f32(_TWO * a, _ZERO) + _ONE)
    y = small if a < _TANH_SMALL else (large if x > _ZERO else -large)
    return y if abs(x) > _ZERO else x  # x itself for ±0 (keeping the sign) and for NaN


@_inlined
def _normal_cdf32(x):
    a = abs(x)
    a = a if a < _CDF_MAX else _CDF_MAX
    head = _top_bits(a)  # -a^2/2 = hi + lo, exactly enough; see the module docstring
    left_tail = _HALF * _erfc_tail(a * _SQRT1_2, -_HALF * head * head, -_HALF * (a - head) * (a + head))
    middle = _HALF + _HALF * _erf_small(x * _SQRT1_2)
    y = middle if a * _SQRT1_2 < _ERF_SMALL else (left_tail if x < _ZERO else _ONE - left_tail)
    return y if x == x else x


@_scalar
def _normal_pdf32(x):
    a = abs(x)
    a = a if a < _CDF_MAX else _CDF_MAX
    head = _top_bits(a)
    y = _exp_f32(-_HALF * head * head, -_HALF * (a - head) * (a + head)) * _INV_SQRT_2PI
    return y if x == x else x


# --- float64: libm, exact ----------------------------------------------------------------------------------

@_scalar
def _exp64(x):
    return np.exp(x)


@_scalar
def _tanh64(x):
    return np.tanh(x)


@_scalar
def _normal_cdf64(x):
    return 0.5 * math.erfc(-x * _SQRT1_2_64)


@_scalar
def _normal_pdf64(x):
    return math.exp(-0.5 * x * x) * _INV_SQRT_2PI_64


# --- one name per function, dispatching on the argument's type ---------------------------------------------

def _by_dtype(fast32, exact64, name: str, doc: str):
    """A scalar function running ``fast32`` on float32 and ``exact64`` on float64, in Numba and Python."""

    def function(x):
        return fast32(x) if isinstance(x, np.float32) else exact64(x)

    @overload(function, inline="always", jit_options=_IN_KERNEL)  # inside a kernel: pick by type
    def _typed(x):
        if x == types.float32:
            return lambda x: fast32(x)
        if x == types.float64:
            return lambda x: exact64(x)
        return None

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


exp = _by_dtype(_exp32, _exp64, "exp",
                r":math:`e^x`; in float32 inf above 88.72, and 0 below -103.97.")
tanh = _by_dtype(_tanh32, _tanh64, "tanh",
                 "Hyperbolic tangent; exactly ±1 once float32 cannot tell it apart.")
normal_cdf = _by_dtype(_normal_cdf32, _normal_cdf64, "normal_cdf",
                       r"Standard normal CDF :math:`\Phi(x) = \tfrac12(1 + \operatorname{erf}(x/\sqrt2))`, "
                       "accurate relative to its size in the left tail.")
normal_pdf = _by_dtype(_normal_pdf32, _normal_pdf64, "normal_pdf",
                       r"Standard normal density :math:`\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}`.")
