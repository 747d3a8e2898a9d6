/*
 * batch.c - sealing and opening messages with the RFC 8439 AEAD MAC layout,
 * for the ChaCha20 and the one-time pad kinds: one message (pli_aead_*,
 * pli_otp_seal/open), an array of records (pli_open_batch), or a column
 * batch (pli_open_columns).  One call for 100,000 messages is what makes a
 * mailbox import fast: the per-call cost of Python is paid once, and the GIL
 * is released for the whole batch.  Large batches spread their messages
 * over threads (parallel.c).
 */
#include <string.h>

#include "pli_internal.h"

/* One message, whichever entry point it came from; its arguments are checked. */
typedef struct {
    int            kind;
    const uint8_t *in;       /* len bytes */
    uint8_t       *out;      /* len bytes: in itself, or apart from it */
    size_t         len;
    const uint8_t *aad;
    size_t         aad_len;
    const uint8_t *key;
    const uint8_t *nonce;    /* CHACHA20 kind */
    const uint8_t *pad;      /* OTP kind */
} message;

/* 1 if a[0..alen) and b[0..blen) share no byte (empty ranges share none). */
static int apart(const void *a, size_t alen, const void *b, size_t blen)
{
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    return alen == 0 || blen == 0 || (x < y ? y - x >= alen : x - y >= blen);
}

/* Poly1305 over aad || pad16 || ct || pad16 || le64(aad_len) || le64(len). */
static void aead_mac(uint8_t tag[PLI_TAG_BYTES], const uint8_t mac_key[PLI_KEY_BYTES], const uint8_t *aad,
                     size_t aad_len, const uint8_t *ct, size_t len)
{
    pli_poly1305_state st;
    uint8_t lengths[16];
    pli_poly1305_init(&st, mac_key);
    pli_poly1305_padded(&st, aad, aad_len);
    pli_poly1305_padded(&st, ct, len);
    pli_store64_le(lengths, (uint64_t)aad_len);
    pli_store64_le(lengths + 8, (uint64_t)len);
    pli_poly1305_blocks(&st, lengths, sizeof lengths);
    pli_poly1305_finish(&st, tag);
}

/* A message's secrets: its one-time Poly1305 key and, for the stream kind, the first keystream blocks
 * and the ChaCha20 state after them.  Block 0 (the MAC key) comes from the SIMD path together with
 * blocks 1-7, which the data needs anyway: a separate scalar block cost as much as eight SIMD ones. */
#define HEAD_BYTES 512

typedef struct {
    uint8_t  mac_key[PLI_KEY_BYTES];
    uint8_t  head[HEAD_BYTES];  /* keystream from block 0: head_len bytes */
    size_t   head_len;
    uint32_t state[16];         /* at the block after the head */
} message_keys;

static const uint8_t zeros[HEAD_BYTES];

static void keys_for(message_keys *k, const pli_impl *impl, const message *m)
{
    if (m->kind == PLI_KIND_CHACHA20_POLY1305) {
        k->head_len = m->len < HEAD_BYTES - PLI_BLOCK_BYTES ? PLI_BLOCK_BYTES + m->len : HEAD_BYTES;
        pli_chacha20_init(k->state, m->key, m->nonce, 0);
        impl->chacha20_xor(k->head, zeros, k->head_len, k->state);
        memcpy(k->mac_key, k->head, PLI_KEY_BYTES);
        k->state[12] = HEAD_BYTES / PLI_BLOCK_BYTES; /* only used when the data runs past the head */
    } else {
        k->head_len = 0;
        memcpy(k->mac_key, m->key, PLI_KEY_BYTES);
    }
}

static void wipe_keys(message_keys *k)
{
    pli_wipe(k->mac_key, sizeof k->mac_key);
    pli_wipe(k->head, k->head_len);
    pli_wipe(k->state, sizeof k->state);
}

