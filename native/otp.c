/* otp.c - the one-time pad: dst = src ^ pad, portable loop and public entry point. */
#include "pli_internal.h"

void pli_otp_xor_scalar(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len)
{
    size_t i;
    /* Byte loop on purpose: -O3 vectorizes it (with a run-time overlap check
     * the compiler adds itself), and it needs no alignment or aliasing tricks. */
    for (i = 0; i < len; i++) {
        dst[i] = (uint8_t)(src[i] ^ pad[i]);
    }
}

int pli_otp_xor(uint8_t *dst, const uint8_t *src, const uint8_t *pad, size_t len)
{
    if (len == 0) {
        return PLI_OK;
    }
    if (dst == NULL || src == NULL || pad == NULL) {
        return PLI_ERR_ARGUMENT;
    }
    /* dst == src is the in-place case; dst == pad would destroy the pad while
     * reading it, which only works by accident of loop order: refused too. */
    if (pli_partial_overlap(dst, src, len) || (pli_partial_overlap(dst, pad, len) || dst == pad)) {
        return PLI_ERR_OVERLAP;
    }
    pli_current_impl()->otp_xor(dst, src, pad, len);
    return PLI_OK;
}
