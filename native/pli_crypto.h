/*
 * pli_crypto.h - the bulk crypto core of pli: one-time pad XOR, ChaCha20 and
 * Poly1305 (RFC 8439), and a batch entry point.  C99, libc only.
 *
 * This header is the contract between native/ and pli.core.crypto: the pure
 * Python backend implements exactly the same functions, byte for byte.
 * Nothing here allocates (large inputs may start POSIX threads, see
 * pli_set_max_threads);
 * secrets on the stack are wiped before return.
 */
#ifndef PLI_CRYPTO_H
#define PLI_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define PLI_KEY_BYTES   32
#define PLI_NONCE_BYTES 12
#define PLI_TAG_BYTES   16
#define PLI_BLOCK_BYTES 64

/* Status codes.  Every int-returning function returns one of these. */
#define PLI_OK                 0
#define PLI_ERR_COUNTER       -1 /* the 32-bit block counter would wrap     */
#define PLI_ERR_BAD_TAG       -2 /* authentication failed; output unchanged */
#define PLI_ERR_ARGUMENT      -3 /* NULL where a buffer is needed, bad kind  */
#define PLI_ERR_OVERLAP       -4 /* dst partially overlaps src (equal is ok) */

/* dst[i] = src[i] ^ pad[i] for i < len.  dst == src (in place) is allowed;
 * any other overlap of dst with src or pad (dst == pad included) returns
 * PLI_ERR_OVERLAP, before anything is written. */
int pli_otp_xor(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len);

/* The ChaCha20 block function: 64 keystream bytes for one counter value. */
void pli_chacha20_block(uint8_t out[PLI_BLOCK_BYTES], const uint8_t key[PLI_KEY_BYTES],
                        const uint8_t nonce[PLI_NONCE_BYTES], uint32_t counter);

/* dst = src ^ ChaCha20 keystream starting at block `counter`.  In place
 * allowed; any other overlap of dst with src returns PLI_ERR_OVERLAP.
 * PLI_ERR_COUNTER if counter + ceil(len/64) - 1 > 2^32 - 1.  Errors are
 * found before anything is written; len == 0 is PLI_OK whatever the
 * pointers.  From 1 MiB the blocks are split between threads. */
int pli_chacha20_xor(uint8_t *dst, const uint8_t *src, size_t len,
                     const uint8_t key[PLI_KEY_BYTES], const uint8_t nonce[PLI_NONCE_BYTES],
                     uint32_t counter);

/* One-shot Poly1305 with a one-time 32-byte key. */
void pli_poly1305(uint8_t tag[PLI_TAG_BYTES], const uint8_t *msg, size_t len,
                  const uint8_t key[PLI_KEY_BYTES]);

/* 1 if the two tags are equal, 0 otherwise; time independent of contents. */
int pli_tags_equal(const uint8_t a[PLI_TAG_BYTES], const uint8_t b[PLI_TAG_BYTES]);

/*
 * Records for the batch calls.  Both kinds authenticate with the RFC 8439
 * AEAD MAC layout: Poly1305 over  aad || pad16 || ciphertext || pad16 ||
 * le64(aad_len) || le64(len).
 *
 *  PLI_KIND_CHACHA20_POLY1305: RFC 8439 section 2.8 AEAD.  key = 32-byte
 *      ChaCha20 key, nonce = 12 bytes; the Poly1305 key is block 0 of the
 *      keystream and the data is XORed from block 1.  `pad` unused.
 *  PLI_KIND_OTP_POLY1305: one-time pad.  data ^= pad[0..len); key = the
 *      32-byte one-time Poly1305 key (itself taken from fresh pad bytes by
 *      the caller); nonce unused.
 *
 * Open: the tag is checked over the ciphertext first; only if it matches is
 * data decrypted in place; status = PLI_OK or PLI_ERR_BAD_TAG (data left as
 * it was).  Seal: data is encrypted in place and the tag written.
 */
#define PLI_KIND_CHACHA20_POLY1305 1
#define PLI_KIND_OTP_POLY1305      2

typedef struct {
    uint8_t       *data;     /* len bytes, transformed in place */
    size_t         len;
    const uint8_t *aad;      /* may be NULL when aad_len == 0 */
    size_t         aad_len;
    const uint8_t *key;      /* 32 bytes (see kinds) */
    const uint8_t *nonce;    /* 12 bytes, CHACHA20 kind only */
    const uint8_t *pad;      /* len bytes, OTP kind only */
    uint8_t       *tag;      /* 16 bytes: read by open, written by seal */
    int            kind;
    int            status;   /* out: PLI_OK or a PLI_ERR_* */
} pli_record;

/* Process n records; returns how many failed (status != PLI_OK).
 * Called from Python with the GIL released.  A batch of at least 512 KiB
 * spreads its records over several threads (see pli_set_max_threads);
 * records are independent, and each record's status says how it went
 * whatever thread ran it. */
