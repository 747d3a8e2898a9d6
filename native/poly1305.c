/*
 * poly1305.c - the Poly1305 one-time authenticator of RFC 8439 (after
 * Andrew Moon's public-domain poly1305-donna), and the constant-time tag
 * compare.
 */
#include <string.h>

#include "pli_internal.h"

#if PLI_POLY1305_64

__extension__ typedef unsigned __int128 u128; /* -Wpedantic: not ISO C */
#define M44 0xfffffffffffULL
#define M42 0x3ffffffffffULL

void pli_poly1305_init(pli_poly1305_state *st, const uint8_t key[PLI_KEY_BYTES])
{
    uint64_t t0 = pli_load64_le(key), t1 = pli_load64_le(key + 8);
    /* r is clamped as the RFC says, then split into 44/44/42-bit limbs. */
    st->r[0] = t0 & 0xffc0fffffffULL;
    st->r[1] = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffffULL;
    st->r[2] = (t1 >> 24) & 0x00ffffffc0fULL;
    st->h[0] = st->h[1] = st->h[2] = 0;
    st->pad[0] = pli_load64_le(key + 16);
    st->pad[1] = pli_load64_le(key + 24);
}

static void blocks(pli_poly1305_state *st, const uint8_t *m, size_t len, uint64_t hibit)
{
    const uint64_t r0 = st->r[0], r1 = st->r[1], r2 = st->r[2];
    const uint64_t s1 = r1 * (5 << 2), s2 = r2 * (5 << 2);
    uint64_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2];
    while (len >= 16) {
        uint64_t t0 = pli_load64_le(m), t1 = pli_load64_le(m + 8), c;
        u128 d0, d1, d2;
        h0 += t0 & M44;
        h1 += ((t0 >> 44) | (t1 << 20)) & M44;
        h2 += ((t1 >> 24) & M42) | hibit;
        d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
        d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
        d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
        c = (uint64_t)(d0 >> 44); h0 = (uint64_t)d0 & M44;
        d1 += c; c = (uint64_t)(d1 >> 44); h1 = (uint64_t)d1 & M44;
        d2 += c; c = (uint64_t)(d2 >> 42); h2 = (uint64_t)d2 & M42;
        h0 += c * 5; c = h0 >> 44; h0 &= M44;
        h1 += c;
        m += 16;
        len -= 16;
    }
    st->h[0] = h0;
    st->h[1] = h1;
    st->h[2] = h2;
}

void pli_poly1305_finish(pli_poly1305_state *st, uint8_t tag[PLI_TAG_BYTES])
{
    uint64_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], g0, g1, g2, c, mask, t0, t1;
    /* Full carry, then h - p computed as h + 5 - 2^130; keep it if no borrow. */
    c = h1 >> 44; h1 &= M44; h2 += c;
    c = h2 >> 42; h2 &= M42; h0 += c * 5;
    c = h0 >> 44; h0 &= M44; h1 += c;
    c = h1 >> 44; h1 &= M44; h2 += c;
    c = h2 >> 42; h2 &= M42; h0 += c * 5;
    c = h0 >> 44; h0 &= M44; h1 += c;
    g0 = h0 + 5; c = g0 >> 44; g0 &= M44;
    g1 = h1 + c; c = g1 >> 44; g1 &= M44;
    g2 = h2 + c - (1ULL << 42);
    mask = (g2 >> 63) - 1; /* all ones when h >= p */
    h0 = (h0 & ~mask) | (g0 & mask);
    h1 = (h1 & ~mask) | (g1 & mask);
    h2 = (h2 & ~mask) | (g2 & mask);
    /* h + s mod 2^128 */
    t0 = st->pad[0];
    t1 = st->pad[1];
    h0 += t0 & M44; c = h0 >> 44; h0 &= M44;
    h1 += (((t0 >> 44) | (t1 << 20)) & M44) + c; c = h1 >> 44; h1 &= M44;
    h2 += ((t1 >> 24) & M42) + c; h2 &= M42;
    pli_store64_le(tag, h0 | (h1 << 44));
    pli_store64_le(tag + 8, (h1 >> 20) | (h2 << 24));
    pli_wipe(st, sizeof *st);
}

