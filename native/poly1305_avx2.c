/*
 * poly1305_avx2.c - Poly1305 four blocks at a time with AVX2.
 *
 * Four accumulators, one per 64-bit lane, each in five 26-bit limbs (so that
 * _mm256_mul_epu32's 32x32->64 products never overflow): lane j takes blocks
 * j, j+4, j+8... and is multiplied by r^4 between chunks; at the end lane j
 * is multiplied by r^(4-j) and the lanes are added.  That equals the
 * sequential ((h + m0) r + m1) r ... because both are the same polynomial in r.
 */
#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))
#define M26 0x3ffffffu

/* d = H * P (mod 2^130 - 5, not carried): P in 26-bit limbs per lane, S = 5 * P. */
#define MULMOD(d, H, P, S)                                                                              \
    do {                                                                                              \
        d[0] = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], P[0]), _mm256_mul_epu32(H[1], S[4])), \
               _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[2], S[3]), _mm256_mul_epu32(H[3], S[2])), \
                                _mm256_mul_epu32(H[4], S[1])));                                         \
        d[1] = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], P[1]), _mm256_mul_epu32(H[1], P[0])), \
               _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[2], S[4]), _mm256_mul_epu32(H[3], S[3])), \
                                _mm256_mul_epu32(H[4], S[2])));                                         \
        d[2] = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], P[2]), _mm256_mul_epu32(H[1], P[1])), \
               _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[2], P[0]), _mm256_mul_epu32(H[3], S[4])), \
                                _mm256_mul_epu32(H[4], S[3])));                                         \
        d[3] = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], P[3]), _mm256_mul_epu32(H[1], P[2])), \
               _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[2], P[1]), _mm256_mul_epu32(H[3], P[0])), \
                                _mm256_mul_epu32(H[4], S[4])));                                         \
        d[4] = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], P[4]), _mm256_mul_epu32(H[1], P[3])), \
               _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[2], P[2]), _mm256_mul_epu32(H[3], P[1])), \
                                _mm256_mul_epu32(H[4], P[0])));                                         \
    } while (0)

/* Four 16-byte blocks as five vectors of 26-bit limbs (lane j = block j), with the 2^128 bit. */
AVX2 static inline __attribute__((always_inline)) void load_blocks(__m256i L[5], const uint8_t *m)
{
    const __m256i mask = _mm256_set1_epi64x(M26);
    __m256i a = _mm256_loadu_si256((const __m256i *)m);        /* blocks 0, 1 */
    __m256i b = _mm256_loadu_si256((const __m256i *)(m + 32)); /* blocks 2, 3 */
    /* unpack works within 128-bit lanes, giving the order 0, 2, 1, 3: permute back. */
    __m256i lo = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(a, b), 0xd8);
    __m256i hi = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(a, b), 0xd8);
    L[0] = _mm256_and_si256(lo, mask);
    L[1] = _mm256_and_si256(_mm256_srli_epi64(lo, 26), mask);
    L[2] = _mm256_and_si256(_mm256_or_si256(_mm256_srli_epi64(lo, 52), _mm256_slli_epi64(hi, 12)), mask);
    L[3] = _mm256_and_si256(_mm256_srli_epi64(hi, 14), mask);
    L[4] = _mm256_or_si256(_mm256_srli_epi64(hi, 40), _mm256_set1_epi64x(1 << 24));
}

/* Limbs back under 2^27, lane by lane: OpenSSL's lazy reduction, two carry
 * chains (0->1->2->3 and 3->4->0->1) interleaved so that the critical path
 * is four steps, not seven. */
