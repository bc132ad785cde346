"""How a native call ended: the codes every backend returns (cpp/status.hpp holds the same values)."""

RAN_ALL = 0  # every epoch asked for ran
CONVERGED = 1  # the tol rule (or early stopping) stopped the fit
DIVERGED = 2  # a loss or a coefficient became non-finite, or the loss grew past the growth limit
INTERRUPTED = 3  # Ctrl-C reached the kernel; the caller re-raises KeyboardInterrupt
GRADIENT_SMALL = 4  # the gtol rule stopped the fit
# Internal to the epoch's end: the tol rule saw no improvement for n_iter_no_change epochs; the
# learning-rate policy turns it into CONVERGED or into a smaller rate.  Never returned by a call.
STALLED = 5
