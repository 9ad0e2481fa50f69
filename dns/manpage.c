/* manpage.c - roff for the -help-man pages (see manpage.h).
 *
 * Only what man(7) needs: backslashes doubled as \e, a leading '.' or '\''
 * guarded with \& (else roff takes the line as a request), and '-' written
 * \- in flags, names and values so a page's "-addr" copies as ASCII. Prose
 * keeps plain hyphens ("comma-separated"). No date in .TH: the page depends
 * only on the table, so builds are reproducible. Left-adjusted and without
 * hyphenation: flag names and keys must not be split.
 */
#include "manpage.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static void put(FILE *out, const char *s, bool minus)
{
	bool bol = true;
	for (; s && *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", out);
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-' && minus)
			fputs("\\-", out);
		else
			fputc(*s, out);
		bol = *s == '\n';
	}
}

void man_head(FILE *out, const char *name, const char *summary, const char *synopsis)
{
	fputs(".TH ", out);
	for (const char *p = name; *p; p++)
		fputc(toupper((unsigned char)*p), out);
	fprintf(out, " 1 \"\" \"skydns %s\" \"User Commands\"\n.nh\n.ad l\n.SH NAME\n",
		SKY_PROJECT_VERSION);
	put(out, name, true);
	fputs(" \\- ", out);
	put(out, summary, false);
	fputs("\n.SH SYNOPSIS\n.B ", out);
	put(out, name, true);
	fputc('\n', out);
	put(out, synopsis, true);
	fputc('\n', out);
}

void man_section(FILE *out, const char *title)
{
	fprintf(out, ".SH %s\n", title);
}

void man_text(FILE *out, const char *text)
{
	fputs(".PP\n", out);
	put(out, text, false);
	fputc('\n', out);
}

void man_verbatim(FILE *out, const char *text)
{
	fputs(".PP\n.nf\n", out);
	put(out, text, true);
	if (*text && text[strlen(text) - 1] != '\n')
		fputc('\n', out);
	fputs(".fi\n", out);
}

void man_option(FILE *out, const struct man_opt *o)
{
	fputs(".TP\n", out);
	if (o->flag) {
		fputs("\\fB\\-", out);
		put(out, o->flag, true);
	} else if (o->env) {
		fputs("\\fB$", out);
		put(out, o->env, true);
	} else {
		fputs("\\fB\"", out);
		put(out, o->key, true);
		fputc('"', out);
	}
	fputs("\\fR", out);
	if (o->arg) {
		fputs(" \\fI", out);
		put(out, o->arg, true);
		fputs("\\fR", out);
	}
	fputc('\n', out);
	put(out, o->text, false);
	if (o->def && *o->def) {
		fputs(" (default \\fB", out);
		/* a break point after each comma: long lists fit the line */
		for (const char *p = o->def; *p; p++) {
			char c[2] = { *p, 0 };
			put(out, c, true);
			if (*p == ',')
				fputs("\\:", out);
		}
		fputs("\\fR)", out);
	}
	fputs(".\n", out);
	if (o->flag && o->env) {
		fputs("Environment: \\fB", out);
		put(out, o->env, true);
		fputs("\\fR.\n", out);
	}
	if (o->note) {
		put(out, o->note, false);
		fputs(".\n", out);
	}
}

void man_tail(FILE *out, const char *see_also)
{
	fputs(".SH SEE ALSO\n", out);
	put(out, see_also, true);
	fprintf(out, "\n.PP\nREADME.md in the package's documentation directory "
		     "(/usr/share/doc/skydns from the Debian package).\n.SH VERSION\n%s\n",
		SKY_PROJECT_VERSION);
}
