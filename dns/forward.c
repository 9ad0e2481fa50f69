/* forward.c: placeholder until the forwarder lands (helper H8 replaces this file). */
#include "forward.h"

#include "err.h"

int forwarder_new(struct snapstore *st, unsigned reader_slot, struct forwarder **out)
{
	(void)st;
	(void)reader_slot;
	*out = NULL;
	return SKY_EINVAL;
}

void forwarder_free(struct forwarder *f) { (void)f; }

int forwarder_submit(struct forwarder *f, const uint8_t *pkt, size_t len, bool tcp,
		     struct fwd_reply *r)
{
	(void)f;
	(void)pkt;
	(void)len;
	(void)tcp;
	(void)r;
	return SKY_EINVAL;
}
