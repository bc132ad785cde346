"""The units a fit is made of, each defined once for the numpy reference and the Numba backend.

A unit is a small function of named records: an update rule (``rules/``), a loss (``losses/``), a
penalty (``penalties/``), and the pieces of a step and of an epoch's end that every rule shares
(``objective``, ``averaging``, ``stopping``, ``rate_policy``).  Each is written once, in the subset
of Python that both numpy and Numba run:

- element-wise code takes an index ``i``: the numpy reference passes a slice (or ``...``) and runs it
  on whole arrays; Numba compiles it and calls it from a loop, one element at a time.  Every
  operation is one correctly rounded IEEE operation either way, so the bits agree;
- reductions go through ``primitives`` (the canonical lane dot product, a clip), whose numpy
  definitions Numba replaces by its own compiled ones (``_numba/primitives.py``, ``@overload``);
- scalars arrive in the working dtype (numpy scalars of T), never as Python floats, so no float64
  enters a float32 expression in either backend.

The C++ kernels mirror each unit in a header of the same name under ``cpp/``.
"""
