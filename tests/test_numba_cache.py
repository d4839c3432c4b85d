"""Numba's kernel cache on machines where the package cannot be written, and NUMBA_DISABLE_JIT=1.

Numba caches compiled kernels next to their source. Installed read-only (a shared lab image), with a
read-only home as well, ``import minigrad`` would fail with "no locator available" unless
``minigrad/kernels/__init__.py`` points Numba at a writable folder first.
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import minigrad
from minigrad import kernels

REPO = Path(__file__).resolve().parents[1]

# A tiny kernel added to the copied package, so the test compiles in well under a second whatever the
# real kernels cost; importing minigrad also sets up the cache of every real kernel (Numba does that when
# the decorator runs, which is where a missing locator fails).
PROBE = '''
from numba import njit


@njit(cache=True)
def total(x):
    s = 0.0
    for v in x:
        s += v
    return s
'''

RUN = """
    import json, os, sys
    kernels_dir = os.path.join(sys.argv[1], "minigrad", "kernels")
    premise = not os.access(kernels_dir, os.W_OK) and not os.access(os.environ["HOME"], os.W_OK)
    import numpy as np
    import minigrad
    from minigrad.kernels import _probe
    value = _probe.total(np.arange(5.0))
    x = minigrad.tensor([[1.0, 2.0]], requires_grad=True)
    (x @ x.T).exp().sum().backward()
    print(json.dumps({"premise": premise, "value": value, "cache_dir": os.environ.get("NUMBA_CACHE_DIR"),
                      "hits": sum(_probe.total.stats.cache_hits.values()), "grad": x.grad.data.tolist()}))
"""

# Root ignores permission bits; without these capabilities it obeys them like any user.
DROP_ROOT_POWERS = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search,-fowner", "--"]


def _read_only_copy(tmp_path: Path) -> Path:
    install = tmp_path / "site"
    shutil.copytree(REPO / "minigrad", install / "minigrad", ignore=shutil.ignore_patterns("__pycache__"))
    (install / "minigrad" / "kernels" / "_probe.py").write_text(PROBE)
    return install


def _make_read_only(path: Path) -> None:
    for p in [path, *path.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _run_in(install: Path, home: Path, tmp: Path, tmp_path: Path) -> dict:
    removed = ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if k not in removed}
    env.update(HOME=str(home), TMPDIR=str(tmp), PYTHONPATH=str(install), PYTHONDONTWRITEBYTECODE="1")
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(RUN))
    command = [sys.executable, str(script), str(install)]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: cannot make a folder read-only for this process")
        command = DROP_ROOT_POWERS + command
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def writable_again(tmp_path):
    yield
    for p in [tmp_path, *tmp_path.rglob("*")]:  # let pytest clean up
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | stat.S_IWUSR)


@pytest.mark.usefixtures("writable_again")
def test_read_only_package_and_home_fall_back_to_a_private_temp_cache(tmp_path):
    install, home, tmp = _read_only_copy(tmp_path), tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    _make_read_only(install)
    _make_read_only(home)
    first = _run_in(install, home, tmp, tmp_path)
    assert first["premise"], "the package and HOME must really be read-only for this test to mean anything"
    assert first["value"] == 10.0
    np.testing.assert_allclose(first["grad"], [[2 * np.exp(5.0), 4 * np.exp(5.0)]], rtol=1e-6)  # 2x e^(x.x)
    cache_dir = Path(first["cache_dir"])
    assert cache_dir.parent == tmp and list(cache_dir.rglob("*.nbi"))  # the kernel was cached there
    again = _run_in(install, home, tmp, tmp_path)
    assert again["cache_dir"] == first["cache_dir"] and again["hits"] >= 1  # and loaded from it next time


@pytest.mark.usefixtures("writable_again")
def test_read_only_package_with_a_writable_home_uses_the_user_cache(tmp_path):
    install, home, tmp = _read_only_copy(tmp_path), tmp_path / "home", tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    _make_read_only(install)
    result = _run_in(install, home, tmp, tmp_path)
    assert result["value"] == 10.0
    assert Path(result["cache_dir"]) == home / ".cache" / "minigrad" / "numba"


def test_a_shared_temp_folder_someone_else_could_write_is_not_trusted(tmp_path, monkeypatch):
    shared = tmp_path / f"minigrad-numba-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("HOME", os.devnull)  # no user cache folder can be made under a file
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    chosen = Path(kernels._user_cache_dir())
    assert chosen != shared and chosen.parent == tmp_path
    assert stat.S_IMODE(chosen.stat().st_mode) & 0o077 == 0
    shared.chmod(0o700)
    assert Path(kernels._user_cache_dir()) == shared  # once private, it is reused


def test_numba_cache_dir_from_the_environment_is_respected(monkeypatch, tmp_path):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    kernels.configure_numba_cache()
    assert os.environ["NUMBA_CACHE_DIR"] == str(tmp_path)


DISABLED_JIT = """
    import json
    import numpy as np
    import minigrad
    a = minigrad.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    b = minigrad.tensor(np.linspace(0.5, -0.5, 8).reshape(4, 2), requires_grad=True)
    loss = (a @ b).exp().sum()
    loss.backward()
    print(json.dumps({"loss": loss.item(), "a": a.grad.data.tolist(), "b": b.grad.data.tolist()}))