size_t pli_open_batch(pli_record *records, size_t n);
size_t pli_seal_batch(pli_record *records, size_t n);

/*
 * One message, out of place or in place (out == in), with the MAC layout
 * above.  Seal writes out and the tag; open checks the tag over `in` first
 * and writes out only if it matches (PLI_ERR_BAD_TAG: out untouched).
 * `out` may be `in` exactly; any other overlap of out (or of the tag seal
 * writes) with an input is PLI_ERR_OVERLAP.  aad may be NULL when aad_len is
 * 0; in and out may be NULL when len is 0.  Errors are found before anything
 * is written.
 */
int pli_aead_seal(uint8_t *out, uint8_t tag[PLI_TAG_BYTES], const uint8_t *in, size_t len, const uint8_t *aad,
                  size_t aad_len, const uint8_t key[PLI_KEY_BYTES], const uint8_t nonce[PLI_NONCE_BYTES]);
int pli_aead_open(uint8_t *out, const uint8_t *in, size_t len, const uint8_t tag[PLI_TAG_BYTES], const uint8_t *aad,
                  size_t aad_len, const uint8_t key[PLI_KEY_BYTES], const uint8_t nonce[PLI_NONCE_BYTES]);
int pli_otp_seal(uint8_t *out, uint8_t tag[PLI_TAG_BYTES], const uint8_t *in, size_t len, const uint8_t *aad,
                 size_t aad_len, const uint8_t *pad, const uint8_t mac_key[PLI_KEY_BYTES]);
int pli_otp_open(uint8_t *out, const uint8_t *in, size_t len, const uint8_t tag[PLI_TAG_BYTES], const uint8_t *aad,
                 size_t aad_len, const uint8_t *pad, const uint8_t mac_key[PLI_KEY_BYTES]);

/*
 * Many messages of one kind, a field at a time ("columns"): what a mailbox
 * import hands over without building a record per message.  Message i reads
 * in[i][0 .. len[i]) (in == NULL: in place, in[i] = out + offset[i]) and
 * writes out[offset[i] .. offset[i] + len[i]); keys, nonces and tags are
 * fixed-size and back to back; aad[i] holds aad_len[i] bytes (aad == NULL:
 * none); pad[i] holds len[i] bytes (OTP kind).  tags: 16 bytes per message,
 * read by open, written by seal; open also takes tags == NULL: each tag
 * follows its ciphertext, at in[i] + len[i] (the sealed layout of RFC 8439).
 *
 * Checked once for the whole batch before anything is written (then
 * PLI_ERR_ARGUMENT, PLI_ERR_OVERLAP or PLI_ERR_COUNTER is returned and no
 * status is set): the outputs lie in out, in order and disjoint
 * (offset[i] + len[i] <= offset[i + 1]); an input is either its own output
 * or apart from out; pads, keys, nonces, tags and aads are apart from out
 * (and, for seal, from tags).  Then each message's status is PLI_OK or
 * PLI_ERR_BAD_TAG (open: its output is zeroed); *failed counts the latter.
 * Threads as for pli_open_batch.
 */
typedef struct {
    size_t                n;        /* messages */
    int                   kind;     /* PLI_KIND_*, the same for every message */
    const uint8_t *const *in;       /* n input pointers, or NULL (in place) */
    const size_t         *len;      /* n data lengths */
    uint8_t              *out;      /* the outputs, at offset[i] */
    size_t                out_len;  /* bytes at out */
    const size_t         *offset;   /* n offsets into out */
    const uint8_t        *keys;     /* 32 bytes per message */
    const uint8_t        *nonces;   /* 12 bytes per message (CHACHA20 kind) */
    const uint8_t *const *aad;      /* n pointers, or NULL (no aad) */
    const size_t         *aad_len;  /* n lengths (with aad) */
    const uint8_t *const *pad;      /* n pointers (OTP kind) */
    uint8_t              *tags;     /* 16 bytes per message, or NULL (open: tags follow the ciphertexts) */
    int                  *status;   /* n statuses, written */
} pli_columns;

int pli_open_columns(const pli_columns *batch, size_t *failed);
int pli_seal_columns(const pli_columns *batch, size_t *failed);

/* How many threads one call may use: batches of 512 KiB and more, and
 * pli_chacha20_xor from 1 MiB (POSIX builds; others always use one).
 * 0 = one per online CPU, up to 16 (the default); 1 = the caller's thread
 * only, for callers that already spread their calls over worker threads.
 * PLI_ERR_ARGUMENT if n < 0. */
int pli_set_max_threads(int n);

/* The SIMD path in use: "scalar", "avx2", "avx512" or "neon".  Chosen once
 * from the CPU's features at first use. */
const char *pli_simd_path(void);

/* Force a path, for tests and benchmarks: returns PLI_OK, or PLI_ERR_ARGUMENT
 * if this CPU or build cannot run it.  NULL or "auto" restores the choice. */
int pli_select_simd_path(const char *name);

#endif
