/*
 * dispatch.c - choosing the SIMD path once, from what the CPU can run
 * (libsodium-style: a table of function pointers filled on first use).
 */
#include <string.h>

#include "pli_internal.h"

static const pli_impl scalar_impl = {"scalar", pli_chacha20_xor_scalar, pli_otp_xor_scalar, NULL};

/* The portable C compiled with -O3 is what aarch64 gets: NEON is baseline
 * there, and the compiler vectorizes the XOR loops for it. */
#if defined(__aarch64__) && !defined(PLI_NO_SIMD)
static const pli_impl neon_impl = {"neon", pli_chacha20_xor_scalar, pli_otp_xor_scalar, NULL};
#endif

#if PLI_HAVE_X86_SIMD
static const pli_impl avx2_impl = {"avx2", pli_chacha20_xor_avx2, pli_otp_xor_avx2, pli_poly1305_blocks_avx2};
static const pli_impl avx512_impl = {"avx512", pli_chacha20_xor_avx512, pli_otp_xor_avx512,
                                        pli_poly1305_blocks_avx2};
#if PLI_POLY1305_64
/* AVX-512 CPUs with IFMA (Ice Lake and later, Zen 4 and later): the 52-bit multiply-adds for Poly1305. */
static const pli_impl avx512ifma_impl = {"avx512ifma", pli_chacha20_xor_avx512, pli_otp_xor_avx512,
                                            pli_poly1305_blocks_avx512};
#endif
#endif

/* Every path this build knows, best last. */
static const pli_impl *const known[] = {
    &scalar_impl,
#if defined(__aarch64__) && !defined(PLI_NO_SIMD)
    &neon_impl,
#endif
#if PLI_HAVE_X86_SIMD
    &avx2_impl,
    &avx512_impl,
#if PLI_POLY1305_64
    &avx512ifma_impl,
#endif
#endif
};
#define N_KNOWN (sizeof known / sizeof known[0])

static int cpu_runs(const pli_impl *impl)
{
#if PLI_HAVE_X86_SIMD
    __builtin_cpu_init();
    if (impl == &avx2_impl) {
        return __builtin_cpu_supports("avx2");
    }
    if (impl == &avx512_impl) {
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw");
    }
#if PLI_POLY1305_64
    if (impl == &avx512ifma_impl) {
        return cpu_runs(&avx512_impl) && __builtin_cpu_supports("avx512ifma");
    }
#endif
#endif
    (void)impl;
    return 1;
}

static const pli_impl *best(void)
{
    size_t i = N_KNOWN;
    while (i-- > 1) {
        if (cpu_runs(known[i])) {
            return known[i];
        }
    }
    return &scalar_impl;
}

/* Written once at first use (every thread would compute the same value) and
 * by pli_select_simd_path (tests, benchmarks).  Atomic loads and stores where
 * the compiler has them, so concurrent batches never see a torn pointer. */
static const pli_impl *current;

#if defined(__GNUC__) || defined(__clang__)
#define LOAD(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define STORE(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#else
#define LOAD(p) (p)
#define STORE(p, v) ((p) = (v))
#endif

const pli_impl *pli_current_impl(void)
{
    const pli_impl *impl = LOAD(current);
    if (impl == NULL) {
        impl = best();
        STORE(current, impl);
    }
    return impl;
}

const char *pli_simd_path(void)
{
    return pli_current_impl()->name;
}

int pli_select_simd_path(const char *name)
{
    size_t i;
    if (name == NULL || strcmp(name, "auto") == 0) {
        STORE(current, best());
        return PLI_OK;
    }
    for (i = 0; i < N_KNOWN; i++) {
        if (strcmp(known[i]->name, name) == 0 && cpu_runs(known[i])) {
            STORE(current, known[i]);
            return PLI_OK;
        }
    }
    return PLI_ERR_ARGUMENT;
}
