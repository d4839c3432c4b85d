"""The README's main job: the demo trains and its loss falls far below chance."""

import math
import subprocess
import sys

from minigrad import demo


def test_demo_loss_falls_far_below_chance():
    losses = demo.main(steps=120)
    assert losses[0] > 0.9 * math.log(3)  # starts near chance: ln 3 for three classes
    assert losses[-1] < 0.2 * math.log(3)
    assert all(b < a * 1.05 for a, b in zip(losses[::20], losses[20::20]))  # falls, give or take noise


def test_demo_runs_as_the_readme_says():
    result = subprocess.run([sys.executable, "-m", "minigrad.demo"], capture_output=True, text=True,
                            timeout=300, check=True)
    assert "step  300" in result.stdout and "Done in" in result.stdout