static void transform(const pli_impl *impl, const message *m, const message_keys *k)
{
    if (m->len == 0) {
        return;
    }
    if (m->kind == PLI_KIND_CHACHA20_POLY1305) {
        const size_t first = k->head_len - PLI_BLOCK_BYTES;
        impl->otp_xor(m->out, m->in, k->head + PLI_BLOCK_BYTES, first);
        if (m->len > first) {
            impl->chacha20_xor(m->out + first, m->in + first, m->len - first, k->state);
        }
    } else {
        impl->otp_xor(m->out, m->in, m->pad, m->len);
    }
}

static void seal_message(const pli_impl *impl, const message *m, uint8_t tag[PLI_TAG_BYTES])
{
    message_keys k;
    keys_for(&k, impl, m);
    transform(impl, m, &k);
    aead_mac(tag, k.mac_key, m->aad, m->aad_len, m->out, m->len);
    wipe_keys(&k);
}

/* PLI_OK, or PLI_ERR_BAD_TAG with out untouched: a forged message is never decrypted. */
static int open_message(const pli_impl *impl, const message *m, const uint8_t tag[PLI_TAG_BYTES])
{
    uint8_t computed[PLI_TAG_BYTES];
    message_keys k;
    int status = PLI_ERR_BAD_TAG;
    keys_for(&k, impl, m);
    aead_mac(computed, k.mac_key, m->aad, m->aad_len, m->in, m->len);
    if (pli_tags_equal(computed, tag)) {
        transform(impl, m, &k);
        status = PLI_OK;
    }
    wipe_keys(&k);
    pli_wipe(computed, sizeof computed);
    return status;
}

/* The checks every message passes, whatever its entry point: buffers there, the kind, the counter (the
 * data starts at block 1). */
static int check_message(const message *m)
{
    if ((m->len != 0 && (m->in == NULL || m->out == NULL)) || (m->aad == NULL && m->aad_len != 0) ||
        m->key == NULL) {
        return PLI_ERR_ARGUMENT;
    }
    if (m->kind == PLI_KIND_CHACHA20_POLY1305) {
        if (m->nonce == NULL) {
            return PLI_ERR_ARGUMENT;
        }
        return pli_chacha20_counter_fits(1, m->len) ? PLI_OK : PLI_ERR_COUNTER;
    }
    if (m->kind == PLI_KIND_OTP_POLY1305) {
        return m->pad == NULL && m->len != 0 ? PLI_ERR_ARGUMENT : PLI_OK;
    }
    return PLI_ERR_ARGUMENT;
}

/* Nothing a message writes (out; the tag too when sealing) may land on what it reads, except out == in
 * (in place).  For the column batch, check_columns says the same of the whole batch. */
static int writes_apart(const message *m, const uint8_t *tag, int tag_written)
{
    const size_t nonce_len = m->nonce != NULL ? PLI_NONCE_BYTES : 0, pad_len = m->pad != NULL ? m->len : 0;
    if ((m->out != m->in && !apart(m->out, m->len, m->in, m->len)) || !apart(m->out, m->len, m->aad, m->aad_len) ||
        !apart(m->out, m->len, m->key, PLI_KEY_BYTES) || !apart(m->out, m->len, m->nonce, nonce_len) ||
        !apart(m->out, m->len, m->pad, pad_len) || !apart(m->out, m->len, tag, PLI_TAG_BYTES)) {
        return PLI_ERR_OVERLAP;
    }
    if (tag_written &&
        (!apart(tag, PLI_TAG_BYTES, m->in, m->len) || !apart(tag, PLI_TAG_BYTES, m->aad, m->aad_len) ||
         !apart(tag, PLI_TAG_BYTES, m->key, PLI_KEY_BYTES) || !apart(tag, PLI_TAG_BYTES, m->nonce, nonce_len) ||
         !apart(tag, PLI_TAG_BYTES, m->pad, pad_len))) {
        return PLI_ERR_OVERLAP;
    }
    return PLI_OK;
}

/* Both sets of checks, for the record and single-message entry points. */
static int check_one(const message *m, const uint8_t *tag, int tag_written)
{
    int status = check_message(m);
    if (status == PLI_OK && tag == NULL) {
        status = PLI_ERR_ARGUMENT;
    }
    return status == PLI_OK ? writes_apart(m, tag, tag_written) : status;
}

