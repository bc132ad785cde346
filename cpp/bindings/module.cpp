// fastdescent._core: the C++ backend, registered area by area from the files of bindings/.  It
// implements fastdescent._backends.Backend; its stub is python/fastdescent/_core.pyi.
//
// Every function takes the named records of python/fastdescent/_records.py and reads them field
// by field (bindings/read_records.hpp), checking each array's dtype, layout and size: never a silent
// conversion (a copy of the fit's state would leave the caller's unchanged, pybind11#2455).
#include <pybind11/pybind11.h>

#include "bindings/register.hpp"

PYBIND11_MODULE(_core, m) {
    m.doc() = "fastdescent's C++ backend (private: use the fastdescent package)";
    m.attr("NAME") = "cpp";
    m.attr("SUMS_ON_ONE_THREAD") = false;
    fastdescent::bindings::register_objective(m);
    fastdescent::bindings::register_fit(m);
    fastdescent::bindings::register_rules(m);
    fastdescent::bindings::register_checks(m);
    fastdescent::bindings::register_build(m);
}
