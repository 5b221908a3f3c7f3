/* The one piece of C in the provider: the core's error upcall takes a va_list, which Rust
 * cannot build. Rust passes the finished message; this shim hands it over as "%s". */

#include <stdarg.h>
#include <stdint.h>

typedef void (*akv_vset_error_fn)(const void *prov, uint32_t reason, const char *fmt,
                                  va_list args);

static void akv_call_vset_error(akv_vset_error_fn vset_error, const void *prov,
                                uint32_t reason, const char *fmt, ...)
{
    va_list args;

    va_start(args, fmt);
    vset_error(prov, reason, fmt, args);
    va_end(args);
}

void akv_shim_set_error(void (*vset_error)(void), const void *prov, uint32_t reason,
                        const char *message)
{
    akv_call_vset_error((akv_vset_error_fn)vset_error, prov, reason, "%s", message);
}