/* -- records --------------------------------------------------------------------------------------- */

static void record_message(message *m, const pli_record *r)
{
    m->kind = r->kind;
    m->in = r->data;
    m->out = r->data;
    m->len = r->len;
    m->aad = r->aad;
    m->aad_len = r->aad_len;
    m->key = r->key;
    /* The field a kind does not use may hold anything: it is never read. */
    m->nonce = r->kind == PLI_KIND_CHACHA20_POLY1305 ? r->nonce : NULL;
    m->pad = r->kind == PLI_KIND_OTP_POLY1305 ? r->pad : NULL;
}

static int seal_record(const pli_impl *impl, pli_record *r)
{
    message m;
    int status;
    record_message(&m, r);
    status = check_one(&m, r->tag, 1);
    if (status == PLI_OK) {
        seal_message(impl, &m, r->tag);
    }
    return status;
}

static int open_record(const pli_impl *impl, pli_record *r)
{
    message m;
    int status;
    record_message(&m, r);
    status = check_one(&m, r->tag, 0);
    return status == PLI_OK ? open_message(impl, &m, r->tag) : status;
}

typedef struct {
    const pli_impl *impl;
    pli_record *records;
    int (*one)(const pli_impl *, pli_record *);
    size_t failed; /* atomic when threads share it */
} record_work;

static void add_failed(size_t *total, size_t failed)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_fetch_add(total, failed, __ATOMIC_RELAXED);
#else
    *total += failed; /* built without threads (parallel.c): one caller at a time */
#endif
}

/* The records [start, end) of one batch, one at a time. */
static void run_records(void *ctx, size_t start, size_t end)
{
    record_work *w = ctx;
    size_t i, failed = 0;
    for (i = start; i < end; i++) {
        w->records[i].status = w->one(w->impl, &w->records[i]);
        failed += w->records[i].status != PLI_OK;
    }
    add_failed(&w->failed, failed);
}

/* Messages a thread takes at a time, and the batch size (bytes) below which a
 * thread costs more (tens of microseconds to start) than it saves. */
#define GRAIN 16
#define THREAD_MIN_BYTES (512u * 1024u)

static size_t threads_for(size_t bytes)
{
    return bytes < THREAD_MIN_BYTES ? 1 : pli_max_threads();
}

static size_t run(pli_record *records, size_t n, int (*one)(const pli_impl *, pli_record *))
{
    record_work w;
    size_t i, bytes = 0;
    if (records == NULL) {
        return n;
    }
    for (i = 0; i < n && bytes < THREAD_MIN_BYTES; i++) {
        bytes += records[i].len + records[i].aad_len;
    }
    w.impl = pli_current_impl();
    w.records = records;
    w.one = one;
    w.failed = 0;
    pli_parallel(n, GRAIN, threads_for(bytes), run_records, &w);
    return w.failed;
}

size_t pli_open_batch(pli_record *records, size_t n)
{
    return run(records, n, open_record);
}

size_t pli_seal_batch(pli_record *records, size_t n)
{
    return run(records, n, seal_record);
}

/* -- one message ----------------------------------------------------------------------------------- */

static int one_message(message *m, int kind, uint8_t *out, const uint8_t *in, size_t len, const uint8_t *aad,
                       size_t aad_len, const uint8_t *key, const uint8_t *nonce, const uint8_t *pad,
                       const uint8_t *tag, int tag_written)
{
    m->kind = kind;
    m->in = in;
    m->out = out;
    m->len = len;
    m->aad = aad;
    m->aad_len = aad_len;
    m->key = key;
    m->nonce = nonce;
    m->pad = pad;
    return check_one(m, tag, tag_written);
}

int pli_aead_seal(uint8_t *out, uint8_t tag[PLI_TAG_BYTES], const uint8_t *in, size_t len, const uint8_t *aad,
                  size_t aad_len, const uint8_t key[PLI_KEY_BYTES], const uint8_t nonce[PLI_NONCE_BYTES])
{
    message m;
    int status = one_message(&m, PLI_KIND_CHACHA20_POLY1305, out, in, len, aad, aad_len, key, nonce, NULL, tag, 1);
    if (status == PLI_OK) {
        seal_message(pli_current_impl(), &m, tag);
    }
    return status;
}

