/*
 * Versions as targets list them, shown in the one format of every smpfota output
 * (smpfota_image_version_str(): "1.2.3", "1.2.3+4"; README "Versions" says why).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* One decimal part of at most max, ending at one of the characters in ends or at the end of
 * the text (strchr finds the NUL too); *p moves past it. */
static bool wire_part(const char **p, const char *ends, unsigned long max, unsigned long *out)
{
	const char *s = *p;
	if (*s < '0' || *s > '9') {
		return false;
	}
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (v > max || end - s > 10 || strchr(ends, *end) == NULL) {
		return false;
	}
	*out = v;
	*p = *end ? end + 1 : end;
	return true;
}

void smpfota_cli_version_from_wire(const char *text, size_t len, char *buf, size_t size)
{
	char tmp[SMPFOTA_IMAGE_VERSION_STR_MAX + 8];
	unsigned long major, minor, rev, build = 0;
	if (size == 0) {
		return;
	}
	if (len < sizeof(tmp)) {
		memcpy(tmp, text, len);
		tmp[len] = '\0';
		const char *p = tmp;
		/* Zephyr's img_mgmt lists "1.2.3" or "1.2.3.4" (build when non-zero) */
		if (wire_part(&p, ".", 255, &major) && wire_part(&p, ".", 255, &minor) &&
		    wire_part(&p, ".", 65535, &rev) &&
		    (*p == '\0' ? p[-1] != '.' : wire_part(&p, "", UINT32_MAX, &build))) {
			struct smpfota_image_version v = {.major = (uint8_t)major,
							  .minor = (uint8_t)minor,
							  .revision = (uint16_t)rev,
							  .build = (uint32_t)build};
			char out[SMPFOTA_IMAGE_VERSION_STR_MAX];
			(void)smpfota_image_version_str(&v, out, sizeof(out));
			snprintf(buf, size, "%s", out);
			return;
		}
	}
	/* not a version we know how to read: shown as the target sent it */
	snprintf(buf, size, "%.*s", (int)len, text);
}
