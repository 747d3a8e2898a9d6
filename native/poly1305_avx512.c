/*
 * poly1305_avx512.c - Poly1305 eight blocks at a time with AVX-512 IFMA.
 *
 * vpmadd52luq / vpmadd52huq multiply 52-bit lanes and add the low or the
 * high 52 bits of the 104-bit product to a 64-bit accumulator, which suits
 * the 44/44/42-bit limbs of the scalar state (poly1305.c) as they are: no
 * conversion in or out (OpenSSL's poly1305_blocks_vpmadd52 uses the same
 * radix, for the same reason: the multiples of 5 can be precomputed).
 *
 * Eight accumulators, one per 64-bit lane: the lanes take blocks in the
 * order 0 4 1 5 2 6 3 7 of each 128-byte chunk (what unpacking two 64-byte
 * loads gives), are multiplied by r^8 between chunks, and at the end each
 * by the power of r its last block needs (r^8 for block 0 ... r^1 for block
 * 7), then added.  That is the sequential ((h + m0) r + m1) r ... because
 * both are the same polynomial in r.
 */
#include "pli_internal.h"

#if PLI_HAVE_X86_SIMD && PLI_POLY1305_64
#include <immintrin.h>

#define IFMA __attribute__((target("avx512f,avx512vl,avx512ifma")))
#define INLINE static inline __attribute__((always_inline))
#define M44 0xfffffffffffULL
#define M42 0x3ffffffffffULL

/* Three limbs of eight lanes. */
typedef struct {
    __m512i l0, l1, l2;
} limbs8;

/* h * p mod 2^130 - 5, partly reduced (limbs back under 2^44, 2^44 + 2^14, 2^42): s1, s2 = 20 p1, 20 p2
 * (2^132 = 4 * 2^130 = 4 * 5 mod p).  Every product of two limbs < 2^52 is split into its low and high
 * 52 bits; the high ones weigh 2^52 = 2^44 * 2^8 relative to their limb. */
IFMA INLINE limbs8 mulmod(limbs8 h, limbs8 p, __m512i s1, __m512i s2)
{
    const __m512i zero = _mm512_setzero_si512(), m44 = _mm512_set1_epi64(M44), m42 = _mm512_set1_epi64(M42);
    __m512i d0lo = _mm512_madd52lo_epu64(zero, h.l0, p.l0), d0hi = _mm512_madd52hi_epu64(zero, h.l0, p.l0);
    __m512i d1lo = _mm512_madd52lo_epu64(zero, h.l0, p.l1), d1hi = _mm512_madd52hi_epu64(zero, h.l0, p.l1);
    __m512i d2lo = _mm512_madd52lo_epu64(zero, h.l0, p.l2), d2hi = _mm512_madd52hi_epu64(zero, h.l0, p.l2);
    __m512i t;
    limbs8 out;
    d0lo = _mm512_madd52lo_epu64(d0lo, h.l1, s2); d0hi = _mm512_madd52hi_epu64(d0hi, h.l1, s2);
    d1lo = _mm512_madd52lo_epu64(d1lo, h.l1, p.l0); d1hi = _mm512_madd52hi_epu64(d1hi, h.l1, p.l0);
    d2lo = _mm512_madd52lo_epu64(d2lo, h.l1, p.l1); d2hi = _mm512_madd52hi_epu64(d2hi, h.l1, p.l1);
    d0lo = _mm512_madd52lo_epu64(d0lo, h.l2, s1); d0hi = _mm512_madd52hi_epu64(d0hi, h.l2, s1);
    d1lo = _mm512_madd52lo_epu64(d1lo, h.l2, s2); d1hi = _mm512_madd52hi_epu64(d1hi, h.l2, s2);
    d2lo = _mm512_madd52lo_epu64(d2lo, h.l2, p.l0); d2hi = _mm512_madd52hi_epu64(d2hi, h.l2, p.l0);
    /* Carry 0 -> 1 -> 2 -> 0 (times 5) -> 1, as OpenSSL's partial reduction. */
    t = _mm512_add_epi64(_mm512_srli_epi64(d0lo, 44), _mm512_slli_epi64(d0hi, 8));
    out.l0 = _mm512_and_si512(d0lo, m44);
    d1lo = _mm512_add_epi64(d1lo, t);
    t = _mm512_add_epi64(_mm512_srli_epi64(d1lo, 44), _mm512_slli_epi64(d1hi, 8));
    out.l1 = _mm512_and_si512(d1lo, m44);
    d2lo = _mm512_add_epi64(d2lo, t);
    t = _mm512_add_epi64(_mm512_srli_epi64(d2lo, 42), _mm512_slli_epi64(d2hi, 10));
    out.l2 = _mm512_and_si512(d2lo, m42);
    out.l0 = _mm512_add_epi64(out.l0, _mm512_add_epi64(t, _mm512_slli_epi64(t, 2)));
    out.l1 = _mm512_add_epi64(out.l1, _mm512_srli_epi64(out.l0, 44));
    out.l0 = _mm512_and_si512(out.l0, m44);
    return out;
}