int pli_aead_open(uint8_t *out, const uint8_t *in, size_t len, const uint8_t tag[PLI_TAG_BYTES], const uint8_t *aad,
                  size_t aad_len, const uint8_t key[PLI_KEY_BYTES], const uint8_t nonce[PLI_NONCE_BYTES])
{
    message m;
    int status = one_message(&m, PLI_KIND_CHACHA20_POLY1305, out, in, len, aad, aad_len, key, nonce, NULL, tag, 0);
    return status == PLI_OK ? open_message(pli_current_impl(), &m, tag) : status;
}

int pli_otp_seal(uint8_t *out, uint8_t tag[PLI_TAG_BYTES], const uint8_t *in, size_t len, const uint8_t *aad,
                 size_t aad_len, const uint8_t *pad, const uint8_t mac_key[PLI_KEY_BYTES])
{
    message m;
    int status = one_message(&m, PLI_KIND_OTP_POLY1305, out, in, len, aad, aad_len, mac_key, NULL, pad, tag, 1);
    if (status == PLI_OK) {
        seal_message(pli_current_impl(), &m, tag);
    }
    return status;
}

int pli_otp_open(uint8_t *out, const uint8_t *in, size_t len, const uint8_t tag[PLI_TAG_BYTES], const uint8_t *aad,
                 size_t aad_len, const uint8_t *pad, const uint8_t mac_key[PLI_KEY_BYTES])
{
    message m;
    int status = one_message(&m, PLI_KIND_OTP_POLY1305, out, in, len, aad, aad_len, mac_key, NULL, pad, tag, 0);
    return status == PLI_OK ? open_message(pli_current_impl(), &m, tag) : status;
}

/* -- columns --------------------------------------------------------------------------------------- */

static const uint8_t *column_in(const pli_columns *c, size_t i)
{
    return c->in != NULL ? c->in[i] : c->out + c->offset[i];
}

static void column_message(message *m, const pli_columns *c, size_t i)
{
    m->kind = c->kind;
    m->in = column_in(c, i);
    m->out = c->out + c->offset[i];
    m->len = c->len[i];
    m->aad = c->aad != NULL ? c->aad[i] : NULL;
    m->aad_len = c->aad != NULL ? c->aad_len[i] : 0;
    m->key = c->keys + PLI_KEY_BYTES * i;
    m->nonce = c->kind == PLI_KIND_CHACHA20_POLY1305 ? c->nonces + PLI_NONCE_BYTES * i : NULL;
    m->pad = c->kind == PLI_KIND_OTP_POLY1305 ? c->pad[i] : NULL;
}

/* Message i against the batch rules (pli_crypto.h); `end` is where the previous output ended. */
static int check_column(const pli_columns *c, size_t i, size_t *end, int seal)
{
    const size_t len = c->len[i], off = c->offset[i];
    const uint8_t *in;
    message m;
    int status;
    column_message(&m, c, i);
    status = check_message(&m);
    if (status != PLI_OK) {
        return status;
    }
    if (off < *end || off > c->out_len || len > c->out_len - off || (c->out == NULL && len != 0)) {
        return PLI_ERR_ARGUMENT;
    }
    *end = off + len;
    in = m.in;
    if ((in != m.out && !apart(in, len, c->out, c->out_len)) || !apart(m.aad, m.aad_len, c->out, c->out_len) ||
        (m.pad != NULL && !apart(m.pad, len, c->out, c->out_len))) {
        return PLI_ERR_OVERLAP;
    }
    if (c->tags == NULL) { /* open: the tag follows the ciphertext, and must not be written over */
        if (in == NULL) {
            return PLI_ERR_ARGUMENT;
        }
        return apart(in + len, PLI_TAG_BYTES, c->out, c->out_len) ? PLI_OK : PLI_ERR_OVERLAP;
    }
    if (seal && (!apart(c->tags, PLI_TAG_BYTES * c->n, in, len) ||
                 !apart(c->tags, PLI_TAG_BYTES * c->n, m.aad, m.aad_len) ||
                 (m.pad != NULL && !apart(c->tags, PLI_TAG_BYTES * c->n, m.pad, len)))) {
        return PLI_ERR_OVERLAP;
    }
    return PLI_OK;
}

