/*
 * chacha20_avx2.c - ChaCha20 eight blocks at a time with AVX2.
 *
 * The "vertical" layout: vector i holds state word i of 8 consecutive blocks
 * (one block per 32-bit lane), so a quarter round is 12 plain vector
 * operations on 8 blocks at once; the 16 result vectors are transposed into
 * 8 consecutive 64-byte blocks at the end.
 *
 * AVX2 has 16 vector registers: the 16 state words alone fill them.  As in
 * OpenSSL's ChaCha20_8x, the "a", "b" and "d" words stay in registers and two
 * of the four "c" words live on the stack while the other two are in use
 * (the pair a half round needs is the pair the previous one left, so they
 * change places once per half round), which leaves two registers for the
 * rotations.  The rotation by 16 is two word shuffles with immediates, the
 * one by 8 a byte shuffle whose mask the compiler may take from memory: no
 * register holds a constant (a mask in a register made gcc 12 spill state
 * words on every step).
 */
#include <string.h>

#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2")))
#define INLINE static inline __attribute__((always_inline))

#define ROT16(v) _mm256_shufflehi_epi16(_mm256_shufflelo_epi16(v, 0xb1), 0xb1)
#define ROT8(v) \
    _mm256_shuffle_epi8(v, _mm256_setr_epi8(3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14, \
                                            3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14))
#define ROTL(v, n) _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - (n)))
#define ADD(a, b) a = _mm256_add_epi32(a, b)
#define XOR(a, b) a = _mm256_xor_si256(a, b)

/* Two quarter rounds side by side, in OpenSSL's order (each step for both, then the next step). */
#define QUARTER2(a0, b0, c0, d0, a1, b1, c1, d1)                                                  \
    do {                                                                                      \
        ADD(a0, b0); XOR(d0, a0); d0 = ROT16(d0); ADD(a1, b1); XOR(d1, a1); d1 = ROT16(d1);   \
        ADD(c0, d0); XOR(b0, c0); b0 = ROTL(b0, 12); ADD(c1, d1); XOR(b1, c1); b1 = ROTL(b1, 12); \
        ADD(a0, b0); XOR(d0, a0); d0 = ROT8(d0); ADD(a1, b1); XOR(d1, a1); d1 = ROT8(d1);     \
        ADD(c0, d0); XOR(b0, c0); b0 = ROTL(b0, 7); ADD(c1, d1); XOR(b1, c1); b1 = ROTL(b1, 7);   \
    } while (0)

/* Words are read through a volatile pointer at each use, so that the compiler keeps no broadcast copy
 * of them in a register (see above). */
#define W(i) _mm256_set1_epi32((int)vstate[i])

/* Keystream for blocks ctr .. ctr+7: x[i] lane j = word i of block j. */
AVX2 INLINE void blocks8(__m256i x[16], const volatile uint32_t *vstate, uint32_t ctr)
{
    /* 32-bit lanes wrap like the scalar counter; the caller only uses blocks whose counters fit. */
    const __m256i counters = _mm256_add_epi32(_mm256_set1_epi32((int)ctr), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    __m256i x0 = W(0), x1 = W(1), x2 = W(2), x3 = W(3), x4 = W(4), x5 = W(5), x6 = W(6), x7 = W(7);
    __m256i c0 = W(8), c1 = W(9), x12 = counters, x13 = W(13), x14 = W(14), x15 = W(15);
    /* The "c" words not in use; volatile keeps the compiler from moving them back into registers.
     * Wiped below: they are keystream state. */
    volatile __m256i cs[4];
    int i;
    cs[2] = W(10);
    cs[3] = W(11);
    for (i = 0; i < 10; i++) {
        QUARTER2(x0, x4, c0, x12, x1, x5, c1, x13);      /* columns 0 and 1: c = words 8, 9 */
        cs[0] = c0; cs[1] = c1; c0 = cs[2]; c1 = cs[3];
        QUARTER2(x2, x6, c0, x14, x3, x7, c1, x15);      /* columns 2 and 3: words 10, 11 */
        QUARTER2(x0, x5, c0, x15, x1, x6, c1, x12);      /* diagonals 0 and 1: words 10, 11 */
        cs[2] = c0; cs[3] = c1; c0 = cs[0]; c1 = cs[1];
        QUARTER2(x2, x7, c0, x13, x3, x4, c1, x14);      /* diagonals 2 and 3: words 8, 9 */
    }
    x[0] = _mm256_add_epi32(x0, W(0));
    x[1] = _mm256_add_epi32(x1, W(1));
    x[2] = _mm256_add_epi32(x2, W(2));
    x[3] = _mm256_add_epi32(x3, W(3));
    x[4] = _mm256_add_epi32(x4, W(4));
    x[5] = _mm256_add_epi32(x5, W(5));
    x[6] = _mm256_add_epi32(x6, W(6));
    x[7] = _mm256_add_epi32(x7, W(7));
    x[8] = _mm256_add_epi32(c0, W(8));
    x[9] = _mm256_add_epi32(c1, W(9));
    x[10] = _mm256_add_epi32(cs[2], W(10));
    x[11] = _mm256_add_epi32(cs[3], W(11));
    x[12] = _mm256_add_epi32(x12, counters);
    x[13] = _mm256_add_epi32(x13, W(13));
    x[14] = _mm256_add_epi32(x14, W(14));
    x[15] = _mm256_add_epi32(x15, W(15));
    cs[0] = cs[1] = cs[2] = cs[3] = _mm256_setzero_si256();
}

/* 8x8 transpose of 32-bit words: in[i] lane j -> out[j] lane i.  Here: 8
 * words of 8 blocks in, then words 0-7 (or 8-15) of block j in out[j]. */
AVX2 INLINE void transpose8(__m256i out[8], const __m256i in[8])
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

/* dst[0..512) = src ^ the 8 keystream blocks of x (constant indices: the keystream stays in registers). */
AVX2 INLINE void xor512(uint8_t *dst, const uint8_t *src, const __m256i x[16])
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
    const volatile uint32_t *vstate = state;
    __m256i x[16];
    uint32_t ctr = state[12];
    for (; len >= 512; len -= 512, src += 512, dst += 512, ctr += 8) {
        blocks8(x, vstate, ctr);
        xor512(dst, src, x);
    }
    if (len > 0) {
        /* The last 1-511 bytes: the keystream goes to a stack buffer (wiped), whole 32-byte pieces
         * through vectors, the rest byte by byte, so nothing past the buffers is read or written. */
        uint8_t ks[512];
        size_t i = 0;
        memset(ks, 0, sizeof ks);
        blocks8(x, vstate, ctr);
        xor512(ks, ks, x);     /* ks ^= keystream: ks must start at zero */
        for (; i + 32 <= len; i += 32) {
            __m256i k = _mm256_loadu_si256((const __m256i *)(ks + i));
            __m256i v = _mm256_loadu_si256((const __m256i *)(src + i));
            _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(v, k));
        }
        for (; i < len; i++) {
            dst[i] = (uint8_t)(src[i] ^ ks[i]);
        }
        pli_wipe(ks, sizeof ks);
    }
}

#endif