#define HIBIT_FULL (1ULL << 40)

/* a * b mod 2^130 - 5 in 44/44/42-bit limbs, carried (limb 2 may exceed 42 bits by a carry). */
static void mul44(uint64_t out[3], const uint64_t a[3], const uint64_t b[3])
{
    const uint64_t s1 = b[1] * (5 << 2), s2 = b[2] * (5 << 2);
    u128 d0 = (u128)a[0] * b[0] + (u128)a[1] * s2 + (u128)a[2] * s1;
    u128 d1 = (u128)a[0] * b[1] + (u128)a[1] * b[0] + (u128)a[2] * s2;
    u128 d2 = (u128)a[0] * b[2] + (u128)a[1] * b[1] + (u128)a[2] * b[0];
    uint64_t c, h0, h1, h2;
    c = (uint64_t)(d0 >> 44); h0 = (uint64_t)d0 & M44;
    d1 += c; c = (uint64_t)(d1 >> 44); h1 = (uint64_t)d1 & M44;
    d2 += c; c = (uint64_t)(d2 >> 42); h2 = (uint64_t)d2 & M42;
    h0 += c * 5; c = h0 >> 44; h0 &= M44;
    h1 += c; c = h1 >> 44; h1 &= M44;
    h2 += c;
    out[0] = h0;
    out[1] = h1;
    out[2] = h2;
}

void pli_poly1305_powers(const pli_poly1305_state *st, uint64_t pw[][3], int count)
{
    int k;
    pw[0][0] = st->r[0];
    pw[0][1] = st->r[1];
    pw[0][2] = st->r[2];
    for (k = 1; k < count; k++) {
        mul44(pw[k], pw[k - 1], pw[0]);
    }
}

void pli_poly1305_set44(pli_poly1305_state *st, uint64_t h0, uint64_t h1, uint64_t h2)
{
    uint64_t c;
    c = h0 >> 44; h0 &= M44; h1 += c;
    c = h1 >> 44; h1 &= M44; h2 += c;
    c = h2 >> 42; h2 &= M42; h0 += c * 5;
    c = h0 >> 44; h0 &= M44; h1 += c;
    st->h[0] = h0;
    st->h[1] = h1;
    st->h[2] = h2;
}

/* 130-bit value as 44/44/42-bit limbs -> 26-bit limbs (limbs carried first). */
static void to26(uint32_t out[5], uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint64_t c, lo, mid;
    c = a0 >> 44; a0 &= M44; a1 += c;
    c = a1 >> 44; a1 &= M44; a2 += c;
    lo = a0 | (a1 << 44);
    mid = (a1 >> 20) | (a2 << 24);
    out[0] = (uint32_t)lo & 0x3ffffff;
    out[1] = (uint32_t)(lo >> 26) & 0x3ffffff;
    out[2] = (uint32_t)((lo >> 52) | (mid << 12)) & 0x3ffffff;
    out[3] = (uint32_t)(mid >> 14) & 0x3ffffff;
    out[4] = (uint32_t)(mid >> 40) | (uint32_t)((a2 >> 40) << 24);
}

void pli_poly1305_get26(const pli_poly1305_state *st, uint32_t h[5], uint32_t r[5])
{
    to26(h, st->h[0], st->h[1], st->h[2]);
    to26(r, st->r[0], st->r[1], st->r[2]);
}

