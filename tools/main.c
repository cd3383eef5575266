/* smpfota — host CLI. Dispatches to the sub-command implementations in tools/cli_*.c. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "smpfota/smpfota.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smpfota COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  image info FILE [--json]   show an MCUboot image's header, version, hash, TLVs\n"
		"  target [OPTIONS]           run a simulated target (MCUboot + SMP server) on UDP\n"
		"                             or a serial PTY; see smpfota target --help\n"
		"  version                    print the smpfota version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("smpfota %s\n", SMPFOTA_VERSION_STRING);
		return 0;
	}
	if (!strcmp(argv[1], "target")) {
		return smpfota_cli_target(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "image") && argc >= 3 && !strcmp(argv[2], "info")) {
		return smpfota_cli_image_info(argc - 2, argv + 2);
	}
	fprintf(stderr, "smpfota: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
