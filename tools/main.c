/* smpfota — host CLI. Dispatches to the sub-command implementations in tools/cli_*.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "smpfota/smpfota.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: smpfota [--conn URI] [--timeout S] [--json] COMMAND [ARGS]\n"
		"\n"
		"global options (before COMMAND):\n"
		"  --conn URI     udp:HOST[:PORT] (port 1337 by default) or serial:DEVICE[,baud=N];\n"
		"                 default udp:127.0.0.1\n"
		"  --timeout S    seconds to wait for each answer before sending again (default 3;\n"
		"                 each request is sent 3 times at most)\n"
		"  --json         machine-readable output on stdout\n"
		"\n"
		"commands that talk to a target:\n");
	smpfota_cli_client_usage(f);
	fprintf(f,
		"\n"
		"local commands:\n"
		"  image info FILE [--json]   show an MCUboot image's header, version, hash, TLVs\n"
		"  target [OPTIONS]           run a simulated target (MCUboot + SMP server) on UDP\n"
		"                             or a serial PTY; see smpfota target --help\n"
		"  sim --image FILE [OPTIONS] a master board updating a target board over simulated\n"
		"                             ESB in virtual time; see smpfota sim --help\n"
		"  version                    print the smpfota version\n"
		"\n"
		"Exit status: 0 success, 1 failure (one line on stderr names the error), 2 usage.\n");
}

/* Value of a global option given as "--opt VALUE" or "--opt=VALUE"; advances *i. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0) {
		return NULL;
	}
	if (argv[*i][n] == '=') {
		return argv[*i] + n + 1;
	}
	if (argv[*i][n] == '\0' && *i + 1 < argc) {
		return argv[++*i];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct smpfota_cli_opts o = {0};
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("smpfota %s\n", SMPFOTA_VERSION_STRING);
			return 0;
		}
		if (!strcmp(argv[i], "--json")) {
			o.json = true;
		} else if ((v = opt_value(argc, argv, &i, "--conn")) != NULL) {
			o.conn = v;
		} else if ((v = opt_value(argc, argv, &i, "--timeout")) != NULL) {
			char *end;
			double s = strtod(v, &end);
			/* 0.001 s .. 1 day: a timeout of 0 would retransmit in a busy loop */
			if (end == v || *end || !isfinite(s) || s < 0.001 || s > 86400) {
				fprintf(stderr, "smpfota: bad --timeout: %s (seconds, e.g. 2.5)\n", v);
				return 2;
			}
			o.timeout_ms = (uint32_t)(s * 1000 + 0.5);
		} else {
			fprintf(stderr, "smpfota: unknown or incomplete option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	argc -= i;
	argv += i;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[0], "version")) {
		printf("smpfota %s\n", SMPFOTA_VERSION_STRING);
		return 0;
	}
	if (!strcmp(argv[0], "sim")) {
		return smpfota_cli_sim(&o, argc, argv);
	}
	if (!strcmp(argv[0], "target")) {
		return smpfota_cli_target(argc, argv);
	}
	if (!strcmp(argv[0], "image") && argc >= 2 && !strcmp(argv[1], "info")) {
		if (!o.json) {
			return smpfota_cli_image_info(argc - 1, argv + 1);
		}
		/* global --json: the same as image info's own */
		static char json_flag[] = "--json";
		char *args[64];
		if (argc + 1 > (int)(sizeof(args) / sizeof(args[0]))) {
			fprintf(stderr, "smpfota: too many arguments\n");
			return 2;
		}
		for (int k = 1; k < argc; k++) {
			args[k - 1] = argv[k];
		}
		args[argc - 1] = json_flag;
		args[argc] = NULL;
		return smpfota_cli_image_info(argc, args);
	}
	if (smpfota_cli_is_client_command(argc, argv)) {
		return smpfota_cli_client(&o, argc, argv);
	}
	fprintf(stderr, "smpfota: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return 2;
}
