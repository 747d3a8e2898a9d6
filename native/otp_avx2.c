/* otp_avx2.c - the one-time pad XOR with 256-bit loads and stores, 128 bytes a turn. */
#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

__attribute__((target("avx2")))
void pli_otp_xor_avx2(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len)
{
    size_t i = 0;
    /* Unaligned loads and stores: on AVX2 CPUs they cost the same as aligned
     * ones when the data happens to be aligned, and callers' buffers are not. */
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
    for (; i < len; i++) {
        dst[i] = (uint8_t)(src[i] ^ pad[i]);
    }
}

#endif
