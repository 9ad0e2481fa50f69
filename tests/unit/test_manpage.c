/* test_manpage.c - the roff that -help-man pages are made of: what would
 * break a page (a line starting with '.', a backslash) is escaped, flags keep
 * an ASCII minus, a long default can break after its commas. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "manpage.h"

static char *capture(const struct man_opt *o, const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (o)
		man_option(f, o);
	if (text)
		man_verbatim(f, text);
	fclose(f);
	return buf;
}

TEST(option_with_default_env_and_note)
{
	struct man_opt o = { "metrics-addr", "string", "PROMETHEUS_PORT", NULL, "a,b", "listener",
			     "A change needs a restart" };
	char *s = capture(&o, NULL);
	CHECK_STR(s, ".TP\n\\fB\\-metrics\\-addr\\fR \\fIstring\\fR\n"
		     "listener (default \\fBa,\\:b\\fR).\n"
		     "Environment: \\fBPROMETHEUS_PORT\\fR.\n"
		     "A change needs a restart.\n");
	free(s);
}

TEST(env_only_and_json_only_labels)
{
	struct man_opt e = { NULL, "string", "PROMETHEUS_NAMESPACE", NULL, "", "namespace", NULL };
	struct man_opt j = { NULL, "int", NULL, "min_ttl", "60", "minimum TTL", NULL };
	char *s = capture(&e, NULL), *t = capture(&j, NULL);
	CHECK(strncmp(s, ".TP\n\\fB$PROMETHEUS_NAMESPACE\\fR \\fIstring\\fR\nnamespace.\n", 60) == 0);
	CHECK(strstr(s, "default") == NULL); /* "" shows no default */
	CHECK(strstr(t, "\\fB\"min_ttl\"\\fR \\fIint\\fR\n") != NULL);
	free(s);
	free(t);
}

TEST(roff_requests_and_backslashes_are_escaped)
{
	char *s = capture(NULL, ".hidden line\n'quote\n  path\\dir -x\n");
	CHECK_STR(s, ".PP\n.nf\n\\&.hidden line\n\\&'quote\n  path\\edir \\-x\n.fi\n");
	free(s);
}

int main(void)
{
	RUN(option_with_default_env_and_note);
	RUN(env_only_and_json_only_labels);
	RUN(roff_requests_and_backslashes_are_escaped);
	return CHECK_DONE();
}