static void store26(pli_poly1305_state *st, const uint32_t l[5])
{
    /* Limbs 1-3 carried first: the bit fields below are ORed together, so
     * each must fit its 26 bits (limb 1 may come in at 2^26, a rare carry
     * that once gave a wrong tag about once in 600,000 calls).  Limb 4 may
     * exceed 26 bits: its top goes to h2's bits 40 and up. */
    uint64_t l1 = l[1], l2 = l[2], l3 = l[3], l4 = l[4], lo, mid;
    l2 += l1 >> 26; l1 &= 0x3ffffff;
    l3 += l2 >> 26; l2 &= 0x3ffffff;
    l4 += l3 >> 26; l3 &= 0x3ffffff;
    lo = (uint64_t)l[0] | (l1 << 26) | (l2 << 52);
    mid = (l2 >> 12) | (l3 << 14) | (l4 << 40);
    st->h[0] = lo & M44;
    st->h[1] = ((lo >> 44) | (mid << 20)) & M44;
    st->h[2] = (mid >> 24) | ((l4 >> 24) << 40);
}

#else /* 26-bit limbs, no 128-bit integer */

#define M26 0x3ffffffu

void pli_poly1305_init(pli_poly1305_state *st, const uint8_t key[PLI_KEY_BYTES])
{
    st->r[0] = pli_load32_le(key) & 0x3ffffff;
    st->r[1] = (pli_load32_le(key + 3) >> 2) & 0x3ffff03;
    st->r[2] = (pli_load32_le(key + 6) >> 4) & 0x3ffc0ff;
    st->r[3] = (pli_load32_le(key + 9) >> 6) & 0x3f03fff;
    st->r[4] = (pli_load32_le(key + 12) >> 8) & 0x00fffff;
    st->h[0] = st->h[1] = st->h[2] = st->h[3] = st->h[4] = 0;
    st->pad[0] = pli_load32_le(key + 16);
    st->pad[1] = pli_load32_le(key + 20);
    st->pad[2] = pli_load32_le(key + 24);
    st->pad[3] = pli_load32_le(key + 28);
}

static void blocks(pli_poly1305_state *st, const uint8_t *m, size_t len, uint32_t hibit)
{
    const uint32_t r0 = st->r[0], r1 = st->r[1], r2 = st->r[2], r3 = st->r[3], r4 = st->r[4];
    const uint32_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
    uint32_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4], c;
    while (len >= 16) {
        uint64_t d0, d1, d2, d3, d4;
        h0 += pli_load32_le(m) & M26;
        h1 += (pli_load32_le(m + 3) >> 2) & M26;
        h2 += (pli_load32_le(m + 6) >> 4) & M26;
        h3 += (pli_load32_le(m + 9) >> 6) & M26;
        h4 += (pli_load32_le(m + 12) >> 8) | hibit;
        d0 = (uint64_t)h0 * r0 + (uint64_t)h1 * s4 + (uint64_t)h2 * s3 + (uint64_t)h3 * s2 + (uint64_t)h4 * s1;
        d1 = (uint64_t)h0 * r1 + (uint64_t)h1 * r0 + (uint64_t)h2 * s4 + (uint64_t)h3 * s3 + (uint64_t)h4 * s2;
        d2 = (uint64_t)h0 * r2 + (uint64_t)h1 * r1 + (uint64_t)h2 * r0 + (uint64_t)h3 * s4 + (uint64_t)h4 * s3;
        d3 = (uint64_t)h0 * r3 + (uint64_t)h1 * r2 + (uint64_t)h2 * r1 + (uint64_t)h3 * r0 + (uint64_t)h4 * s4;
        d4 = (uint64_t)h0 * r4 + (uint64_t)h1 * r3 + (uint64_t)h2 * r2 + (uint64_t)h3 * r1 + (uint64_t)h4 * r0;
        c = (uint32_t)(d0 >> 26); h0 = (uint32_t)d0 & M26;
        d1 += c; c = (uint32_t)(d1 >> 26); h1 = (uint32_t)d1 & M26;
        d2 += c; c = (uint32_t)(d2 >> 26); h2 = (uint32_t)d2 & M26;
        d3 += c; c = (uint32_t)(d3 >> 26); h3 = (uint32_t)d3 & M26;
        d4 += c; c = (uint32_t)(d4 >> 26); h4 = (uint32_t)d4 & M26;
        h0 += c * 5; c = h0 >> 26; h0 &= M26;
        h1 += c;
        m += 16;
        len -= 16;
    }
    st->h[0] = h0; st->h[1] = h1; st->h[2] = h2; st->h[3] = h3; st->h[4] = h4;
}

