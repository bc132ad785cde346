// How this extension was built and which SIMD build it runs: build_info, select_simd.
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "bindings/register.hpp"
#include "dispatch.hpp"
#include "parallel.hpp"

namespace fastdescent {
namespace bindings {
namespace {

using namespace pybind11::literals;

py::dict build_info() {
    py::dict info;
#if defined(__clang__)
    info["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    info["compiler"] = std::string("gcc ") + __VERSION__;
#elif defined(_MSC_VER)
    info["compiler"] = "msvc " + std::to_string(_MSC_VER);
#else
    info["compiler"] = "unknown";
#endif
    // The path a call takes now, and every build compiled in with whether this CPU runs it.
    try {
        info["simd"] = current_simd().name;
    } catch (const std::invalid_argument& error) {
        info["simd"] = std::string("none: ") + error.what();
    }
    py::list builds;
    for (const SimdOption& option : simd_builds()) builds.append(py::make_tuple(option.build->name, option.supported));
    info["simd_builds"] = builds;
    info["cores"] = usable_cores();
    return info;
}

}  // namespace

void register_build(py::module_& m) {
    try {  // FASTDESCENT_SIMD is read now, once; an unusable value is the error of every kernel call
        current_simd();
    } catch (const std::invalid_argument&) {
    }
    m.def("build_info", &build_info, "How this extension was compiled, and the SIMD build in use");
    m.def("select_simd", [](const std::string& name) { select_simd(name); }, "name"_a,
          "Use this SIMD build from now on ('auto': the default choice for this CPU)");
}

}  // namespace bindings
}  // namespace fastdescent
