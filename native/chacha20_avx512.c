/*
 * chacha20_avx512.c - ChaCha20 sixteen blocks at a time with AVX-512.
 *
 * The "vertical" layout of chacha20_avx2.c with 16 lanes: vector i holds
 * state word i of 16 consecutive blocks.  AVX-512 has 32 vector registers:
 * the 16 working vectors stay in registers through the ten double rounds,
 * the 16 broadcast input words are read from a stack array that is wiped at
 * the end (blocks16 says why), and the rotations are single instructions
 * (vprold).  The result is transposed to 16 consecutive
 * 64-byte blocks (two unpack stages, then a 4x4 transpose of 128-bit lanes).
 *
 * The last 1-1023 bytes: from 513 bytes the 16-block kernel runs once more;
 * up to 512 bytes an 8-block kernel on 256-bit vectors (AVX-512VL rotations)
 * does half the work.  Partial blocks are loaded and stored under byte masks
 * (AVX-512BW), so nothing past either buffer is read or written and no
 * keystream goes through the stack.
 */
#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512vl,avx512bw")))
#define INLINE static inline __attribute__((always_inline))

/* Four quarter rounds side by side, step by step, so that four independent
 * chains keep the vector units busy.  ADD, XOR and ROL are the vector width's
 * intrinsics; the columns are (a_k, b_k, c_k, d_k), k = 0..3. */
#define STEP4(ADD, XOR, ROL, a0, b0, d0, a1, b1, d1, a2, b2, d2, a3, b3, d3, n)                    \
    do {                                                                                          \
        a0 = ADD(a0, b0); a1 = ADD(a1, b1); a2 = ADD(a2, b2); a3 = ADD(a3, b3);                   \
        d0 = ROL(XOR(d0, a0), n); d1 = ROL(XOR(d1, a1), n);                                       \
        d2 = ROL(XOR(d2, a2), n); d3 = ROL(XOR(d3, a3), n);                                       \
    } while (0)
#define QR4(ADD, XOR, ROL, a0, b0, c0, d0, a1, b1, c1, d1, a2, b2, c2, d2, a3, b3, c3, d3)         \
    do {                                                                                          \
        STEP4(ADD, XOR, ROL, a0, b0, d0, a1, b1, d1, a2, b2, d2, a3, b3, d3, 16);                 \
        STEP4(ADD, XOR, ROL, c0, d0, b0, c1, d1, b1, c2, d2, b2, c3, d3, b3, 12);                 \
        STEP4(ADD, XOR, ROL, a0, b0, d0, a1, b1, d1, a2, b2, d2, a3, b3, d3, 8);                  \
        STEP4(ADD, XOR, ROL, c0, d0, b0, c1, d1, b1, c2, d2, b2, c3, d3, b3, 7);                  \
    } while (0)

/* Ten double rounds over the sixteen named vectors x0..x15. */
#define ROUNDS(ADD, XOR, ROL)                                                                     \
    do {                                                                                          \
        int r_;                                                                                   \
        for (r_ = 0; r_ < 10; r_++) {                                                             \
            QR4(ADD, XOR, ROL, x0, x4, x8, x12, x1, x5, x9, x13, x2, x6, x10, x14, x3, x7, x11, x15); \
            QR4(ADD, XOR, ROL, x0, x5, x10, x15, x1, x6, x11, x12, x2, x7, x8, x13, x3, x4, x9, x14); \
        }                                                                                         \
    } while (0)

/* out[j] = the 64 bytes of block j (j < 16) from the word vectors in[0..15]. */
AVX512 INLINE void transpose16(__m512i out[16], const __m512i in[16])
{
    __m512i u[16];
    int g, k;
    /* Words 4g..4g+3: afterwards 128-bit lane l of u[4g + k] holds them for block 4l + k. */
    for (g = 0; g < 4; g++) {
        __m512i t0 = _mm512_unpacklo_epi32(in[4 * g], in[4 * g + 1]);
        __m512i t1 = _mm512_unpackhi_epi32(in[4 * g], in[4 * g + 1]);
        __m512i t2 = _mm512_unpacklo_epi32(in[4 * g + 2], in[4 * g + 3]);
        __m512i t3 = _mm512_unpackhi_epi32(in[4 * g + 2], in[4 * g + 3]);
        u[4 * g + 0] = _mm512_unpacklo_epi64(t0, t2);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t0, t2);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t1, t3);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t1, t3);
    }
    /* 4x4 transpose of 128-bit lanes: (A,B,C,D) = u[0..3 groups][k] -> blocks k, 4+k, 8+k, 12+k.
     * 0x88 picks lanes (0,2) of each source, 0xdd lanes (1,3). */
    for (k = 0; k < 4; k++) {
        __m512i p = _mm512_shuffle_i32x4(u[k], u[4 + k], 0x88);      /* A0 A2 B0 B2 */
        __m512i q = _mm512_shuffle_i32x4(u[k], u[4 + k], 0xdd);      /* A1 A3 B1 B3 */
        __m512i r = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0x88); /* C0 C2 D0 D2 */
        __m512i s = _mm512_shuffle_i32x4(u[8 + k], u[12 + k], 0xdd); /* C1 C3 D1 D3 */
        out[k] = _mm512_shuffle_i32x4(p, r, 0x88);                   /* A0 B0 C0 D0 */
        out[8 + k] = _mm512_shuffle_i32x4(p, r, 0xdd);               /* A2 B2 C2 D2 */
        out[4 + k] = _mm512_shuffle_i32x4(q, s, 0x88);               /* A1 B1 C1 D1 */
        out[12 + k] = _mm512_shuffle_i32x4(q, s, 0xdd);              /* A3 B3 C3 D3 */
    }
}