void pli_poly1305_finish(pli_poly1305_state *st, uint8_t tag[PLI_TAG_BYTES])
{
    uint32_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4];
    uint32_t g0, g1, g2, g3, g4, c, mask;
    uint64_t f;
    c = h1 >> 26; h1 &= M26; h2 += c;
    c = h2 >> 26; h2 &= M26; h3 += c;
    c = h3 >> 26; h3 &= M26; h4 += c;
    c = h4 >> 26; h4 &= M26; h0 += c * 5;
    c = h0 >> 26; h0 &= M26; h1 += c;
    g0 = h0 + 5; c = g0 >> 26; g0 &= M26;
    g1 = h1 + c; c = g1 >> 26; g1 &= M26;
    g2 = h2 + c; c = g2 >> 26; g2 &= M26;
    g3 = h3 + c; c = g3 >> 26; g3 &= M26;
    g4 = h4 + c - (1u << 26);
    mask = (g4 >> 31) - 1; /* all ones when h >= p */
    h0 = (h0 & ~mask) | (g0 & mask);
    h1 = (h1 & ~mask) | (g1 & mask);
    h2 = (h2 & ~mask) | (g2 & mask);
    h3 = (h3 & ~mask) | (g3 & mask);
    h4 = (h4 & ~mask) | (g4 & mask);
    /* h as four 32-bit words, plus s mod 2^128 */
    h0 = h0 | (h1 << 26);
    h1 = (h1 >> 6) | (h2 << 20);
    h2 = (h2 >> 12) | (h3 << 14);
    h3 = (h3 >> 18) | (h4 << 8);
    f = (uint64_t)h0 + st->pad[0]; pli_store32_le(tag, (uint32_t)f);
    f = (uint64_t)h1 + st->pad[1] + (f >> 32); pli_store32_le(tag + 4, (uint32_t)f);
    f = (uint64_t)h2 + st->pad[2] + (f >> 32); pli_store32_le(tag + 8, (uint32_t)f);
    f = (uint64_t)h3 + st->pad[3] + (f >> 32); pli_store32_le(tag + 12, (uint32_t)f);
    pli_wipe(st, sizeof *st);
}

#define HIBIT_FULL (1u << 24)

void pli_poly1305_get26(const pli_poly1305_state *st, uint32_t h[5], uint32_t r[5])
{
    int i;
    for (i = 0; i < 5; i++) {
        h[i] = st->h[i];
        r[i] = st->r[i];
    }
}

static void store26(pli_poly1305_state *st, const uint32_t l[5])
{
    int i;
    for (i = 0; i < 5; i++) {
        st->h[i] = l[i];
    }
}

#endif

/* 26-bit limb sums (each < 2^63) carried down to limbs of 26 bits (limb 1 a few more). */
static void carry26(uint32_t out[5], const uint64_t d_in[5])
{
    uint64_t d0 = d_in[0], d1 = d_in[1], d2 = d_in[2], d3 = d_in[3], d4 = d_in[4], c;
    c = d0 >> 26; d0 &= 0x3ffffff; d1 += c;
    c = d1 >> 26; d1 &= 0x3ffffff; d2 += c;
    c = d2 >> 26; d2 &= 0x3ffffff; d3 += c;
    c = d3 >> 26; d3 &= 0x3ffffff; d4 += c;
    c = d4 >> 26; d4 &= 0x3ffffff; d0 += c * 5;
    c = d0 >> 26; d0 &= 0x3ffffff; d1 += c;
    out[0] = (uint32_t)d0; out[1] = (uint32_t)d1; out[2] = (uint32_t)d2; out[3] = (uint32_t)d3; out[4] = (uint32_t)d4;
}

