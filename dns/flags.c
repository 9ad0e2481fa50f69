/* flags.c - flags.h's parser (moved out of skydns-check for skydns-load). */
#include "flags.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "etcd.h"
#include "manpage.h"

void flags_usage(FILE *f, const char *prog, const struct flag *t, size_t n)
{
	fprintf(f, "usage: %s [flags]\n", prog);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  -%s%s\t%s%s%s\n", t[i].name, t[i].type == FLAG_BOOL ? "" : " value",
			t[i].help, t[i].env ? "; env " : "", t[i].env ? t[i].env : "");
	fprintf(f, "  -version\tprint the version\n");
}

void flags_man(FILE *f, const char *prog, const struct flag *t, size_t n,
	       const struct flags_doc *doc)
{
	man_head(f, prog, doc->summary, doc->synopsis);
	man_section(f, "DESCRIPTION");
	man_text(f, doc->description);
	man_section(f, "OPTIONS");
	for (size_t i = 0; i < n; i++) {
		const struct flag *fl = &t[i];
		char def[256] = "";
		if (fl->type == FLAG_STR)
			snprintf(def, sizeof def, "%s", *(const char *const *)fl->dst);
		else if (fl->type == FLAG_SECS)
			snprintf(def, sizeof def, "%g", *(const double *)fl->dst);
		else if (fl->type == FLAG_INT)
			snprintf(def, sizeof def, "%d", *(const int *)fl->dst);
		struct man_opt m = { fl->name, fl->type == FLAG_BOOL ? NULL : "value", fl->env, NULL,
				     def, fl->help, NULL };
		man_option(f, &m);
	}
	struct man_opt v = { "version", NULL, NULL, NULL, NULL, "print the version", NULL };
	man_option(f, &v);
	man_tail(f, doc->see_also);
}

int flags_parse_secs(const char *s, double *out)
{
	char *e;
	errno = 0;
	double v = strtod(s, &e);
	if (e == s || errno || !isfinite(v) || v < 0)
		return 0;
	if (strcmp(e, "ms") == 0)
		v /= 1000;
	else if (strcmp(e, "m") == 0)
		v *= 60;
	else if (*e && strcmp(e, "s") != 0)
		return 0;
	*out = v;
	return 1;
}

static bool set_flag(const struct flag *f, const char *v, bool have)
{
	switch (f->type) {
	case FLAG_STR:
		if (!have)
			return false;
		*(const char **)f->dst = v;
		return true;
	case FLAG_BOOL:
		if (!have || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(bool *)f->dst = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(bool *)f->dst = false;
		else
			return false;
		return true;
	case FLAG_SECS:
		return have && flags_parse_secs(v, (double *)f->dst);
	case FLAG_INT: {
		char *e;
		long n = have ? strtol(v, &e, 10) : 0;
		if (!have || e == v || *e || n < 1 || n > 1000000)
			return false;
		*(int *)f->dst = (int)n;
		return true;
	}
	}
	return false;
}

static const struct flag *find(const struct flag *t, size_t n, const char *arg, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(t[i].name) == len && strncmp(t[i].name, arg, len) == 0)
			return &t[i];
	return NULL;
}

int flags_parse(const char *prog, const struct flag *t, size_t n, const struct flags_doc *doc,
		int argc, char **argv)
{
	for (int a = 1; a < argc; a++)
		if (strcmp(argv[a], "-help-man") == 0 || strcmp(argv[a], "--help-man") == 0) {
			flags_man(stdout, prog, t, n, doc);
			exit(0);
		}
	for (size_t i = 0; i < n; i++) {
		const char *e = t[i].env ? getenv(t[i].env) : NULL;
		if (e && *e && !set_flag(&t[i], e, true)) {
			fprintf(stderr, "%s: bad value %s=%s\n", prog, t[i].env, e);
			return -1;
		}
	}
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a];
		if (arg[0] != '-') {
			fprintf(stderr, "%s: unexpected argument %s\n", prog, arg);
			return -1;
		}
		arg += arg[1] == '-' ? 2 : 1;
		if (strcmp(arg, "h") == 0 || strcmp(arg, "help") == 0) {
			flags_usage(stdout, prog, t, n);
			exit(0);
		}
		if (strcmp(arg, "version") == 0) {
			printf("%s %s\n", prog, SKY_PROJECT_VERSION);
			exit(0);
		}
		const char *eq = strchr(arg, '=');
		size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
		const struct flag *f = find(t, n, arg, nl);
		if (!f) {
			fprintf(stderr, "%s: unknown flag -%.*s\n", prog, (int)nl, arg);
			flags_usage(stderr, prog, t, n);
			return -1;
		}
		const char *v = eq ? eq + 1 : NULL;
		if (!v && f->type != FLAG_BOOL) {
			if (a + 1 >= argc) {
				fprintf(stderr, "%s: flag -%s needs a value\n", prog, f->name);
				return -1;
			}
			v = argv[++a];
		}
		if (!set_flag(f, v ? v : "", v != NULL)) {
			fprintf(stderr, "%s: bad value for -%s: %s\n", prog, f->name, v ? v : "");
			return -1;
		}
	}
	return 0;
}

int flags_etcd_opts(struct flags_etcd *e, struct etcd_opts *out)
{
	snprintf(e->buf, sizeof e->buf, "%s", e->machines);
	int n = 0;
	for (char *save = NULL, *t = strtok_r(e->buf, ",", &save); t && n < 32;
	     t = strtok_r(NULL, ",", &save))
		if (*t)
			e->mv[n++] = t;
	*out = (struct etcd_opts){ .machines = e->mv, .nmachines = n, .v3 = e->etcd3,
				   .ca_cert = e->ca_cert, .tls_pem = e->tls_pem,
				   .tls_key = e->tls_key, .username = e->username,
				   .password = e->password };
	return n ? 0 : SKY_EINVAL;
}

