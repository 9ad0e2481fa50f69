#include "check.h"
#include "err.h"

TEST(codes_have_messages)
{
	CHECK_STR(err_str(SKY_OK), "success");
	CHECK_STR(err_str(SKY_ECOMPACTED), "history compacted");
	CHECK_STR(err_str(SKY_EEXIST), "already exists");
	CHECK_STR(err_str(SKY_ECONFLICT), "conflict");
	CHECK_STR(err_str(SKY_ENOTSUP), "not supported");
	CHECK_STR(err_str(-999), "unknown error");
	CHECK_STR(err_str(5), "unknown error");
}

int main(void)
{
	RUN(codes_have_messages);
	return CHECK_DONE();
}
