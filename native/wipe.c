/* wipe.c - zeroing memory that held secrets, so that the compiler keeps it. */
#include <string.h>

#include "pli_internal.h"

/* memset through a volatile function pointer: the compiler cannot prove the
 * call is memset, so it cannot drop it as a dead store (portable C99, unlike
 * explicit_bzero or memset_s). */
static void *(*const volatile pli_memset)(void *, int, size_t) = memset;

void pli_wipe(void *p, size_t len)
{
    if (len != 0) {
        pli_memset(p, 0, len);
    }
}
