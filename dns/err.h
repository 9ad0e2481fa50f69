/* err.h - the one error convention of skydns and kube2sky.
 *
 * Every function that can fail returns 0 (SKY_OK) or a negative SKY_E* code;
 * err_str() turns a code into a short human string. Leaf modules return codes,
 * orchestrators (mirror, server, main, kube2sky's sync loop) log them.
 */
#ifndef SKYDNS_ERR_H
#define SKYDNS_ERR_H

enum {
	SKY_OK = 0,
	SKY_ENOMEM = -1,     /* allocation failed */
	SKY_EINVAL = -2,     /* bad argument or value */
	SKY_EPARSE = -3,     /* input did not parse (JSON, packet, config) */
	SKY_EIO = -4,        /* network or file I/O failed */
	SKY_ENOTFOUND = -5,  /* key / name / file does not exist */
	SKY_ETIMEDOUT = -6,  /* operation timed out */
	SKY_ECOMPACTED = -7, /* etcd history gone (v2 401 / v3 compaction): relist */
	SKY_EAUTH = -8,      /* authentication or permission refused */
	SKY_ETLS = -9,       /* TLS setup or handshake failed */
	SKY_ERANGE = -10,    /* value out of range / does not fit */
	SKY_ESTOPPED = -11,  /* operation interrupted because the caller asked to stop */
	SKY_EPROTO = -12,    /* peer answered something the protocol does not allow */
	SKY_EEXIST = -13,    /* already exists */
	SKY_ECONFLICT = -14, /* a guarded write's compare failed (etcd txn): the data changed */
	SKY_ENOTSUP = -15,   /* not supported by this backend (etcd v2 has no transactions) */
};

/* Static string for a SKY_E* code ("unknown error" for anything else). */
const char *err_str(int code);

#endif
