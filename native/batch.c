/*
 * batch.c - sealing and opening many records in one call (RFC 8439 AEAD MAC
 * layout for both the ChaCha20 and the one-time pad kinds).  One call for
 * 100,000 messages is what makes a mailbox import fast: the per-call cost of
 * Python is paid once, and the GIL is released for the whole batch.  Large
 * batches spread their records over threads (parallel.c).
 */
#include <string.h>

#include "pli_internal.h"

/* The record's arguments, checked as the header promises. */
static int check_record(const pli_record *r)
{
    if ((r->data == NULL && r->len != 0) || (r->aad == NULL && r->aad_len != 0) || r->key == NULL ||
        r->tag == NULL) {
        return PLI_ERR_ARGUMENT;
    }
    if (r->kind == PLI_KIND_CHACHA20_POLY1305) {
        if (r->nonce == NULL) {
            return PLI_ERR_ARGUMENT;
        }
        /* Block 0 is the Poly1305 key, the data runs from block 1. */
        return pli_chacha20_counter_fits(1, r->len) ? PLI_OK : PLI_ERR_COUNTER;
    }
    if (r->kind == PLI_KIND_OTP_POLY1305) {
        if (r->pad == NULL && r->len != 0) {
            return PLI_ERR_ARGUMENT;
        }
        if (r->len != 0 && (r->data == r->pad || pli_partial_overlap(r->data, r->pad, r->len))) {
            return PLI_ERR_OVERLAP;
        }
        return PLI_OK;
    }
    return PLI_ERR_ARGUMENT;
}

/* Poly1305 over aad || pad16 || data || pad16 || le64(aad_len) || le64(len). */
static void aead_mac(uint8_t tag[PLI_TAG_BYTES], const uint8_t mac_key[PLI_KEY_BYTES], const pli_record *r)
{
    pli_poly1305_state st;
    uint8_t lengths[16];
    pli_poly1305_init(&st, mac_key);
    pli_poly1305_padded(&st, r->aad, r->aad_len);
    pli_poly1305_padded(&st, r->data, r->len);
    pli_store64_le(lengths, (uint64_t)r->aad_len);
    pli_store64_le(lengths + 8, (uint64_t)r->len);
    pli_poly1305_blocks(&st, lengths, sizeof lengths);
    pli_poly1305_finish(&st, tag);
}

/* The record's one-time Poly1305 key, and (stream kind) the ChaCha20 state at block 1. */
static void record_keys(uint8_t mac_key[PLI_KEY_BYTES], uint32_t state[16], const pli_record *r)
{
    if (r->kind == PLI_KIND_CHACHA20_POLY1305) {
        uint8_t block0[PLI_BLOCK_BYTES];
        pli_chacha20_init(state, r->key, r->nonce, 0);
        pli_chacha20_block(block0, r->key, r->nonce, 0);
        memcpy(mac_key, block0, PLI_KEY_BYTES);
        pli_wipe(block0, sizeof block0);
        state[12] = 1;
    } else {
        memcpy(mac_key, r->key, PLI_KEY_BYTES);
    }
}

static void transform(const pli_impl *impl, const pli_record *r, const uint32_t state[16])
{
    if (r->len == 0) {
        return;
    }
    if (r->kind == PLI_KIND_CHACHA20_POLY1305) {
        impl->chacha20_xor(r->data, r->data, r->len, state);
    } else {
        impl->otp_xor(r->data, r->data, r->pad, r->len);
    }
}

static int seal_one(const pli_impl *impl, pli_record *r)
{
    uint8_t mac_key[PLI_KEY_BYTES];
    uint32_t state[16];
    int status = check_record(r);
    if (status != PLI_OK) {
        return status;
    }
    record_keys(mac_key, state, r);
    transform(impl, r, state);
    aead_mac(r->tag, mac_key, r);
    pli_wipe(mac_key, sizeof mac_key);
    pli_wipe(state, sizeof state);
    return PLI_OK;
}

static int open_one(const pli_impl *impl, pli_record *r)
{
    uint8_t mac_key[PLI_KEY_BYTES], tag[PLI_TAG_BYTES];
    uint32_t state[16];
    int status = check_record(r);
    if (status != PLI_OK) {
        return status;
    }
    record_keys(mac_key, state, r);
    /* MAC first: a forged record is never decrypted (its data stays as it was). */
    aead_mac(tag, mac_key, r);
    if (pli_tags_equal(tag, r->tag)) {
        transform(impl, r, state);
    } else {
        status = PLI_ERR_BAD_TAG;
    }
    pli_wipe(mac_key, sizeof mac_key);
    pli_wipe(state, sizeof state);
    pli_wipe(tag, sizeof tag);
    return status;
}

typedef struct {
    const pli_impl *impl;
    pli_record *records;
    int (*one)(const pli_impl *, pli_record *);
    size_t failed; /* atomic when threads share it */
} batch_work;

/* The records [start, end) of one batch, one at a time. */
static void run_range(void *ctx, size_t start, size_t end)
{
    batch_work *w = ctx;
    size_t i, failed = 0;
    for (i = start; i < end; i++) {
        w->records[i].status = w->one(w->impl, &w->records[i]);
        failed += w->records[i].status != PLI_OK;
    }
#if defined(__GNUC__) || defined(__clang__)
    __atomic_fetch_add(&w->failed, failed, __ATOMIC_RELAXED);
#else
    w->failed += failed; /* built without threads (parallel.c): one caller at a time */
#endif
}

/* Records a thread takes at a time, and the batch size (bytes) below which a
 * thread costs more (tens of microseconds to start) than it saves. */
#define GRAIN 16
#define THREAD_MIN_BYTES (512u * 1024u)

static size_t threads_for(const pli_record *records, size_t n)
{
    size_t i, bytes = 0;
    for (i = 0; i < n && bytes < THREAD_MIN_BYTES; i++) {
        bytes += records[i].len + records[i].aad_len;
    }
    return bytes < THREAD_MIN_BYTES ? 1 : pli_max_threads();
}

static size_t run(pli_record *records, size_t n, int (*one)(const pli_impl *, pli_record *))
{
    batch_work w;
    if (records == NULL) {
        return n;
    }
    w.impl = pli_current_impl();
    w.records = records;
    w.one = one;
    w.failed = 0;
    pli_parallel(n, GRAIN, threads_for(records, n), run_range, &w);
    return w.failed;
}

size_t pli_open_batch(pli_record *records, size_t n)
{
    return run(records, n, open_one);
}

size_t pli_seal_batch(pli_record *records, size_t n)
{
    return run(records, n, seal_one);
}
