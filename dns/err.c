#include "err.h"

static const char *const messages[] = {
	[0] = "success",
	[1] = "out of memory",
	[2] = "invalid argument",
	[3] = "parse error",
	[4] = "I/O error",
	[5] = "not found",
	[6] = "timed out",
	[7] = "history compacted",
	[8] = "authentication failed",
	[9] = "TLS error",
	[10] = "out of range",
	[11] = "stopped",
	[12] = "protocol error",
	[13] = "already exists",
	[14] = "conflict",
	[15] = "not supported",
};

const char *err_str(int code)
{
	unsigned idx = code <= 0 ? (unsigned)-code : ~0u;
	if (idx < sizeof messages / sizeof messages[0] && messages[idx])
		return messages[idx];
	return "unknown error";
}
