"""Pictures and interactive widgets the chapters use: graph drawings, curves, sliders.

Each widget is a plain function of the slider values (it computes with minigrad, draws, and returns what it
computed), wrapped by ``ipywidgets.interactive`` in the notebook; the tests call the function directly.
matplotlib and ipywidgets come with the ``notebooks`` extra; nothing in the core imports this package.
"""
