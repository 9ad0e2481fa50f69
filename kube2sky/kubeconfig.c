#include "kubeconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"

void kubeconfig_clear(struct kubeconfig *kc)
{
	char **strs[] = {&kc->context, &kc->server, &kc->ca_file, &kc->ca_data,
			 &kc->tls_server_name, &kc->cert_file, &kc->key_file, &kc->cert_data,
			 &kc->key_data, &kc->token, &kc->token_file};
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		free(*strs[i]);
	*kc = (struct kubeconfig){0};
}

char *kubeconfig_b64decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in);
	char *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	bool pad = false;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		int v;
		if (c >= 'A' && c <= 'Z') v = c - 'A';
		else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
		else if (c >= '0' && c <= '9') v = c - '0' + 52;
		else if (c == '+') v = 62;
		else if (c == '/') v = 63;
		else if (c == '=') { pad = true; continue; }
		else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
		else { free(out); return NULL; }
		if (pad) { free(out); return NULL; } /* data after padding */
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* A parsed document plus the error sink, for the lookup helpers. */
struct kdoc {
	yaml_document_t doc;
	char *err;
	size_t errcap;
	const char *dir;
};

static int fail(struct kdoc *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct kdoc *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d->err, d->errcap, fmt, ap);
	va_end(ap);
	return SKY_EPARSE;
}

static yaml_node_t *map_get(struct kdoc *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&d->doc, p->key);
		if (k && k->type == YAML_SCALAR_NODE && strcmp((char *)k->data.scalar.value, key) == 0)
			return yaml_document_get_node(&d->doc, p->value);
	}
	return NULL;
}

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* Find `list[] {name: <name>, <inner>: {...}}` and return the inner map. */
static yaml_node_t *named(struct kdoc *d, const char *list, const char *inner, const char *name)
{
	yaml_node_t *seq = map_get(d, yaml_document_get_root_node(&d->doc), list);
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return NULL;
	for (yaml_node_item_t *i = seq->data.sequence.items.start; i < seq->data.sequence.items.top; i++) {
		yaml_node_t *ent = yaml_document_get_node(&d->doc, *i);
		const char *n = scalar(map_get(d, ent, "name"));
		if (n && strcmp(n, name) == 0) {
			yaml_node_t *m = map_get(d, ent, inner);
			return m ? m : ent; /* present but empty: an empty user is valid */
		}
	}
	return NULL;
}

static int dup_str(const char *s, char **out)
{
	if (!s)
		return 0;
	return (*out = strdup(s)) ? 0 : SKY_ENOMEM;
}

/* A path field: absolute as given, else relative to the kubeconfig dir. */
static int path_field(struct kdoc *d, yaml_node_t *m, const char *key, char **out)
{
	const char *v = scalar(map_get(d, m, key));
	if (!v || !*v)
		return 0;
	if (v[0] == '/' || !d->dir || !*d->dir)
		return dup_str(v, out);
	size_t n = strlen(d->dir) + strlen(v) + 2;
	if (!(*out = malloc(n)))
		return SKY_ENOMEM;
	snprintf(*out, n, "%s/%s", d->dir, v);
	return 0;
}

static int data_field(struct kdoc *d, yaml_node_t *m, const char *where, const char *key,
		      char **out, size_t *outlen)
{
	const char *v = scalar(map_get(d, m, key));
	if (!v)
		return 0;
	if (!(*out = kubeconfig_b64decode(v, outlen)) || *outlen == 0) {
		free(*out);
		*out = NULL;
		return fail(d, "%s.%s: not valid base64", where, key);
	}
	return 0;
}

static int read_cluster(struct kdoc *d, yaml_node_t *c, const char *name, struct kubeconfig *kc)
{
	char where[300];
	snprintf(where, sizeof where, "clusters[%s].cluster", name);
	const char *server = scalar(map_get(d, c, "server"));
	if (!server || !*server)
		return fail(d, "%s.server missing", where);
	const char *ins = scalar(map_get(d, c, "insecure-skip-tls-verify"));
	kc->insecure = ins && strcmp(ins, "true") == 0;
	int rc = dup_str(server, &kc->server);
	if (!rc)
		rc = dup_str(scalar(map_get(d, c, "tls-server-name")), &kc->tls_server_name);
	if (!rc)
		rc = path_field(d, c, "certificate-authority", &kc->ca_file);
	if (!rc)
		rc = data_field(d, c, where, "certificate-authority-data", &kc->ca_data, &kc->ca_data_len);
	return rc;
}

