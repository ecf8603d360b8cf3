"""References that need no g++: hls4ml 1.3.0's arithmetic written out plainly in Python.

``apfixed`` is the ``ap_fixed``/``ap_int`` assignment from an exact rational
(Python ints and ``fractions.Fraction``, no numpy, no numba); ``nnet`` builds
hls4ml's Dense, sigmoid/tanh/relu tables and the GRU/LSTM cell steps on top of it,
one scalar operation at a time, as the templates under
``hls4ml/templates/vivado/nnet_utils`` write them. Slow and obvious on purpose:
the property tests compare fxsim's kernels against these on small random layers.
"""