/* Eight 16-byte blocks as limbs (lane order 0 4 1 5 2 6 3 7), with the 2^128 bit. */
IFMA INLINE limbs8 load_blocks(const uint8_t *m)
{
    const __m512i a = _mm512_loadu_si512((const void *)m), b = _mm512_loadu_si512((const void *)(m + 64));
    const __m512i lo = _mm512_unpacklo_epi64(a, b), hi = _mm512_unpackhi_epi64(a, b);
    const __m512i m44 = _mm512_set1_epi64(M44);
    limbs8 out;
    out.l0 = _mm512_and_si512(lo, m44);
    out.l1 = _mm512_and_si512(_mm512_or_si512(_mm512_srli_epi64(lo, 44), _mm512_slli_epi64(hi, 20)), m44);
    out.l2 = _mm512_or_si512(_mm512_srli_epi64(hi, 24), _mm512_set1_epi64(1LL << 40));
    return out;
}

IFMA INLINE limbs8 add(limbs8 a, limbs8 b)
{
    a.l0 = _mm512_add_epi64(a.l0, b.l0);
    a.l1 = _mm512_add_epi64(a.l1, b.l1);
    a.l2 = _mm512_add_epi64(a.l2, b.l2);
    return a;
}

/* s = 20 p for a limb vector. */
IFMA INLINE __m512i times20(__m512i p)
{
    return _mm512_slli_epi64(_mm512_add_epi64(p, _mm512_slli_epi64(p, 2)), 2);
}

/* The powers vector for a chunk's lanes: lane k holds the block at position 0 4 1 5 2 6 3 7 (k = 0..7) of
 * its chunk, so from v = r^1 .. r^8 in lanes 0..7 it takes lanes 7 3 6 2 5 1 4 0 (r^8 r^4 r^7 r^3 ...). */
IFMA INLINE limbs8 permute(limbs8 v, __m512i idx)
{
    v.l0 = _mm512_permutexvar_epi64(idx, v.l0);
    v.l1 = _mm512_permutexvar_epi64(idx, v.l1);
    v.l2 = _mm512_permutexvar_epi64(idx, v.l2);
    return v;
}

IFMA INLINE limbs8 blend(__mmask8 take_b, limbs8 a, limbs8 b)
{
    a.l0 = _mm512_mask_blend_epi64(take_b, a.l0, b.l0);
    a.l1 = _mm512_mask_blend_epi64(take_b, a.l1, b.l1);
    a.l2 = _mm512_mask_blend_epi64(take_b, a.l2, b.l2);
    return a;
}

IFMA INLINE limbs8 mul(limbs8 h, limbs8 p)
{
    return mulmod(h, p, times20(p.l1), times20(p.l2));
}

