/*
 * test/sanitize_preload.c: preloaded by test/sanitize.sh after libasan, so the ASan runtime can
 * start inside an uninstrumented postgres (Debian 12, glibc 2.36, gcc 12 and clang 14 runtimes).
 *
 * Without it the postmaster (and psql, initdb) hang before main.  The executable has no
 * .preinit_array calling __asan_init, so ASan initialises lazily, on the first malloc; the ELF
 * constructors of postgres's dependencies run before the preloaded runtime's own, and
 * libgpg-error's (via libsystemd -> libgcrypt) calls bindtextdomain(), whose malloc runs with
 * glibc's _nl_state_lock write-locked.  AsanInitInternal then looks up swift_demangle with
 * dlsym(RTLD_DEFAULT); the lookup fails and the runtime calls dlerror(), which translates its
 * message with dcgettext(): rdlock of the same lock by its writer returns EDEADLK unchecked, the
 * unlock releases the writer's hold, bindtextdomain unlocks again and the reader count underflows
 * (__readers 0xfffffff9), so the next bindtextdomain() (set_pglocale_pgservice) waits forever.
 *
 * Defining swift_demangle makes that dlsym succeed, so no dlerror() and no gettext.  The runtime
 * calls it only for Swift-mangled names ("_T", "$S", "$s"); returning NULL means "not demangled".
 */
#include <stddef.h>
#include <stdint.h>

char	   *swift_demangle(const char *mangled, size_t mangled_len, char *out,
						   size_t *out_len, uint32_t flags);

char *
swift_demangle(const char *mangled, size_t mangled_len, char *out, size_t *out_len,
			   uint32_t flags)
{
	(void) mangled;
	(void) mangled_len;
	(void) out;
	(void) out_len;
	(void) flags;
	return NULL;
}
