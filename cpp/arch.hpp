// The kernels are compiled once per SIMD target (arch_*.cpp), each time with that target's compiler
// flags and inside its own inline namespace, so the copies never meet at link time (one definition
// rule) and the dispatcher (dispatch.hpp) can pick one at run time.
#pragma once

#ifndef FASTDESCENT_ARCH
#define FASTDESCENT_ARCH baseline
#endif
