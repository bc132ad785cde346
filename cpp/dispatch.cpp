// Which SIMD builds this CPU can run, and which one a call uses.
#include "dispatch.hpp"

#include <cstdlib>
#include <stdexcept>

#if defined(_MSC_VER) && (defined(_M_X64) || defined(_M_IX86))
#include <immintrin.h>
#include <intrin.h>
#elif (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif
#include <cstring>
#include <mutex>
#include <string>

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

// cpuid leaf `leaf` (sub-leaf 0) into abcd; false where the CPU has no such leaf.
bool cpuid(unsigned leaf, unsigned abcd[4]) {
#if defined(_MSC_VER)
    int info[4];
    __cpuid(info, 0);
    if (static_cast<unsigned>(info[0]) < leaf) return false;
    __cpuidex(info, static_cast<int>(leaf), 0);
    for (int k = 0; k < 4; ++k) abcd[k] = static_cast<unsigned>(info[k]);
    return true;
#elif defined(__GNUC__) || defined(__clang__)
    return __get_cpuid_count(leaf, 0, &abcd[0], &abcd[1], &abcd[2], &abcd[3]) != 0;
#else
    (void)leaf;
    (void)abcd;
    return false;
#endif
}

// AMD family 19h with AVX-512 is Zen 4 (Zen 3, the same family, has no AVX-512 and never gets
// here): it runs a 512-bit operation as two 256-bit halves, so the AVX-512 build of the sums over
// rows computes no faster than the AVX2 one, and it streams X from memory slower (1.2-1.4x on
// full-batch descent, measured: docs/simd-and-threads.md).  The element-wise kernels that Python
// calls by themselves (fastdescent.optim's steps, the NaN/inf check) still gain from the wider
// build; a whole fit, its steps included, runs in run_epochs.  Family 1Ah (Zen 5) has full-width
// units and is left to the widest build until it is measured.
bool sums_rows_faster_in_256_bits() {
    unsigned abcd[4];
    if (!cpuid(0, abcd)) return false;
    char vendor[13] = {};
    std::memcpy(vendor, &abcd[1], 4);
    std::memcpy(vendor + 4, &abcd[3], 4);
    std::memcpy(vendor + 8, &abcd[2], 4);
    if (std::strcmp(vendor, "AuthenticAMD") != 0 || !cpuid(1, abcd)) return false;
    const unsigned base_family = (abcd[0] >> 8) & 0xf, extended_family = (abcd[0] >> 20) & 0xff;
    return base_family + (base_family == 0xf ? extended_family : 0) == 0x19;
}

// The kernels of `base` with its sums over rows (the fits, the objective, the row sums) taken from `rows`.
template <class T>
Kernels<T> with_row_kernels(Kernels<T> base, const Kernels<T>& rows) {
    base.row_sums = rows.row_sums;
    base.objectives = rows.objectives;
    base.fits = rows.fits;
    return base;
}

// Every build returns the same bits, so mixing two changes only the speed.  Listed with the others
// (FASTDESCENT_SIMD names it, the tests run it on every CPU with AVX-512); auto picks it on Zen 4.
const SimdBuild& avx512_with_avx2_sums() {
    static const SimdBuild mixed{"avx512-sums-avx2", with_row_kernels(simd_avx512.f32, simd_avx2.f32),
                                 with_row_kernels(simd_avx512.f64, simd_avx2.f64)};
    return mixed;
}

struct CpuFeatures {
    bool avx2 = cpu_has("avx2"), avx512 = cpu_has("avx512"), sums_in_256_bits = sums_rows_faster_in_256_bits();
};

const CpuFeatures& cpu() {
    static const CpuFeatures features;
    return features;
}
#endif

}  // namespace

const std::vector<SimdOption>& simd_builds() {
    static const std::vector<SimdOption> builds = [] {
        std::vector<SimdOption> all{{&simd_baseline, true}};
#if FASTDESCENT_X86_BUILDS
        all.push_back({&simd_avx2, cpu().avx2});
        all.push_back({&simd_avx512, cpu().avx512});
        all.push_back({&avx512_with_avx2_sums(), cpu().avx512 && cpu().avx2});
#endif
        return all;
    }();
    return builds;
}

namespace {

const SimdBuild& widest_supported() {
#if FASTDESCENT_X86_BUILDS
    if (cpu().avx512) return cpu().sums_in_256_bits && cpu().avx2 ? avx512_with_avx2_sums() : simd_avx512;
    if (cpu().avx2) return simd_avx2;
#endif
    return simd_baseline;
}

// The choice, made once: a build, or the error that naming an unusable one was.
struct Choice {
    std::mutex lock;
    const SimdBuild* build = nullptr;
    std::string error;
};

void choose(Choice& into, const std::string& name, const std::string& source) {
    std::lock_guard<std::mutex> hold(into.lock);
    into.build = nullptr;
    into.error.clear();
    if (name.empty() || name == "auto") {
        into.build = &widest_supported();
        return;
    }
    std::string known;
    for (const SimdOption& option : simd_builds()) {
        if (name == option.build->name) {
            if (option.supported) {
                into.build = option.build;
                return;
            }
            into.error = source + "=" + name + ": this CPU cannot run that build";
            throw std::invalid_argument(into.error);
        }
        known += (known.empty() ? "" : ", ") + std::string(option.build->name);
    }
    into.error = source + "=" + name + " is not one of: auto, " + known;
    throw std::invalid_argument(into.error);
}

Choice& choice() {
    static Choice* const made = [] {
        auto* first = new Choice;  // never destroyed: kernels may run while the process exits
        const char* forced = std::getenv("FASTDESCENT_SIMD");
        try {
            choose(*first, forced == nullptr ? "auto" : forced, "FASTDESCENT_SIMD");
        } catch (const std::invalid_argument&) {  // kept: every kernel call reports it
        }
        return first;
    }();
    return *made;
}

}  // namespace

void select_simd(const std::string& name, const std::string& source) { choose(choice(), name, source); }

const SimdBuild& current_simd() {
    Choice& now = choice();
    std::lock_guard<std::mutex> hold(now.lock);
    if (now.build == nullptr) throw std::invalid_argument(now.error);
    return *now.build;
}

}  // namespace fastdescent