static int read_user(struct kdoc *d, yaml_node_t *u, const char *name, struct kubeconfig *kc)
{
	char where[300];
	snprintf(where, sizeof where, "users[%s].user", name);
	if (map_get(d, u, "exec") || map_get(d, u, "auth-provider"))
		return fail(d, "%s: exec/auth-provider credential plugins are not supported; "
			    "use a token or a client certificate", where);
	int rc = dup_str(scalar(map_get(d, u, "token")), &kc->token);
	if (!rc)
		rc = path_field(d, u, "tokenFile", &kc->token_file);
	if (!rc)
		rc = path_field(d, u, "client-certificate", &kc->cert_file);
	if (!rc)
		rc = path_field(d, u, "client-key", &kc->key_file);
	if (!rc)
		rc = data_field(d, u, where, "client-certificate-data", &kc->cert_data, &kc->cert_data_len);
	if (!rc)
		rc = data_field(d, u, where, "client-key-data", &kc->key_data, &kc->key_data_len);
	if (!rc && (!!(kc->cert_file || kc->cert_data) != !!(kc->key_file || kc->key_data)))
		rc = fail(d, "%s: a client certificate needs both the certificate and the key", where);
	return rc;
}

static int read_doc(struct kdoc *d, struct kubeconfig *kc)
{
	yaml_node_t *root = yaml_document_get_root_node(&d->doc);
	if (!root || root->type != YAML_MAPPING_NODE)
		return fail(d, "not a kubeconfig (top level is not a mapping)");
	const char *cur = scalar(map_get(d, root, "current-context"));
	if (!cur || !*cur)
		return fail(d, "current-context is not set");
	yaml_node_t *ctx = named(d, "contexts", "context", cur);
	if (!ctx)
		return fail(d, "current-context \"%s\" not found in contexts", cur);
	const char *cl = scalar(map_get(d, ctx, "cluster")), *us = scalar(map_get(d, ctx, "user"));
	if (!cl)
		return fail(d, "contexts[%s].context.cluster missing", cur);
	yaml_node_t *c = named(d, "clusters", "cluster", cl);
	if (!c)
		return fail(d, "cluster \"%s\" (context \"%s\") not found in clusters", cl, cur);
	int rc = dup_str(cur, &kc->context);
	if (!rc)
		rc = read_cluster(d, c, cl, kc);
	if (rc || !us || !*us)
		return rc;
	yaml_node_t *u = named(d, "users", "user", us);
	if (!u)
		return fail(d, "user \"%s\" (context \"%s\") not found in users", us, cur);
	return read_user(d, u, us, kc);
}

int kubeconfig_parse(const char *yaml, size_t len, const char *dir, struct kubeconfig *out,
		     char *err, size_t errcap)
{
	*out = (struct kubeconfig){0};
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return SKY_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)yaml, len);
	struct kdoc d = {.err = err, .errcap = errcap, .dir = dir};
	int rc;
	if (!yaml_parser_load(&p, &d.doc)) {
		snprintf(err, errcap, "line %zu: %s", p.problem_mark.line + 1,
			 p.problem ? p.problem : "YAML syntax error");
		yaml_parser_delete(&p);
		return SKY_EPARSE;
	}
	rc = read_doc(&d, out);
	yaml_document_delete(&d.doc);
	yaml_parser_delete(&p);
	if (rc)
		kubeconfig_clear(out);
	return rc;
}

int kubeconfig_load(const char *path, struct kubeconfig *out, char *err, size_t errcap)
{
	*out = (struct kubeconfig){0};
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		snprintf(err, errcap, "kubeconfig %s: %s", path, strerror(e));
		return e == ENOENT ? SKY_ENOTFOUND : SKY_EIO;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[8192];
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (len + n > cap) {
			cap = (len + n) * 2;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return SKY_ENOMEM;
			}
			buf = nb;
		}
		memcpy(buf + len, chunk, n);
		len += n;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(err, errcap, "%s: read error", path);
		return SKY_EIO;
	}
	char dir[4096], msg[768];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir] = '\0'; /* "/kc" -> "/" */
	else
		snprintf(dir, sizeof dir, ".");
	int rc = kubeconfig_parse(buf ? buf : "", len, dir, out, msg, sizeof msg);
	free(buf);
	if (rc)
		snprintf(err, errcap, "kubeconfig %s: %s", path, msg);
	return rc;
}
