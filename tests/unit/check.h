/* check.h - the tiny unit-test harness. A test file defines test functions
 * with TEST(name), lists them in main() with RUN(name), and ends with
 * CHECK_DONE(), which prints "N passed, N failed" and returns the exit code.
 * CHECK* record a failure with file:line and keep going within the test.
 */
#ifndef SKYDNS_CHECK_H
#define SKYDNS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed, check_cur_failed;

#define TEST(name) static void name(void)
#define RUN(name)                                                                 \
	do {                                                                      \
		check_cur_failed = 0;                                             \
		name();                                                           \
		if (check_cur_failed) {                                           \
			check_failed++;                                           \
			printf("FAIL %s\n", #name);                               \
		} else {                                                          \
			check_passed++;                                           \
			printf("ok   %s\n", #name);                               \
		}                                                                 \
	} while (0)
#define CHECK(cond)                                                               \
	do {                                                                      \
		if (!(cond)) {                                                    \
			check_cur_failed = 1;                                     \
			printf("  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
		}                                                                 \
	} while (0)
#define CHECK_INT(a, b)                                                           \
	do {                                                                      \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b);   \
		if (check_a_ != check_b_) {                                       \
			check_cur_failed = 1;                                     \
			printf("  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
			       __LINE__, #a, check_a_, #b, check_b_);             \
		}                                                                 \
	} while (0)
#define CHECK_STR(a, b)                                                           \
	do {                                                                      \
		const char *check_a_ = (a), *check_b_ = (b);                      \
		if (!check_a_ || !check_b_ || strcmp(check_a_, check_b_) != 0) {  \
			check_cur_failed = 1;                                     \
			printf("  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, \
			       __LINE__, #a, check_a_ ? check_a_ : "(null)",       \
			       check_b_ ? check_b_ : "(null)");                   \
		}                                                                 \
	} while (0)
#define CHECK_DONE()                                                              \
	(printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