void pli_poly1305_set26(pli_poly1305_state *st, const uint64_t h[5])
{
    uint32_t l[5];
    carry26(l, h);
    store26(st, l);
    pli_wipe(l, sizeof l);
}

void pli_poly1305_mul26(uint32_t out[5], const uint32_t a[5], const uint32_t b[5])
{
    const uint64_t s1 = (uint64_t)b[1] * 5, s2 = (uint64_t)b[2] * 5, s3 = (uint64_t)b[3] * 5, s4 = (uint64_t)b[4] * 5;
    uint64_t d[5];
    d[0] = (uint64_t)a[0] * b[0] + a[1] * s4 + a[2] * s3 + a[3] * s2 + a[4] * s1;
    d[1] = (uint64_t)a[0] * b[1] + (uint64_t)a[1] * b[0] + a[2] * s4 + a[3] * s3 + a[4] * s2;
    d[2] = (uint64_t)a[0] * b[2] + (uint64_t)a[1] * b[1] + (uint64_t)a[2] * b[0] + a[3] * s4 + a[4] * s3;
    d[3] = (uint64_t)a[0] * b[3] + (uint64_t)a[1] * b[2] + (uint64_t)a[2] * b[1] + (uint64_t)a[3] * b[0] + a[4] * s4;
    d[4] = (uint64_t)a[0] * b[4] + (uint64_t)a[1] * b[3] + (uint64_t)a[2] * b[2] + (uint64_t)a[3] * b[1] +
           (uint64_t)a[4] * b[0];
    carry26(out, d);
    pli_wipe(d, sizeof d);
}

/* Below this the SIMD setup (r^2, r^3, r^4) costs more than it saves. */
#define SIMD_MIN_BYTES 256

void pli_poly1305_blocks(pli_poly1305_state *st, const uint8_t *m, size_t len)
{
    if (len >= SIMD_MIN_BYTES) {
        const pli_impl *impl = pli_current_impl();
        if (impl->poly1305_blocks != NULL) {
            size_t done = impl->poly1305_blocks(st, m, len);
            m += done;
            len -= done;
        }
    }
    blocks(st, m, len, HIBIT_FULL);
}

void pli_poly1305_padded(pli_poly1305_state *st, const uint8_t *m, size_t len)
{
    size_t whole = len & ~(size_t)15;
    pli_poly1305_blocks(st, m, whole);
    if (len > whole) {
        uint8_t last[16] = {0};
        memcpy(last, m + whole, len - whole);
        blocks(st, last, 16, HIBIT_FULL);
        pli_wipe(last, sizeof last);
    }
}

void pli_poly1305(uint8_t tag[PLI_TAG_BYTES], const uint8_t *msg, size_t len,
                  const uint8_t key[PLI_KEY_BYTES])
{
    pli_poly1305_state st;
    size_t whole = len & ~(size_t)15;
    pli_poly1305_init(&st, key);
    pli_poly1305_blocks(&st, msg, whole);
    if (len > whole) {
        /* A short last block: its 2^(8*n) bit is the 0x01 byte after it. */
        uint8_t last[16] = {0};
        memcpy(last, msg + whole, len - whole);
        last[len - whole] = 1;
        blocks(&st, last, 16, 0);
        pli_wipe(last, sizeof last);
    }
    pli_poly1305_finish(&st, tag);
}

int pli_tags_equal(const uint8_t a[PLI_TAG_BYTES], const uint8_t b[PLI_TAG_BYTES])
{
    /* OR of all byte differences, then a branch-free map of 0 -> 1, else 0. */
    unsigned diff = 0;
    int i;
    for (i = 0; i < PLI_TAG_BYTES; i++) {
        diff |= (unsigned)(a[i] ^ b[i]);
    }
    return (int)(1 & ((diff - 1) >> 8));
}
