"""How the families of units (rules, losses, penalties) register their modules.

Each unit's records are renamed after it (``adam.State``, ``sgd.Table``): Numba's dispatcher keys
the types of its arguments by a fingerprint made of a record's class *name* and field names, not
of the class itself.  Two units with a record of the same name and fields (``Table()``, which
sgd and rmsprop both have) shared a fingerprint; whichever was typed first owned it, and every call
with the other went through Numba's slow path of typing the arguments in Python and resolving the
overload again: 100-200 microseconds a call, order-dependent (measured on ``optim`` steps).
"""

from __future__ import annotations

from types import ModuleType


def by_name(*units: ModuleType) -> dict[str, ModuleType]:
    registered = {}
    for unit in units:
        if unit.NAME in registered:
            raise RuntimeError(f"two units named {unit.NAME!r}: {registered[unit.NAME].__name__}, {unit.__name__}")
        registered[unit.NAME] = unit
        for record in vars(unit).values():
            if isinstance(record, type) and issubclass(record, tuple) and record.__module__ == unit.__name__:
                record.__name__ = f"{unit.NAME}.{record.__qualname__}"
    return registered
