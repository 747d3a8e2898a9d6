/*
 * pli_internal.h - what the files of the crypto core share and Python never
 * sees: byte-order helpers, the wipe, the ChaCha20 state layout and the
 * dispatch table of SIMD paths.
 */
#ifndef PLI_INTERNAL_H
#define PLI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pli_crypto.h"

/* x86 SIMD paths are compiled on x86 only, with per-function target
 * attributes (setuptools cannot give one file its own -m flags).
 * -DPLI_NO_SIMD builds the portable core alone. */
#if !defined(PLI_NO_SIMD) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
#define PLI_HAVE_X86_SIMD 1
#else
#define PLI_HAVE_X86_SIMD 0
#endif

static inline uint32_t pli_load32_le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void pli_store32_le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint64_t pli_load64_le(const uint8_t *p)
{
    return (uint64_t)pli_load32_le(p) | ((uint64_t)pli_load32_le(p + 4) << 32);
}

static inline void pli_store64_le(uint8_t *p, uint64_t v)
{
    pli_store32_le(p, (uint32_t)v);
    pli_store32_le(p + 4, (uint32_t)(v >> 32));
}

/* Zero memory that held secrets, in a way the compiler may not drop. */
void pli_wipe(void *p, size_t len);

/* The 16-word ChaCha20 input state: constants, key, counter, nonce. */
void pli_chacha20_init(uint32_t state[16], const uint8_t key[PLI_KEY_BYTES],
                       const uint8_t nonce[PLI_NONCE_BYTES], uint32_t counter);

/* 1 if blocks counter .. counter + ceil(len/64) - 1 all fit in 32 bits. */
int pli_chacha20_counter_fits(uint32_t counter, size_t len);

/* 1 if a[0..len) and b[0..len) overlap without being the same buffer. */
int pli_partial_overlap(const uint8_t *a, const uint8_t *b, size_t len);

/* The portable keystream XOR: dst = src ^ keystream from state (state[12]
 * is the first block's counter; the caller has checked it cannot wrap). */
void pli_chacha20_xor_scalar(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16]);
void pli_otp_xor_scalar(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len);

/* Poly1305, incremental over whole 16-byte blocks (the AEAD MAC layout pads
 * everything to 16 bytes, so only the one-shot call ever sees a short block).
 * 64-bit limbs (donna-64) when the compiler has a 128-bit integer, 26-bit
 * limbs (donna-32) otherwise; -DPLI_POLY1305_32 forces the latter for tests. */
#if defined(__SIZEOF_INT128__) && !defined(PLI_POLY1305_32)
#define PLI_POLY1305_64 1
typedef struct {
    uint64_t r[3], h[3], pad[2];
} pli_poly1305_state;
#else
#define PLI_POLY1305_64 0
typedef struct {
    uint32_t r[5], h[5], pad[4];
} pli_poly1305_state;
#endif

void pli_poly1305_init(pli_poly1305_state *st, const uint8_t key[PLI_KEY_BYTES]);
/* len is a multiple of 16; every block gets the 2^128 bit (full blocks). */
void pli_poly1305_blocks(pli_poly1305_state *st, const uint8_t *m, size_t len);
/* m[0..len) then zeros up to a multiple of 16 (the AEAD's pad16). */
void pli_poly1305_padded(pli_poly1305_state *st, const uint8_t *m, size_t len);
/* Writes the tag and wipes the state. */
void pli_poly1305_finish(pli_poly1305_state *st, uint8_t tag[PLI_TAG_BYTES]);

#if PLI_POLY1305_64
/* For the IFMA Poly1305 (radix 2^44, the state's own): pw[k] = r^(k+1) for k < count, limbs carried
 * (under 2^44, 2^44, 2^42 + a little); h set from limb sums (each under 2^63), carried here. */
void pli_poly1305_powers(const pli_poly1305_state *st, uint64_t pw[][3], int count);
void pli_poly1305_set44(pli_poly1305_state *st, uint64_t h0, uint64_t h1, uint64_t h2);
#endif

/* For the SIMD Poly1305: the state's h and r in 26-bit limbs (h carried, not
 * reduced), h set back from 64-bit limb sums (carried here), and a 26-bit
 * multiplication mod 2^130 - 5 (carried result). */
void pli_poly1305_get26(const pli_poly1305_state *st, uint32_t h[5], uint32_t r[5]);
void pli_poly1305_set26(pli_poly1305_state *st, const uint64_t h[5]);
void pli_poly1305_mul26(uint32_t out[5], const uint32_t a[5], const uint32_t b[5]);

#if PLI_HAVE_X86_SIMD
void pli_chacha20_xor_avx2(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16]);
void pli_chacha20_xor_avx512(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16]);
void pli_otp_xor_avx2(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len);
void pli_otp_xor_avx512(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len);
size_t pli_poly1305_blocks_avx2(pli_poly1305_state *st, const uint8_t *m, size_t len);
#if PLI_POLY1305_64
size_t pli_poly1305_blocks_avx512(pli_poly1305_state *st, const uint8_t *m, size_t len);
#endif
#endif

/* One SIMD path: the bulk loops that differ between CPUs.  Everything else
 * (checks, key setup, short inputs, the batch loop) is shared. */
typedef struct {
    const char *name;
    void (*chacha20_xor)(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16]);
    void (*otp_xor)(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len);
    /* Full blocks, 64 bytes at a time: returns how many bytes it took (the
     * rest goes to the portable code).  NULL: portable only. */
    size_t (*poly1305_blocks)(pli_poly1305_state *st, const uint8_t *m, size_t len);
} pli_impl;

/* Threads (parallel.c).  pli_parallel calls run(ctx, start, end) over
 * disjoint ranges covering [0, n), `grain` items each (the last one shorter),
 * on up to `threads` threads, the caller's among them; it returns when all
 * are done.  run must be safe to call concurrently on disjoint ranges. */
size_t pli_max_threads(void);
void pli_parallel(size_t n, size_t grain, size_t threads, void (*run)(void *ctx, size_t start, size_t end),
                  void *ctx);

/* The path in use (chosen from the CPU on first call). */
const pli_impl *pli_current_impl(void);

#endif
