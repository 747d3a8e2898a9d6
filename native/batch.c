/*
 * batch.c - sealing and opening many records in one call (RFC 8439 AEAD MAC
 * layout for both the ChaCha20 and the one-time pad kinds).  One call for
 * 100,000 messages is what makes a mailbox import fast: the per-call cost of
 * Python is paid once, and the GIL is released for the whole batch.
 */
#if !defined(_POSIX_C_SOURCE) && !defined(__APPLE__)
#define _POSIX_C_SOURCE 200809L /* pthreads and sysconf under -std=c99 */
#endif
#include <string.h>

#include "pli_internal.h"

/* POSIX threads with the gcc/clang atomic builtins; otherwise one thread. */
#if !defined(PLI_NO_THREADS) && (defined(__unix__) || defined(__APPLE__)) && (defined(__GNUC__) || defined(__clang__))
#define PLI_HAVE_THREADS 1
#else
#define PLI_HAVE_THREADS 0
#endif

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

/* The records [start, end) of one batch, one at a time. */
static size_t run_range(const pli_impl *impl, pli_record *records, size_t start, size_t end,
                        int (*one)(const pli_impl *, pli_record *))
{
    size_t i, failed = 0;
    for (i = start; i < end; i++) {
        records[i].status = one(impl, &records[i]);
        failed += records[i].status != PLI_OK;
    }
    return failed;
}

#if PLI_HAVE_THREADS
#include <pthread.h>
#include <unistd.h>

/*
 * Large batches run on several threads: records are independent, and the
 * Python side has released the GIL, so the cores are otherwise idle.  The
 * threads take GRAIN records at a time from a shared counter, so that a core
 * slowed by other work gets fewer records instead of holding the call up.
 */
#define GRAIN 16
#define MAX_THREADS 16
/* Below this many bytes a thread costs more (tens of microseconds) than it saves. */
#define THREAD_MIN_BYTES (512u * 1024u)

typedef struct {
    const pli_impl *impl;
    pli_record *records;
    size_t n;
    size_t next;   /* atomic: the first record nobody has taken */
    size_t failed; /* atomic */
    int (*one)(const pli_impl *, pli_record *);
} shared_batch;

static void *worker(void *arg)
{
    shared_batch *b = arg;
    size_t failed = 0;
    for (;;) {
        size_t start = __atomic_fetch_add(&b->next, GRAIN, __ATOMIC_RELAXED);
        if (start >= b->n) {
            break;
        }
        failed += run_range(b->impl, b->records, start, start + GRAIN < b->n ? start + GRAIN : b->n, b->one);
    }
    __atomic_fetch_add(&b->failed, failed, __ATOMIC_RELAXED);
    return NULL;
}

static int configured_threads; /* atomic; 0: one per online CPU */

int pli_set_batch_threads(int n)
{
    if (n < 0) {
        return PLI_ERR_ARGUMENT;
    }
    __atomic_store_n(&configured_threads, n, __ATOMIC_RELAXED);
    return PLI_OK;
}

static size_t threads_for(const pli_record *records, size_t n)
{
    long want = __atomic_load_n(&configured_threads, __ATOMIC_RELAXED);
    size_t i, bytes = 0;
    if (want == 0) {
        want = sysconf(_SC_NPROCESSORS_ONLN);
    }
    if (want <= 1 || n < 2 * GRAIN) {
        return 1;
    }
    for (i = 0; i < n && bytes < THREAD_MIN_BYTES; i++) {
        bytes += records[i].len + records[i].aad_len;
    }
    if (bytes < THREAD_MIN_BYTES) {
        return 1;
    }
    if (want > MAX_THREADS) {
        want = MAX_THREADS;
    }
    return (size_t)want < n / GRAIN ? (size_t)want : n / GRAIN;
}

static size_t run(pli_record *records, size_t n, int (*one)(const pli_impl *, pli_record *))
{
    shared_batch b;
    pthread_t threads[MAX_THREADS];
    size_t started = 0, want, i;
    if (records == NULL) {
        return n;
    }
    b.impl = pli_current_impl();
    want = threads_for(records, n);
    if (want <= 1) {
        return run_range(b.impl, records, 0, n, one);
    }
    b.records = records;
    b.n = n;
    b.next = 0;
    b.failed = 0;
    b.one = one;
    /* The calling thread is one of the workers; a thread that cannot be
     * started only means fewer helpers. */
    while (started + 1 < want && pthread_create(&threads[started], NULL, worker, &b) == 0) {
        started++;
    }
    worker(&b);
    for (i = 0; i < started; i++) {
        pthread_join(threads[i], NULL);
    }
    return b.failed;
}

#else

int pli_set_batch_threads(int n)
{
    return n < 0 ? PLI_ERR_ARGUMENT : PLI_OK; /* no threads in this build: always one */
}

static size_t run(pli_record *records, size_t n, int (*one)(const pli_impl *, pli_record *))
{
    if (records == NULL) {
        return n;
    }
    return run_range(pli_current_impl(), records, 0, n, one);
}

#endif

size_t pli_open_batch(pli_record *records, size_t n)
{
    return run(records, n, open_one);
}

size_t pli_seal_batch(pli_record *records, size_t n)
{
    return run(records, n, seal_one);
}
