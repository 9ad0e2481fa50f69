/* fuzz_service.c - a SkyDNS service value as found in etcd:
 * msg_service_parse(), and for what parses, the kube2sky direction
 * msg_service_json() must give back a value that parses to the same
 * service (text and group are omitempty: "" and absent are the same).
 * Also the name/path helpers on the host field, and the same bytes as the
 * live configuration at /skydns/config (config_apply_json: all or nothing).
 * Seeds: tests/fuzz/corpus/service.
 */
#include "config.h"
#include "err.h"
#include "fuzz.h"
#include "msg.h"

static bool same_str(const char *a, const char *b, bool omitempty)
{
	if (omitempty) {
		a = a ? a : "";
		b = b ? b : "";
	}
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void check_roundtrip(const struct service *s)
{
	char *json = msg_service_json(s);
	FUZZ_ASSERT(json);
	struct service back;
	const char *why = NULL;
	FUZZ_ASSERT(msg_service_parse(json, strlen(json), &back, &why) == 0);
	FUZZ_ASSERT(same_str(s->host, back.host, true) && same_str(s->text, back.text, true) &&
		    same_str(s->group, back.group, true));
	FUZZ_ASSERT(s->port == back.port && s->priority == back.priority &&
		    s->weight == back.weight && s->mail == back.mail && s->ttl == back.ttl &&
		    s->targetstrip == back.targetstrip);
	struct service copy;
	FUZZ_ASSERT(msg_service_copy(&copy, s) == 0 && msg_service_equal(&copy, s));
	msg_service_clear(&copy);
	msg_service_clear(&back);
	free(json);
}

/* The host as a name: path and back must stay within their buffers. */
static void check_names(const char *host)
{
	char path[MSG_NAME_MAX], name[MSG_NAME_MAX], key[MSG_NAME_MAX + 16];
	uint8_t ip[16];
	(void)msg_parse_ip(host, ip);
	int pl = msg_name_to_path(host, path, sizeof path);
	if (pl >= 0) {
		FUZZ_ASSERT((size_t)pl == strlen(path));
		int nl = msg_path_to_name(path, (size_t)pl, name, sizeof name);
		FUZZ_ASSERT(nl < 0 || (size_t)nl == strlen(name));
	}
	int kl = msg_name_to_key("skydns", host, key, sizeof key);
	if (kl >= 0) {
		const char *rel = msg_key_to_path("skydns", key);
		FUZZ_ASSERT(rel != NULL);
	}
}

static void check_config(const uint8_t *data, size_t size)
{
	static struct config c, before;
	char why[256] = "";
	config_defaults(&c);
	memcpy(&before, &c, sizeof c);
	int rc = config_apply_json(&c, (const char *)data, size, why, sizeof why);
	if (rc != 0) {
		FUZZ_ASSERT(rc == SKY_EPARSE && why[0]);
		FUZZ_ASSERT(memcmp(&c, &before, sizeof c) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_config(data, size);
	struct service s;
	const char *why = NULL;
	int rc = msg_service_parse((const char *)data, size, &s, &why);
	if (rc != 0) {
		FUZZ_ASSERT(rc == SKY_EPARSE && why != NULL);
		FUZZ_ASSERT(!s.host && !s.text && !s.group);
		return 0;
	}
	check_roundtrip(&s);
	if (s.host && strlen(s.host) < MSG_NAME_MAX)
		check_names(s.host);
	msg_service_clear(&s);
	return 0;
}
