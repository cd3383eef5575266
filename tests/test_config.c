/*
 * The option block (smpfota/config.h): a file named by SMPFOTA_CONFIG_FILE is read first and
 * wins; options it leaves out keep their defaults. Built with
 * -DSMPFOTA_CONFIG_FILE="config_test_file.h" (tests/CMakeLists.txt). Preprocessor only: it
 * calls nothing whose struct sizes the options change.
 */
#include "check.h"
#include "smpfota/client.h"

static void test_file_wins(void)
{
	CHECK_EQ(SMPFOTA_SMP_MAX_DEPTH, 6);
	CHECK_EQ(SMPFOTA_CLIENT_CHUNK_ALIGN, 16U);
}

static void test_defaults_stay(void)
{
	CHECK_EQ(SMPFOTA_CLIENT_MAX_INFLIGHT, 12);
	CHECK_EQ(SMPFOTA_SMP_MAX_IMAGES, 4);
	CHECK_EQ(SMPFOTA_CONFIG_ERROR_NAMES, 1);
}

int main(void)
{
	RUN(test_file_wins);
	RUN(test_defaults_stay);
	return CHECK_SUMMARY();
}