"""


def test_numba_disable_jit_gives_the_same_numbers(tmp_path):
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1",
           "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(DISABLED_JIT))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    interpreted = json.loads(result.stdout.strip().splitlines()[-1])

    a = minigrad.tensor(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    b = minigrad.tensor(np.linspace(0.5, -0.5, 8).reshape(4, 2), requires_grad=True)
    loss = (a @ b).exp().sum()
    loss.backward()
    np.testing.assert_allclose(interpreted["loss"], loss.item(), rtol=1e-6)
    np.testing.assert_allclose(interpreted["a"], a.grad.data, rtol=1e-6)
    np.testing.assert_allclose(interpreted["b"], b.grad.data, rtol=1e-6)
    # And both are right: checked against NumPy in float64.
    av, bv = a.data.astype(np.float64), b.data.astype(np.float64)
    e = np.exp(av @ bv)
    np.testing.assert_allclose(loss.item(), e.sum(), rtol=1e-5)
    np.testing.assert_allclose(a.grad.data, e @ bv.T, rtol=1e-5)
    np.testing.assert_allclose(b.grad.data, av.T @ e, rtol=1e-5)


BODY = '''
from minigrad.kernels.loops import item_loops, per_item


@per_item
def _double(i, x, y):
    y[i] = {factor} * x[i]


DOUBLE = item_loops(_double, 1 << 30)
'''
RUN_BODY = """
import sys
import numpy as np
sys.path.insert(0, {folder!r})
from body import DOUBLE
x, y = np.arange(3.0), np.zeros(3)
DOUBLE.serial(3, x, y)
print(y.tolist())
"""


def test_a_changed_loop_body_is_compiled_again_not_taken_from_the_cache(tmp_path):
    """The loops of item_loops are defined in loops.py and cached under it; a body from another file must
    still be recompiled when that file changes (after an edit or a git pull), not run from the stale cache."""
    folder, cache = tmp_path / "module", tmp_path / "cache"
    folder.mkdir()
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(REPO))
    results = []
    for factor in (2.0, 3.0):
        (folder / "body.py").write_text(BODY.format(factor=factor))
        out = subprocess.run([sys.executable, "-c", RUN_BODY.format(folder=str(folder))], env=env,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        results.append(out.stdout.strip())
    assert any(cache.rglob("*.nbi")), "the loops were not cached, so this test would prove nothing"
    assert results == ["[0.0, 2.0, 4.0]", "[0.0, 3.0, 6.0]"]