/* dst = src ^ ks for one block of n <= 64 bytes (masked when short). */
AVX512 INLINE void xor_block(uint8_t *dst, const uint8_t *src, __m512i ks, size_t n)
{
    if (n >= 64) {
        _mm512_storeu_si512((void *)dst, _mm512_xor_si512(_mm512_loadu_si512((const void *)src), ks));
    } else {
        __mmask64 m = (__mmask64)((1ULL << n) - 1); /* n < 64 */
        _mm512_mask_storeu_epi8(dst, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src), ks));
    }
}

/* dst = src ^ the keystream blocks ks[0..nblocks) for len <= 64 * nblocks bytes.  The loop runs a
 * constant number of times so that the compiler unrolls it and keeps ks in registers (a variable
 * index would put the keystream on the stack). */
#define XOR_TAIL(dst, src, len, ks, nblocks)                                                      \
    do {                                                                                          \
        int j_;                                                                                   \
        for (j_ = 0; j_ < (nblocks); j_++) {                                                      \
            if ((size_t)64 * j_ < (len)) {                                                        \
                size_t left_ = (len) - (size_t)64 * j_;                                           \
                xor_block((dst) + 64 * j_, (src) + 64 * j_, (ks)[j_], left_ < 64 ? left_ : 64);   \
            }                                                                                     \
        }                                                                                         \
    } while (0)

/* Sixteen blocks from the broadcast input words k[0..15] (k[12] unused: the counter lanes are
 * ctr .. ctr+15).  The rounds keep the sixteen working vectors in registers; k stays in memory (an
 * array the caller wipes), read where the words are needed (volatile, so that the compiler reads it
 * again rather than keeping copies: with sixteen more vectors live it spilled them to slots of its own,
 * which nothing wipes). */
AVX512 INLINE void blocks16(__m512i b[16], const volatile __m512i k[16], uint32_t ctr)
{
    /* 32-bit lanes wrap like the scalar counter; the caller only uses blocks whose counters fit. */
    const __m512i k12 = _mm512_add_epi32(_mm512_set1_epi32((int)ctr),
                                         _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m512i x0 = k[0], x1 = k[1], x2 = k[2], x3 = k[3], x4 = k[4], x5 = k[5], x6 = k[6], x7 = k[7];
    __m512i x8 = k[8], x9 = k[9], x10 = k[10], x11 = k[11], x12 = k12, x13 = k[13], x14 = k[14], x15 = k[15];
    __m512i w[16];
    ROUNDS(_mm512_add_epi32, _mm512_xor_si512, _mm512_rol_epi32);
    w[0] = _mm512_add_epi32(x0, k[0]); w[1] = _mm512_add_epi32(x1, k[1]);
    w[2] = _mm512_add_epi32(x2, k[2]); w[3] = _mm512_add_epi32(x3, k[3]);
    w[4] = _mm512_add_epi32(x4, k[4]); w[5] = _mm512_add_epi32(x5, k[5]);
    w[6] = _mm512_add_epi32(x6, k[6]); w[7] = _mm512_add_epi32(x7, k[7]);
    w[8] = _mm512_add_epi32(x8, k[8]); w[9] = _mm512_add_epi32(x9, k[9]);
    w[10] = _mm512_add_epi32(x10, k[10]); w[11] = _mm512_add_epi32(x11, k[11]);
    w[12] = _mm512_add_epi32(x12, k12); w[13] = _mm512_add_epi32(x13, k[13]);
    w[14] = _mm512_add_epi32(x14, k[14]); w[15] = _mm512_add_epi32(x15, k[15]);
    transpose16(b, w);
}

/* Whole 1024-byte chunks, then (if 513..1023 bytes are left) sixteen blocks once more for the
 * tail.  Returns the bytes it left (at most 512) and moves the pointers and the counter past
 * what it did. */
AVX512 static size_t xor16(uint8_t **dst_p, const uint8_t **src_p, size_t len, const uint32_t state[16],
                           uint32_t *ctr_p)
{
    uint8_t *dst = *dst_p;
    const uint8_t *src = *src_p;
    uint32_t ctr = *ctr_p;
    __m512i k[16], b[16];
    int j;
    for (j = 0; j < 16; j++) {
        k[j] = _mm512_set1_epi32((int)state[j]);
    }
    for (; len >= 1024; len -= 1024, src += 1024, dst += 1024, ctr += 16) {
        blocks16(b, k, ctr);
        for (j = 0; j < 16; j++) {
            __m512i m = _mm512_loadu_si512((const void *)(src + 64 * j));
            _mm512_storeu_si512((void *)(dst + 64 * j), _mm512_xor_si512(m, b[j]));
        }
    }
    if (len > 512) {
        blocks16(b, k, ctr);
        XOR_TAIL(dst, src, len, b, 16);
        src += len, dst += len, len = 0;
    }
    pli_wipe(k, sizeof k);
    *dst_p = dst;
    *src_p = src;
    *ctr_p = ctr;
    return len;
}

/* 8x8 transpose of 32-bit words: in[i] lane j -> out[j] lane i. */
AVX512 INLINE void transpose8(__m256i out[8], const __m256i in[8])
{
    __m256i t0 = _mm256_unpacklo_epi32(in[0], in[1]), t1 = _mm256_unpackhi_epi32(in[0], in[1]);
    __m256i t2 = _mm256_unpacklo_epi32(in[2], in[3]), t3 = _mm256_unpackhi_epi32(in[2], in[3]);
    __m256i t4 = _mm256_unpacklo_epi32(in[4], in[5]), t5 = _mm256_unpackhi_epi32(in[4], in[5]);
    __m256i t6 = _mm256_unpacklo_epi32(in[6], in[7]), t7 = _mm256_unpackhi_epi32(in[6], in[7]);
    __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);
    __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);
    out[0] = _mm256_permute2x128_si256(u0, u4, 0x20);
    out[1] = _mm256_permute2x128_si256(u1, u5, 0x20);
    out[2] = _mm256_permute2x128_si256(u2, u6, 0x20);
    out[3] = _mm256_permute2x128_si256(u3, u7, 0x20);
    out[4] = _mm256_permute2x128_si256(u0, u4, 0x31);
    out[5] = _mm256_permute2x128_si256(u1, u5, 0x31);
    out[6] = _mm256_permute2x128_si256(u2, u6, 0x31);
    out[7] = _mm256_permute2x128_si256(u3, u7, 0x31);
}

