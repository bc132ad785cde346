"""The errors fastdescent raises besides ValueError and TypeError."""


class DivergenceError(FloatingPointError, ValueError):
    """A fit whose loss became NaN or infinite, or grew without bound; it stopped instead of
    returning such coefficients.  A ValueError too, as scikit-learn raises for overflow."""
