/*
 * chacha20_avx512.c - ChaCha20 sixteen blocks at a time with AVX-512.
 *
 * The same vertical layout as chacha20_avx2.c with 16 lanes (and native
 * 32-bit rotates); the 16x16 transpose is two unpack stages within 128-bit
 * lanes, then a 4x4 transpose of 128-bit lanes with shuffle_i32x4.
 */
#include <string.h>

#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw")))

#define QUARTER(a, b, c, d)                                                              \
    do {                                                                                 \
        a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 16);   \
        c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 12);   \
        a = _mm512_add_epi32(a, b); d = _mm512_rol_epi32(_mm512_xor_si512(d, a), 8);    \
        c = _mm512_add_epi32(c, d); b = _mm512_rol_epi32(_mm512_xor_si512(b, c), 7);    \
    } while (0)

/* Keystream for blocks ctr .. ctr+15: x[i] lane j = word i of block j. */
AVX512 static void blocks16(__m512i x[16], const uint32_t state[16], uint32_t ctr)
{
    __m512i s[16];
    int i;
    for (i = 0; i < 16; i++) {
        s[i] = _mm512_set1_epi32((int)state[i]);
    }
    s[12] = _mm512_add_epi32(_mm512_set1_epi32((int)ctr),
                             _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
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
        x[i] = _mm512_add_epi32(x[i], s[i]);
    }
}

/* out[j] = the 64 bytes of block j (j < 16). */
AVX512 static void transpose16(__m512i out[16], const __m512i x[16])
{
    __m512i u[4][4];
    int g, k;
    /* Words 4g..4g+3: afterwards 128-bit lane l of u[g][k] holds them for block 4l + k. */
    for (g = 0; g < 4; g++) {
        __m512i t0 = _mm512_unpacklo_epi32(x[4 * g], x[4 * g + 1]);
        __m512i t1 = _mm512_unpackhi_epi32(x[4 * g], x[4 * g + 1]);
        __m512i t2 = _mm512_unpacklo_epi32(x[4 * g + 2], x[4 * g + 3]);
        __m512i t3 = _mm512_unpackhi_epi32(x[4 * g + 2], x[4 * g + 3]);
        u[g][0] = _mm512_unpacklo_epi64(t0, t2);
        u[g][1] = _mm512_unpackhi_epi64(t0, t2);
        u[g][2] = _mm512_unpacklo_epi64(t1, t3);
        u[g][3] = _mm512_unpackhi_epi64(t1, t3);
    }
    /* 4x4 transpose of 128-bit lanes: (A,B,C,D) = u[0..3][k] -> blocks k, 4+k, 8+k, 12+k.
     * 0x88 picks lanes (0,2) of each source, 0xdd lanes (1,3). */
    for (k = 0; k < 4; k++) {
        __m512i p = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0x88); /* A0 A2 B0 B2 */
        __m512i q = _mm512_shuffle_i32x4(u[0][k], u[1][k], 0xdd); /* A1 A3 B1 B3 */
        __m512i r = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0x88); /* C0 C2 D0 D2 */
        __m512i s = _mm512_shuffle_i32x4(u[2][k], u[3][k], 0xdd); /* C1 C3 D1 D3 */
        out[k] = _mm512_shuffle_i32x4(p, r, 0x88);      /* A0 B0 C0 D0 */
        out[8 + k] = _mm512_shuffle_i32x4(p, r, 0xdd);  /* A2 B2 C2 D2 */
        out[4 + k] = _mm512_shuffle_i32x4(q, s, 0x88);  /* A1 B1 C1 D1 */
        out[12 + k] = _mm512_shuffle_i32x4(q, s, 0xdd); /* A3 B3 C3 D3 */
    }
}

AVX512 static void xor1024(uint8_t *dst, const uint8_t *src, const __m512i x[16])
{
    __m512i b[16];
    int j;
    transpose16(b, x);
    for (j = 0; j < 16; j++) {
        __m512i m = _mm512_loadu_si512((const void *)(src + 64 * j));
        _mm512_storeu_si512((void *)(dst + 64 * j), _mm512_xor_si512(m, b[j]));
    }
}

AVX512 void pli_chacha20_xor_avx512(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16])
{
    __m512i x[16];
    uint32_t ctr = state[12];
    for (; len >= 1024; len -= 1024, src += 1024, dst += 1024, ctr += 16) {
        blocks16(x, state, ctr);
        xor1024(dst, src, x);
    }
    if (len > 0) {
        uint8_t tmp[1024];
        memcpy(tmp, src, len);
        blocks16(x, state, ctr);
        xor1024(tmp, tmp, x);
        memcpy(dst, tmp, len);
        pli_wipe(tmp, sizeof tmp);
    }
    pli_wipe(x, sizeof x);
}

#endif
