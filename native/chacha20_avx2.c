/*
 * chacha20_avx2.c - ChaCha20 eight blocks at a time with AVX2.
 *
 * The "vertical" layout: vector i holds state word i of 8 consecutive blocks
 * (one block per 32-bit lane), so a quarter round is 12 plain vector
 * operations on 8 blocks at once; the 16 result vectors are transposed into
 * 8 consecutive 64-byte blocks at the end.
 */
#include <string.h>

#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))

AVX2 static inline __m256i rotl16(__m256i v)
{
    const __m256i m = _mm256_set_epi8(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2,
                                      13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2);
    return _mm256_shuffle_epi8(v, m);
}

AVX2 static inline __m256i rotl8(__m256i v)
{
    const __m256i m = _mm256_set_epi8(14, 13, 12, 15, 10, 9, 8, 11, 6, 5, 4, 7, 2, 1, 0, 3,
                                      14, 13, 12, 15, 10, 9, 8, 11, 6, 5, 4, 7, 2, 1, 0, 3);
    return _mm256_shuffle_epi8(v, m);
}

#define ROTL(v, n) _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - (n)))

#define QUARTER(a, b, c, d)                                                       \
    do {                                                                          \
        a = _mm256_add_epi32(a, b); d = rotl16(_mm256_xor_si256(d, a));          \
        c = _mm256_add_epi32(c, d); b = ROTL(_mm256_xor_si256(b, c), 12);        \
        a = _mm256_add_epi32(a, b); d = rotl8(_mm256_xor_si256(d, a));           \
        c = _mm256_add_epi32(c, d); b = ROTL(_mm256_xor_si256(b, c), 7);         \
    } while (0)

/* Keystream for blocks ctr .. ctr+7, as words: x[i] lane j = word i of block j. */
AVX2 static void blocks8(__m256i x[16], const uint32_t state[16], uint32_t ctr)
{
    __m256i s[16];
    int i;
    for (i = 0; i < 16; i++) {
        s[i] = _mm256_set1_epi32((int)state[i]);
    }
    /* 32-bit lanes wrap like the scalar counter; the caller keeps ctr + 7 in range for
     * every block it uses (lanes past the end of the data are discarded). */
    s[12] = _mm256_add_epi32(_mm256_set1_epi32((int)ctr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (i = 0; i < 16; i++) {
        x[i] = s[i];
    }
    for (i = 0; i < 10; i++) {
        QUARTER(x[0], x[4], x[8], x[12]);
        QUARTER(x[1], x[5], x[9], x[13]);
        QUARTER(x[2], x[6], x[10], x[14]);
        QUARTER(x[3], x[7], x[11], x[15]);
        QUARTER(x[0], x[5], x[10], x[15]);
        QUARTER(x[1], x[6], x[11], x[12]);
        QUARTER(x[2], x[7], x[8], x[13]);
        QUARTER(x[3], x[4], x[9], x[14]);
    }
    for (i = 0; i < 16; i++) {
        x[i] = _mm256_add_epi32(x[i], s[i]);
    }
}

/* 8x8 transpose of 32-bit words: in[i] lane j -> out[j] lane i.  Here: 8
 * words of 8 blocks in, then words 0-7 (or 8-15) of block j in out[j]. */
AVX2 static void transpose8(__m256i out[8], const __m256i in[8])
{
    __m256i t0 = _mm256_unpacklo_epi32(in[0], in[1]), t1 = _mm256_unpackhi_epi32(in[0], in[1]);
    __m256i t2 = _mm256_unpacklo_epi32(in[2], in[3]), t3 = _mm256_unpackhi_epi32(in[2], in[3]);
    __m256i t4 = _mm256_unpacklo_epi32(in[4], in[5]), t5 = _mm256_unpackhi_epi32(in[4], in[5]);
    __m256i t6 = _mm256_unpacklo_epi32(in[6], in[7]), t7 = _mm256_unpackhi_epi32(in[6], in[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    /* 128-bit lane 0 of u0..u3 is blocks 0-3, lane 1 is blocks 4-7. */
    out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

/* dst[0..512) = src ^ the 8 blocks of x. */
AVX2 static void xor512(uint8_t *dst, const uint8_t *src, const __m256i x[16])
{
    __m256i lo[8], hi[8];
    int j;
    transpose8(lo, x);
    transpose8(hi, x + 8);
    for (j = 0; j < 8; j++) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + 64 * j));
        __m256i b = _mm256_loadu_si256((const __m256i *)(src + 64 * j + 32));
        _mm256_storeu_si256((__m256i *)(dst + 64 * j), _mm256_xor_si256(a, lo[j]));
        _mm256_storeu_si256((__m256i *)(dst + 64 * j + 32), _mm256_xor_si256(b, hi[j]));
    }
}

AVX2 void pli_chacha20_xor_avx2(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16])
{
    __m256i x[16];
    uint32_t ctr = state[12];
    for (; len >= 512; len -= 512, src += 512, dst += 512, ctr += 8) {
        blocks8(x, state, ctr);
        xor512(dst, src, x);
    }
    if (len > 0) {
        /* The last 1-511 bytes go through a stack copy, so nothing past the
         * buffers is read or written. */
        uint8_t tmp[512];
        memcpy(tmp, src, len);
        blocks8(x, state, ctr);
        xor512(tmp, tmp, x);
        memcpy(dst, tmp, len);
        pli_wipe(tmp, sizeof tmp);
    }
    pli_wipe(x, sizeof x);
}

#endif
