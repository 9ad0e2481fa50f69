/* fuzz.h - shared by the fuzz drivers: property checks that abort (so
 * libFuzzer saves the input as a crash) and a NUL-terminated copy of the
 * input for the text parsers.
 */
#ifndef SKYDNS_FUZZ_H
#define SKYDNS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property of the code under test, not of the input: a violation is a
 * bug, reported like a crash. */
#define FUZZ_ASSERT(cond)                                                              \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                \
			abort();                                                       \
		}                                                                      \
	} while (0)

/* The input as a NUL-terminated string (caller frees). Parsers that take a
 * length still get the exact size; the NUL only guards strlen-style code. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

#endif
