// Which SIMD builds this CPU can run, and which one a call uses.
#include "dispatch.hpp"

#include <cstdlib>
#include <stdexcept>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <immintrin.h>
#include <intrin.h>
#endif

namespace fastdescent {

extern const SimdBuild simd_baseline;
#if FASTDESCENT_X86_BUILDS
extern const SimdBuild simd_avx2;
extern const SimdBuild simd_avx512;
#endif

namespace {

#if FASTDESCENT_X86_BUILDS
bool cpu_has(const char* feature) {
#if defined(__GNUC__) || defined(__clang__)
    // libgcc's CPU model also checks that the OS saves the wide registers (XCR0).
    __builtin_cpu_init();
    if (std::string(feature) == "avx2") return __builtin_cpu_supports("avx2");
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw");
#elif defined(_MSC_VER)
    int info[4];
    __cpuid(info, 0);
    if (info[0] < 7) return false;
    __cpuid(info, 1);
    const bool osxsave = (info[2] & (1 << 27)) != 0;
    if (!osxsave) return false;
    const unsigned long long xcr0 = _xgetbv(0);
    __cpuidex(info, 7, 0);
    if (std::string(feature) == "avx2") return (xcr0 & 0x6) == 0x6 && (info[1] & (1 << 5));
    const int avx512 = (1 << 16) | (1 << 17) | (1 << 30) | (1 << 31);  // F, DQ, BW, VL
    return (xcr0 & 0xe6) == 0xe6 && (info[1] & avx512) == avx512;
#else
    (void)feature;
    return false;
#endif
}
#endif

}  // namespace

std::vector<SimdOption> simd_builds() {
    std::vector<SimdOption> builds{{&simd_baseline, true}};
#if FASTDESCENT_X86_BUILDS
    static const bool avx2 = cpu_has("avx2"), avx512 = cpu_has("avx512");
    builds.push_back({&simd_avx2, avx2});
    builds.push_back({&simd_avx512, avx512});
#endif
    return builds;
}

const SimdBuild& current_simd() {
    const std::vector<SimdOption> builds = simd_builds();
    const char* forced = std::getenv("FASTDESCENT_SIMD");
    if (forced != nullptr && *forced != '\0' && std::string(forced) != "auto") {
        std::string known;
        for (const SimdOption& option : builds) {
            if (std::string(forced) == option.build->name) {
                if (!option.supported)
                    throw std::invalid_argument(std::string("FASTDESCENT_SIMD=") + forced +
                                                ": this CPU cannot run that build");
                return *option.build;
            }
            known += (known.empty() ? "" : ", ") + std::string(option.build->name);
        }
        throw std::invalid_argument(std::string("FASTDESCENT_SIMD=") + forced + " is not one of: auto, " + known);
    }
    const SimdBuild* best = builds.front().build;
    for (const SimdOption& option : builds)
        if (option.supported) best = option.build;
    return *best;
}

}  // namespace fastdescent
