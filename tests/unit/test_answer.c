/* test_answer.c - answer sections, ext lookups and the string arena. */
#include "answer.h"
#include "check.h"

#include <stdint.h>

TEST(sections_grow_and_reset)
{
	struct answer a;
	answer_init(&a);
	struct rr r = { .owner = NULL, .type = T_A, .rclass = C_IN, .ttl = 60 };
	for (int i = 0; i < 1000; i++) {
		r.d.a[3] = (uint8_t)i;
		struct rr *p = answer_add(&a, SEC_ANSWER, &r);
		CHECK(p != NULL);
	}
	CHECK_INT(a.n[SEC_ANSWER], 1000);
	CHECK_INT(a.rrs[SEC_ANSWER][999].d.a[3], (uint8_t)999);
	CHECK(answer_add(&a, SEC_COUNT, &r) == NULL);
	CHECK(answer_add(&a, -1, &r) == NULL);
	CHECK_INT(answer_add_ext(&a, "x.example.", T_AAAA, SEC_ADDITIONAL), 0);
	CHECK_INT(a.next, 1);
	CHECK_STR(a.ext[0].name, "x.example.");
	CHECK_INT(a.ext[0].section, SEC_ADDITIONAL);
	size_t cap = a.cap[SEC_ANSWER];
	a.rcode = RCODE_NXDOMAIN;
	a.aa = true;
	answer_reset(&a);
	CHECK_INT(a.n[SEC_ANSWER], 0);
	CHECK_INT(a.next, 0);
	CHECK_INT(a.rcode, RCODE_NOERROR);
	CHECK(!a.aa);
	CHECK_INT(a.cap[SEC_ANSWER], cap);
	answer_free(&a);
}

TEST(arena_strings_stay_valid)
{
	struct answer a;
	answer_init(&a);
	const char *first = answer_strdup(&a, "first.example.");
	char *ptrs[500];
	char buf[64];
	for (int i = 0; i < 500; i++) {
		snprintf(buf, sizeof buf, "name-%d.skydns.local.", i);
		ptrs[i] = answer_strdup(&a, buf);
		CHECK(ptrs[i] != NULL);
	}
	CHECK_STR(first, "first.example.");
	CHECK_STR(ptrs[0], "name-0.skydns.local.");
	CHECK_STR(ptrs[499], "name-499.skydns.local.");
	char *part = answer_strndup(&a, "abcdef", 3);
	CHECK_STR(part, "abc");
	/* a block larger than a chunk */
	char *big = answer_alloc(&a, 100000);
	CHECK(big != NULL);
	memset(big, 'x', 100000);
	uint64_t *aligned = answer_alloc(&a, sizeof(uint64_t));
	CHECK(((uintptr_t)aligned % _Alignof(uint64_t)) == 0);
	answer_reset(&a);
	char *again = answer_strdup(&a, "after-reset.");
	CHECK_STR(again, "after-reset.");
	answer_free(&a);
	answer_free(&a); /* freeing twice after free is harmless (zeroed) */
}

int main(void)
{
	RUN(sections_grow_and_reset);
	RUN(arena_strings_stay_valid);
	return CHECK_DONE();
}