static int check_columns(const pli_columns *c, int seal)
{
    size_t i, end = 0, keys, nonces, tags;
    int status;
    if (c == NULL) {
        return PLI_ERR_ARGUMENT;
    }
    if (c->n == 0) {
        return PLI_OK;
    }
    if (c->n > SIZE_MAX / PLI_KEY_BYTES || c->len == NULL || c->offset == NULL || c->keys == NULL ||
        c->status == NULL || (c->aad != NULL && c->aad_len == NULL) || (seal && c->tags == NULL) ||
        (c->kind == PLI_KIND_CHACHA20_POLY1305 && c->nonces == NULL) ||
        (c->kind == PLI_KIND_OTP_POLY1305 && c->pad == NULL)) {
        return PLI_ERR_ARGUMENT;
    }
    for (i = 0; i < c->n; i++) {
        status = check_column(c, i, &end, seal);
        if (status != PLI_OK) {
            return status;
        }
    }
    keys = PLI_KEY_BYTES * c->n;
    nonces = c->kind == PLI_KIND_CHACHA20_POLY1305 ? PLI_NONCE_BYTES * c->n : 0;
    tags = c->tags != NULL ? PLI_TAG_BYTES * c->n : 0;
    if (!apart(c->keys, keys, c->out, c->out_len) || !apart(c->nonces, nonces, c->out, c->out_len) ||
        !apart(c->tags, tags, c->out, c->out_len) || !apart(c->status, sizeof(int) * c->n, c->out, c->out_len) ||
        !apart(c->status, sizeof(int) * c->n, c->tags, tags) ||
        (seal && (!apart(c->tags, tags, c->keys, keys) || !apart(c->tags, tags, c->nonces, nonces)))) {
        return PLI_ERR_OVERLAP;
    }
    return PLI_OK;
}

typedef struct {
    const pli_impl *impl;
    const pli_columns *c;
    int seal;
    size_t failed; /* atomic when threads share it */
} column_work;

static void run_columns(void *ctx, size_t start, size_t end)
{
    column_work *w = ctx;
    const pli_columns *c = w->c;
    size_t i, failed = 0;
    message m;
    for (i = start; i < end; i++) {
        column_message(&m, c, i);
        if (w->seal) {
            seal_message(w->impl, &m, c->tags + PLI_TAG_BYTES * i);
            c->status[i] = PLI_OK;
            continue;
        }
        c->status[i] = open_message(w->impl, &m, c->tags != NULL ? c->tags + PLI_TAG_BYTES * i : m.in + m.len);
        if (c->status[i] != PLI_OK) {
            failed++;
            if (m.out != m.in && m.len != 0) {
                memset(m.out, 0, m.len); /* an out-of-place output never shows what was there before */
            }
        }
    }
    add_failed(&w->failed, failed);
}

static int run_column_batch(const pli_columns *c, size_t *failed, int seal)
{
    column_work w;
    int status = check_columns(c, seal);
    if (failed != NULL) {
        *failed = 0;
    }
    if (status != PLI_OK || c->n == 0) {
        return status;
    }
    w.impl = pli_current_impl();
    w.c = c;
    w.seal = seal;
    w.failed = 0;
    /* The outputs are in order and disjoint: their span is the batch's size. */
    pli_parallel(c->n, GRAIN, threads_for(c->offset[c->n - 1] + c->len[c->n - 1] - c->offset[0]), run_columns, &w);
    if (failed != NULL) {
        *failed = w.failed;
    }
    return PLI_OK;
}

int pli_open_columns(const pli_columns *batch, size_t *failed)
{
    return run_column_batch(batch, failed, 0);
}

int pli_seal_columns(const pli_columns *batch, size_t *failed)
{
    return run_column_batch(batch, failed, 1);
}