#define W256(i) _mm256_set1_epi32((int)vstate[i])

/* 1-512 bytes: eight blocks on 256-bit vectors (half the work of sixteen). */
AVX512 static void xor8(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16], uint32_t ctr)
{
    const volatile uint32_t *vstate = state;
    const __m256i k12 = _mm256_add_epi32(_mm256_set1_epi32((int)ctr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i x0 = W256(0), x1 = W256(1), x2 = W256(2), x3 = W256(3), x4 = W256(4), x5 = W256(5);
    __m256i x6 = W256(6), x7 = W256(7), x8 = W256(8), x9 = W256(9), x10 = W256(10), x11 = W256(11);
    __m256i x12 = k12, x13 = W256(13), x14 = W256(14), x15 = W256(15);
    __m256i lo_in[8], hi_in[8], lo[8], hi[8];
    __m512i b[8];
    int j;
    ROUNDS(_mm256_add_epi32, _mm256_xor_si256, _mm256_rol_epi32);
    lo_in[0] = _mm256_add_epi32(x0, W256(0)); lo_in[1] = _mm256_add_epi32(x1, W256(1));
    lo_in[2] = _mm256_add_epi32(x2, W256(2)); lo_in[3] = _mm256_add_epi32(x3, W256(3));
    lo_in[4] = _mm256_add_epi32(x4, W256(4)); lo_in[5] = _mm256_add_epi32(x5, W256(5));
    lo_in[6] = _mm256_add_epi32(x6, W256(6)); lo_in[7] = _mm256_add_epi32(x7, W256(7));
    hi_in[0] = _mm256_add_epi32(x8, W256(8)); hi_in[1] = _mm256_add_epi32(x9, W256(9));
    hi_in[2] = _mm256_add_epi32(x10, W256(10)); hi_in[3] = _mm256_add_epi32(x11, W256(11));
    hi_in[4] = _mm256_add_epi32(x12, k12); hi_in[5] = _mm256_add_epi32(x13, W256(13));
    hi_in[6] = _mm256_add_epi32(x14, W256(14)); hi_in[7] = _mm256_add_epi32(x15, W256(15));
    transpose8(lo, lo_in);
    transpose8(hi, hi_in);
    for (j = 0; j < 8; j++) {
        b[j] = _mm512_inserti64x4(_mm512_castsi256_si512(lo[j]), hi[j], 1);
    }
    XOR_TAIL(dst, src, len, b, 8);
}

AVX512 void pli_chacha20_xor_avx512(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16])
{
    uint32_t ctr = state[12];
    if (len > 512) {
        len = xor16(&dst, &src, len, state, &ctr);
    }
    if (len > 0) {
        xor8(dst, src, len, state, ctr);
    }
    /* The keystream lived in vector registers only (and in the spill slots gcc may use for the
     * transposes): nothing left on the stack that is worth a wipe beyond what vzeroupper clears. */
}

#endif
