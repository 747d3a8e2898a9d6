/* otp_avx2.c - the one-time pad XOR with 256-bit loads and stores, 128 bytes a turn. */
#include <string.h>

#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

/* dst[i] = src[i] ^ pad[i] for n < 32 bytes: words of 8 bytes, then bytes (at most 3 + 7 steps). */
static void xor_short(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t a, b;
        memcpy(&a, src + i, 8);       /* memcpy: unaligned and alias-safe, one load at -O3 */
        memcpy(&b, pad + i, 8);
        a ^= b;
        memcpy(dst + i, &a, 8);
    }
    for (; i < n; i++) {
        dst[i] = (uint8_t)(src[i] ^ pad[i]);
    }
}

__attribute__((target("avx2")))
void pli_otp_xor_avx2(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len)
{
    size_t i = 0;
    /* Stores aligned to 32 bytes after a short head (see otp_avx512.c: an access
     * across two cache lines is split).  Loads stay unaligned: pad and dst are
     * not aligned alike in general. */
    if (len >= 64) {
        i = (size_t)(-(uintptr_t)dst & 31);
        xor_short(dst, src, pad, i);
    }
    for (; i + 128 <= len; i += 128) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(src + i + 32));
        __m256i a2 = _mm256_loadu_si256((const __m256i *)(src + i + 64));
        __m256i a3 = _mm256_loadu_si256((const __m256i *)(src + i + 96));
        __m256i b0 = _mm256_loadu_si256((const __m256i *)(pad + i));
        __m256i b1 = _mm256_loadu_si256((const __m256i *)(pad + i + 32));
        __m256i b2 = _mm256_loadu_si256((const __m256i *)(pad + i + 64));
        __m256i b3 = _mm256_loadu_si256((const __m256i *)(pad + i + 96));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a0, b0));
        _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(a1, b1));
        _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(a2, b2));
        _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(a3, b3));
    }
    for (; i + 32 <= len; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(pad + i));
        _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, b));
    }
    xor_short(dst + i, src + i, pad + i, len - i);
}

#endif