AVX2 static inline __attribute__((always_inline)) void carry(__m256i d[5])
{
    const __m256i mask = _mm256_set1_epi64x(M26);
    __m256i c0, c3;
    c3 = _mm256_srli_epi64(d[3], 26); d[3] = _mm256_and_si256(d[3], mask); d[4] = _mm256_add_epi64(d[4], c3);
    c0 = _mm256_srli_epi64(d[0], 26); d[0] = _mm256_and_si256(d[0], mask); d[1] = _mm256_add_epi64(d[1], c0);
    c3 = _mm256_srli_epi64(d[4], 26); d[4] = _mm256_and_si256(d[4], mask);
    c0 = _mm256_srli_epi64(d[1], 26); d[1] = _mm256_and_si256(d[1], mask); d[2] = _mm256_add_epi64(d[2], c0);
    d[0] = _mm256_add_epi64(d[0], _mm256_add_epi64(c3, _mm256_slli_epi64(c3, 2))); /* 2^130 = 5 */
    c0 = _mm256_srli_epi64(d[2], 26); d[2] = _mm256_and_si256(d[2], mask); d[3] = _mm256_add_epi64(d[3], c0);
    c3 = _mm256_srli_epi64(d[0], 26); d[0] = _mm256_and_si256(d[0], mask); d[1] = _mm256_add_epi64(d[1], c3);
    c0 = _mm256_srli_epi64(d[3], 26); d[3] = _mm256_and_si256(d[3], mask); d[4] = _mm256_add_epi64(d[4], c0);
}

AVX2 size_t pli_poly1305_blocks_avx2(pli_poly1305_state *st, const uint8_t *m, size_t len)
{
    uint32_t h[5], r[5], r2[5], r3[5], r4[5];
    uint64_t sum[5], lanes[4];
    __m256i H[5], L[5], D[5], P[5], S[5];
    size_t done = len & ~(size_t)63;
    int i, j;
    if (done == 0) {
        return 0;
    }
    pli_poly1305_get26(st, h, r);
    pli_poly1305_mul26(r2, r, r);
    pli_poly1305_mul26(r3, r2, r);
    pli_poly1305_mul26(r4, r2, r2);
    for (i = 0; i < 5; i++) {
        P[i] = _mm256_set1_epi64x(r4[i]);
        S[i] = _mm256_set1_epi64x((uint64_t)r4[i] * 5);
    }
    load_blocks(H, m);
    for (i = 0; i < 5; i++) {
        H[i] = _mm256_add_epi64(H[i], _mm256_setr_epi64x(h[i], 0, 0, 0)); /* h joins block 0 */
    }
    for (m += 64, len = done - 64; len > 0; m += 64, len -= 64) {
        /* H stays under 2^28 per limb (carried < 2^27, plus a block < 2^26), so every
         * product is < 2^57 and a sum of five < 2^60. */
        MULMOD(D, H, P, S);
        carry(D);
        load_blocks(L, m);
        for (i = 0; i < 5; i++) {
            H[i] = _mm256_add_epi64(D[i], L[i]);
        }
    }
    /* Lane j times r^(4-j), then the four lanes added (each sum < 2^62). */
    for (i = 0; i < 5; i++) {
        P[i] = _mm256_setr_epi64x(r4[i], r3[i], r2[i], r[i]);
        S[i] = _mm256_add_epi64(P[i], _mm256_slli_epi64(P[i], 2));
    }
    MULMOD(D, H, P, S);
    for (i = 0; i < 5; i++) {
        _mm256_storeu_si256((__m256i *)lanes, D[i]);
        sum[i] = 0;
        for (j = 0; j < 4; j++) {
            sum[i] += lanes[j];
        }
    }
    pli_poly1305_set26(st, sum);
    pli_wipe(h, sizeof h);
    pli_wipe(r, sizeof r);
    pli_wipe(r2, sizeof r2);
    pli_wipe(r3, sizeof r3);
    pli_wipe(r4, sizeof r4);
    pli_wipe(sum, sizeof sum);
    pli_wipe(lanes, sizeof lanes);
    pli_wipe(H, sizeof H);
    pli_wipe(D, sizeof D);
    pli_wipe(P, sizeof P);
    pli_wipe(S, sizeof S);
    return done;
}

#endif
