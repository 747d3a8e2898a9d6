/* otp_avx512.c - the one-time pad XOR with 512-bit loads and stores, 256 bytes a turn. */
#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

/* dst[i] = src[i] ^ pad[i] for the bytes of mask m (AVX512BW byte masks: no scalar loop anywhere). */
__attribute__((target("avx512f,avx512vl,avx512bw")))
static inline void xor_masked(uint8_t *dst, const uint8_t *src, const uint8_t *pad, __mmask64 m)
{
    __m512i a = _mm512_maskz_loadu_epi8(m, src);
    __m512i b = _mm512_maskz_loadu_epi8(m, pad);
    _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(a, b));
}

__attribute__((target("avx512f,avx512vl,avx512bw")))
void pli_otp_xor_avx512(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len)
{
    size_t i = 0;
    /* A masked head up to dst's next 64-byte boundary, so that every full store
     * (and every load of src, in place) lies within one cache line: a 512-bit
     * access across two lines is split, and unaligned buffers (a bytearray's
     * malloc'd storage is 16-byte aligned) made the 4 KiB XOR 2-3x slower. */
    size_t head = (size_t)(-(uintptr_t)dst & 63);
    if (head > len) {
        head = len;
    }
    if (head) {
        xor_masked(dst, src, pad, (__mmask64)((1ULL << head) - 1));   /* head < 64 */
        i = head;
    }
    for (; i + 256 <= len; i += 256) {
        __m512i a0 = _mm512_loadu_si512((const void *)(src + i));
        __m512i a1 = _mm512_loadu_si512((const void *)(src + i + 64));
        __m512i a2 = _mm512_loadu_si512((const void *)(src + i + 128));
        __m512i a3 = _mm512_loadu_si512((const void *)(src + i + 192));
        __m512i b0 = _mm512_loadu_si512((const void *)(pad + i));
        __m512i b1 = _mm512_loadu_si512((const void *)(pad + i + 64));
        __m512i b2 = _mm512_loadu_si512((const void *)(pad + i + 128));
        __m512i b3 = _mm512_loadu_si512((const void *)(pad + i + 192));
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(a0, b0));
        _mm512_store_si512((void *)(dst + i + 64), _mm512_xor_si512(a1, b1));
        _mm512_store_si512((void *)(dst + i + 128), _mm512_xor_si512(a2, b2));
        _mm512_store_si512((void *)(dst + i + 192), _mm512_xor_si512(a3, b3));
    }
    for (; i + 64 <= len; i += 64) {
        __m512i a = _mm512_loadu_si512((const void *)(src + i));
        __m512i b = _mm512_loadu_si512((const void *)(pad + i));
        _mm512_store_si512((void *)(dst + i), _mm512_xor_si512(a, b));
    }
    if (i < len) {
        xor_masked(dst + i, src + i, pad + i, (__mmask64)((1ULL << (len - i)) - 1));   /* len - i < 64 */
    }
}

#endif
