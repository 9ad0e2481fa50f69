/* manpage.h - man(7) pages written from the tables that print -h (issue 16).
 *
 * Every binary has a hidden -help-man flag that writes its page to stdout
 * with these calls, walking the same flag table (or usage text) as its -h;
 * the build runs it (cmake/manpage.cmake) and installs the result, so a page
 * cannot drift from the help. Pure output, no state: the caller owns `out`.
 */
#ifndef SKYDNS_MANPAGE_H
#define SKYDNS_MANPAGE_H

#include <stdio.h>

struct man_opt {
	const char *flag; /* without the dash; NULL: an environment-only setting */
	const char *arg;  /* value word ("string", "int", "duration"); NULL: boolean */
	const char *env;  /* environment variable read for it, or NULL */
	const char *key;  /* label when there is neither flag nor env (an etcd JSON key) */
	const char *def;  /* default as text; NULL or "": none shown */
	const char *text; /* what -h says about it */
	const char *note; /* more from the table ("etcd JSON key ..."), or NULL */
};

/* .TH, NAME ("name \- summary") and SYNOPSIS (".B name" then synopsis). */
void man_head(FILE *out, const char *name, const char *summary, const char *synopsis);

/* ".SH TITLE" (title as given, conventionally upper case). */
void man_section(FILE *out, const char *title);

/* A paragraph of prose. */
void man_text(FILE *out, const char *text);

/* Text kept line for line (.nf/.fi), e.g. a usage message. */
void man_verbatim(FILE *out, const char *text);

/* One .TP entry: -flag (or $ENV, or "key"), its value word, text, default, env, note. */
void man_option(FILE *out, const struct man_opt *o);

/* SEE ALSO with the given "skydns(1), kube2sky(1)" text, and the project's
 * version under VERSION. */
void man_tail(FILE *out, const char *see_also);

#endif