/* r^1 .. r^8 in lanes 0..7: r and r^2 from the scalar code, then three vector products. */
IFMA INLINE limbs8 powers8(const pli_poly1305_state *st)
{
    uint64_t pw[2][3];
    limbs8 v, p;
    pli_poly1305_powers(st, pw, 2);
    v.l0 = _mm512_setr_epi64((long long)pw[0][0], (long long)pw[1][0], (long long)pw[0][0], (long long)pw[1][0],
                             (long long)pw[0][0], (long long)pw[1][0], (long long)pw[0][0], (long long)pw[1][0]);
    v.l1 = _mm512_setr_epi64((long long)pw[0][1], (long long)pw[1][1], (long long)pw[0][1], (long long)pw[1][1],
                             (long long)pw[0][1], (long long)pw[1][1], (long long)pw[0][1], (long long)pw[1][1]);
    v.l2 = _mm512_setr_epi64((long long)pw[0][2], (long long)pw[1][2], (long long)pw[0][2], (long long)pw[1][2],
                             (long long)pw[0][2], (long long)pw[1][2], (long long)pw[0][2], (long long)pw[1][2]);
    pli_wipe(pw, sizeof pw);
    p = mul(v, permute(v, _mm512_set1_epi64(1)));                            /* lanes 2, 3: r^3, r^4 */
    v = blend(0x0c, v, p);                                                   /* r r^2 r^3 r^4 ... */
    p = mul(permute(v, _mm512_setr_epi64(0, 1, 2, 3, 0, 1, 2, 3)), permute(v, _mm512_set1_epi64(3)));
    return blend(0xf0, v, p);                                                /* r^1 .. r^8 */
}

IFMA size_t pli_poly1305_blocks_avx512(pli_poly1305_state *st, const uint8_t *m, size_t len)
{
    const size_t chunks = len / 128;
    const __m512i order = _mm512_setr_epi64(7, 3, 6, 2, 5, 1, 4, 0), top = _mm512_set1_epi64(7);
    limbs8 v8, v16, r16, a, b;
    __m512i s1 = _mm512_setzero_si512(), s2 = _mm512_setzero_si512();
    size_t k = 1;
    if (chunks == 0) {
        return 0;
    }
    v8 = powers8(st);
    v16 = r16 = v8;
    /* Two chains, A on the even chunks and B on the odd ones, each multiplied by r^16 between its chunks:
     * one chain waits on its multiply-adds (about 20 cycles a chunk), two keep the units busy. */
    a = load_blocks(m);
    a.l0 = _mm512_add_epi64(a.l0, _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)st->h[0]));
    a.l1 = _mm512_add_epi64(a.l1, _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)st->h[1]));
    a.l2 = _mm512_add_epi64(a.l2, _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)st->h[2]));
    b = a;
    if (chunks >= 2) {
        v16 = mul(v8, permute(v8, top));                                      /* r^9 .. r^16 */
        r16 = permute(v16, top);
        s1 = times20(r16.l1);
        s2 = times20(r16.l2);
        b = load_blocks(m + 128);
        for (k = 2; k + 1 < chunks; k += 2) {
            a = add(mulmod(a, r16, s1, s2), load_blocks(m + 128 * k));
            b = add(mulmod(b, r16, s1, s2), load_blocks(m + 128 * (k + 1)));
        }
        if (k < chunks) {
            a = add(mulmod(a, r16, s1, s2), load_blocks(m + 128 * k));
        }
    }
    /* The chain that took the last chunk ends with r^8 .. r^1, the other with r^16 .. r^9. */
    if (chunks % 2 == 1) {
        a = mul(a, permute(v8, order));
        if (chunks >= 2) {
            a = add(a, mul(b, permute(v16, order)));
        }
    } else {
        a = add(mul(a, permute(v16, order)), mul(b, permute(v8, order)));
    }
    /* Sixteen lanes of limbs under 2^45 add up to under 2^49: no overflow, carried by set44. */
    pli_poly1305_set44(st, (uint64_t)_mm512_reduce_add_epi64(a.l0), (uint64_t)_mm512_reduce_add_epi64(a.l1),
                       (uint64_t)_mm512_reduce_add_epi64(a.l2));
    return 128 * chunks;
}

#endif
