"""minigrad.profiler: the right rows with the right counts, self time that adds up, nothing left behind."""

import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F
import minigrad.ops.arithmetic
from minigrad.engine import Profiling
from minigrad.nn.transformer import ACTIVATIONS
from minigrad.profiler import operations, profile, record_function


def rows(prof):
    return {(row.name, row.kind): row for row in prof.key_averages()}


def test_counts_each_operation_forward_and_backward():
    x = minigrad.tensor(np.ones((3, 4), dtype=np.float32), requires_grad=True)
    with profile() as prof:
        y = x * 2
        z = (y + 1).sum()
        z.backward()
        (x * 3).sum()  # a second mul and sum without backward
    found = rows(prof)
    assert found["mul", "forward"].calls == 2
    assert found["add", "forward"].calls == 1
    assert found["sum", "forward"].calls == 2
    assert found[y.grad_fn.name, "backward"].calls == 1
    assert found[z.grad_fn.name, "backward"].calls == 1
    assert found["mul", "forward"].bytes == 2 * 3 * 4 * 4  # two float32 (3, 4) results
    assert found[y.grad_fn.name, "backward"].bytes == 3 * 4 * 4  # one float32 gradient for x
    assert {kind for _, kind in found} == {"forward", "backward"}


def test_self_time_excludes_the_operations_called_inside():
    """F.linear on a 3-d input is an operation that calls other operations (reshape, matmul...): its
    total time includes theirs, its self time does not, and no time is counted twice."""
    layer = nn.Linear(16, 8)
    x = minigrad.randn(4, 5, 16)
    with profile() as prof, record_function("block"):
        for _ in range(3):
            F.softmax(layer(x), dim=-1).sum().backward()
    table = prof.key_averages()
    assert all(0 <= row.self_time <= row.total_time for row in table)
    assert sum(row.self_time for row in table) <= table.wall_time
    block = rows(prof)["block", "range"]
    assert block.calls == 1 and block.total_time <= table.wall_time
    others = sum(row.self_time for row in table if row.kind != "range")
    assert block.self_time == pytest.approx(block.total_time - others, rel=1e-9, abs=1e-12)


def test_nested_operations_give_their_time_to_their_own_rows():
    def outer(x):
        return minigrad.ops.arithmetic.mul(x, 2)  # an "operation" that calls another

    x = minigrad.randn(100)
    with profile() as prof:
        prof._record("outer", "forward", lambda: outer(x), lambda out: out.data.nbytes)
    found = rows(prof)
    assert found["outer", "forward"].self_time + found["mul", "forward"].total_time == pytest.approx(
        found["outer", "forward"].total_time)


def test_a_helper_without_a_row_passes_its_childrens_time_up():
    """A function that returns no tensor gets no row; the operations it called keep theirs, and its caller's
    self time excludes them (and includes the helper's own time)."""
    x = minigrad.randn(100)

    def helper():
        minigrad.ops.arithmetic.mul(x, 2)
        return 7  # not a tensor: a helper

    def outer():
        prof._record("helper", "forward", helper, lambda out: None)
        return x

    with profile() as prof:
        prof._record("outer", "forward", outer, lambda out: out.data.nbytes)
    found = rows(prof)
    assert ("helper", "forward") not in found
    assert found["outer", "forward"].self_time + found["mul", "forward"].total_time == pytest.approx(
        found["outer", "forward"].total_time)


def test_every_operation_is_put_back_even_after_an_error():
    before = {name: getattr(F, name) for name in ("softmax", "gelu", "linear")}
    add, gelu_entry = minigrad.ops.arithmetic.add, ACTIVATIONS["gelu"]
    with pytest.raises(KeyError, match="raised inside"), profile():
        assert F.softmax is not before["softmax"]  # replaced while running...
        assert ACTIVATIONS["gelu"] is not gelu_entry  # ...in tables of operations too
        raise KeyError("raised inside the profiled block")
    assert {name: getattr(F, name) for name in before} == before
    assert minigrad.ops.arithmetic.add is add and ACTIVATIONS["gelu"] is gelu_entry
    assert Profiling.current is None


def test_operations_inside_the_library_are_profiled():
    """A transformer block reaches GELU through a table and attention through the functional module."""
    from minigrad.nn.transformer import TransformerBlock

    block = TransformerBlock(16, 2, 32)
    x = minigrad.randn(2, 5, 16)
    with profile() as prof:
        block(x, is_causal=True).sum().backward()
    names = {name for name, _ in rows(prof)}
    assert {"gelu", "layer_norm", "scaled_dot_product_attention", "linear"} <= names


def test_results_are_unchanged():
    x = minigrad.randn(6, 7)
    expected = F.log_softmax(x * 3, dim=1).numpy()
    with profile():
        got = F.log_softmax(x * 3, dim=1).numpy()
    np.testing.assert_array_equal(got, expected)


def test_helpers_that_return_no_tensor_get_no_row():
    ops = operations()
    assert F.conv2d in ops and minigrad.ops.arithmetic.add in ops
    assert minigrad.ops.common.unbroadcast not in ops  # the shared helpers are not operations
    x = minigrad.randn(2, 3, 8, 8)
    weight = minigrad.randn(4, 3, 3, 3)
    with profile() as prof:
        F.conv2d(x, weight, padding=1)
    assert set(rows(prof)) == {("conv2d", "forward")}


def test_one_profiler_at_a_time_and_record_function_alone_does_nothing():
    with record_function("nothing running"):
        pass
    with profile(), pytest.raises(RuntimeError, match="already running"), profile():
        pass
    assert Profiling.current is None


def test_table_sorts_limits_and_explains():
    x = minigrad.randn(50, 50, requires_grad=True)
    with profile() as prof:
        for _ in range(5):
            (x @ x).relu().sum().backward()
    table = prof.key_averages().table(sort_by="calls", row_limit=3)
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["name", "pass", "calls"]
    assert len(lines) == 2 + 3 + 2  # header, rule, 3 rows, rule, summary
    assert "3 of 6 rows" in lines[-1] and "outside every row" in lines[-1]
    assert [int(line.split()[2]) for line in lines[2:5]] == [5, 5, 5]
    assert prof.key_averages().table(sort_by="self_cpu_time_total")  # PyTorch's name
    with pytest.raises(ValueError, match="sort_by must be one of"):
        prof.key_averages().table(sort_by="time")
