/*
 * chacha20.c - the ChaCha20 stream cipher of RFC 8439: the state, the
 * portable block function, and the public entry points (which check the
 * counter, then hand the bulk loop to the SIMD path in use, on several
 * threads for long inputs).
 */
#include <string.h>

#include "pli_internal.h"

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))
#define QUARTER(a, b, c, d)                  \
    do {                                     \
        a += b; d ^= a; d = ROTL32(d, 16);   \
        c += d; b ^= c; b = ROTL32(b, 12);   \
        a += b; d ^= a; d = ROTL32(d, 8);    \
        c += d; b ^= c; b = ROTL32(b, 7);    \
    } while (0)

void pli_chacha20_init(uint32_t state[16], const uint8_t key[PLI_KEY_BYTES],
                       const uint8_t nonce[PLI_NONCE_BYTES], uint32_t counter)
{
    int i;
    /* "expand 32-byte k" */
    state[0] = 0x61707865u;
    state[1] = 0x3320646eu;
    state[2] = 0x79622d32u;
    state[3] = 0x6b206574u;
    for (i = 0; i < 8; i++) {
        state[4 + i] = pli_load32_le(key + 4 * i);
    }
    state[12] = counter;
    for (i = 0; i < 3; i++) {
        state[13 + i] = pli_load32_le(nonce + 4 * i);
    }
}

/* One 64-byte keystream block for the counter in state[12]. */
static void chacha20_block_words(uint8_t out[PLI_BLOCK_BYTES], const uint32_t state[16])
{
    uint32_t x[16];
    int i;
    memcpy(x, state, sizeof x);
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
        pli_store32_le(out + 4 * i, x[i] + state[i]);
    }
    pli_wipe(x, sizeof x);
}

void pli_chacha20_xor_scalar(uint8_t *dst, const uint8_t *src, size_t len, const uint32_t state[16])
{
    uint32_t s[16];
    uint8_t block[PLI_BLOCK_BYTES];
    size_t i;
    memcpy(s, state, sizeof s);
    while (len > 0) {
        size_t n = len < PLI_BLOCK_BYTES ? len : PLI_BLOCK_BYTES;
        chacha20_block_words(block, s);
        for (i = 0; i < n; i++) {
            dst[i] = (uint8_t)(src[i] ^ block[i]);
        }
        s[12]++;
        dst += n;
        src += n;
        len -= n;
    }
    pli_wipe(block, sizeof block);
    pli_wipe(s, sizeof s);
}

void pli_chacha20_block(uint8_t out[PLI_BLOCK_BYTES], const uint8_t key[PLI_KEY_BYTES],
                        const uint8_t nonce[PLI_NONCE_BYTES], uint32_t counter)
{
    uint32_t state[16];
    pli_chacha20_init(state, key, nonce, counter);
    chacha20_block_words(out, state);
    pli_wipe(state, sizeof state);
}

int pli_chacha20_counter_fits(uint32_t counter, size_t len)
{
    uint64_t blocks = (uint64_t)(len / PLI_BLOCK_BYTES) + (len % PLI_BLOCK_BYTES != 0);
    return blocks == 0 || (uint64_t)counter + blocks - 1 <= 0xFFFFFFFFu;
}

int pli_partial_overlap(const uint8_t *a, const uint8_t *b, size_t len)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    if (len == 0 || x == y) {
        return 0;
    }
    return x < y ? y - x < len : x - y < len;
}

/* A long keystream is split between threads (parallel.c) in runs of
 * GRAIN_BLOCKS blocks: block i's keystream depends only on counter + i.  From
 * 1 MiB up, where starting a thread costs well under 1% of the work. */
#define THREAD_MIN_BYTES (1u << 20)
#define GRAIN_BLOCKS 4096

typedef struct {
    const pli_impl *impl;
    uint8_t *dst;
    const uint8_t *src;
    size_t len;
    const uint32_t *state;
} xor_work;

static void xor_blocks(void *ctx, size_t start, size_t end)
{
    const xor_work *w = ctx;
    size_t from = start * PLI_BLOCK_BYTES, to = end * PLI_BLOCK_BYTES;
    uint32_t state[16];
    memcpy(state, w->state, sizeof state);
    state[12] += (uint32_t)start; /* the caller checked that no counter wraps */
    w->impl->chacha20_xor(w->dst + from, w->src + from, (to < w->len ? to : w->len) - from, state);
    pli_wipe(state, sizeof state);
}

int pli_chacha20_xor(uint8_t *dst, const uint8_t *src, size_t len,
                     const uint8_t key[PLI_KEY_BYTES], const uint8_t nonce[PLI_NONCE_BYTES],
                     uint32_t counter)
{
    uint32_t state[16];
    if (len == 0) {
        return PLI_OK;
    }
    if (dst == NULL || src == NULL || key == NULL || nonce == NULL) {
        return PLI_ERR_ARGUMENT;
    }
    if (!pli_chacha20_counter_fits(counter, len)) {
        return PLI_ERR_COUNTER;
    }
    if (pli_partial_overlap(dst, src, len)) {
        return PLI_ERR_OVERLAP;
    }
    pli_chacha20_init(state, key, nonce, counter);
    if (len >= THREAD_MIN_BYTES) {
        xor_work w;
        w.impl = pli_current_impl();
        w.dst = dst;
        w.src = src;
        w.len = len;
        w.state = state;
        pli_parallel((len + PLI_BLOCK_BYTES - 1) / PLI_BLOCK_BYTES, GRAIN_BLOCKS, pli_max_threads(), xor_blocks, &w);
    } else {
        pli_current_impl()->chacha20_xor(dst, src, len, state);
    }
    pli_wipe(state, sizeof state);
    return PLI_OK;
}
