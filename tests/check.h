/* Minimal test harness for the C unit tests: one binary per layer, one function per case. */
#ifndef SMPFOTA_TESTS_CHECK_H
#define SMPFOTA_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_case_failed;
static int check_cases_passed;
static int check_cases_failed;

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
			check_case_failed = 1; \
		} \
	} while (0)

#define CHECK_EQ(a, b) \
	do { \
		long long check_a_ = (long long)(a), check_b_ = (long long)(b); \
		if (check_a_ != check_b_) { \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
				__LINE__, #a, #b, check_a_, check_b_); \
			check_case_failed = 1; \
		} \
	} while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

#define CHECK_STR(s, lit) CHECK((s).len == strlen(lit) && memcmp((s).ptr, (lit), (s).len) == 0)

#define RUN(fn) \
	do { \
		check_case_failed = 0; \
		fn(); \
		if (check_case_failed) { \
			check_cases_failed++; \
			fprintf(stderr, "FAIL %s\n", #fn); \
		} else { \
			check_cases_passed++; \
		} \
	} while (0)

#define CHECK_SUMMARY() \
	(printf("%d passed, %d failed\n", check_cases_passed, check_cases_failed), \
	 check_cases_failed ? 1 : 0)

#endif
