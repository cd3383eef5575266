/*
 * smpfota — host CLI. Takes the global options out of the command line wherever they are
 * (before or after the command, up to "--"), then dispatches to tools/cli_*.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "smpfota/smpfota.h"

/* Value of "--opt VALUE" or "--opt=VALUE" at argv[*i]; advances *i past it. *missing is set
 * when the option is there without its value. */
static const char *opt_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0) {
		return NULL;
	}
	if (argv[*i][n] == '=') {
		return argv[*i] + n + 1;
	}
	if (argv[*i][n] != '\0') {
		return NULL;
	}
	if (*i + 1 < argc) {
		return argv[++*i];
	}
	*missing = true;
	return NULL;
}

static int print_version(bool json)
{
	if (json) {
		struct json_writer w;
		json_init(&w, stdout, 2);
		json_begin_object(&w);
		json_key(&w, "version");
		json_string(&w, SMPFOTA_VERSION_STRING);
		json_end_object(&w);
		return json_finish(&w) ? 1 : 0;
	}
	printf("smpfota %s\n", SMPFOTA_VERSION_STRING);
	return 0;
}

/* The connection the options name: --conn, else --ip/--port (smpmgr's), else none. */
static int pick_conn(struct smpfota_cli_opts *o, const char *ip, const char *port, const char *baud,
		     char *buf, size_t size)
{
	int given = (o->conn != NULL) + (ip != NULL) + (port != NULL);
	if (given > 1) {
		return smpfota_cli_usage_error(o->json, "smpfota",
					       "give one of --conn, --ip and --port");
	}
	if (baud && !port) {
		return smpfota_cli_usage_error(o->json, "smpfota", "--baudrate goes with --port");
	}
	if (ip) {
		snprintf(buf, size, "udp:%s", ip);
		o->conn = buf;
	} else if (port) {
		if (baud) {
			snprintf(buf, size, "serial:%s,baud=%s", port, baud);
		} else {
			snprintf(buf, size, "serial:%s", port);
		}
		o->conn = buf;
	}
	return 0;
}

static int run(int argc, char **argv, char **rest);

int main(int argc, char **argv)
{
	/* What is left for the command: its words and options, then "--" and what follows. */
	char **rest = calloc((size_t)argc + 1, sizeof(char *));
	if (rest == NULL) {
		fprintf(stderr, "smpfota: out of memory\n");
		return 1;
	}
	int rc = run(argc, argv, rest);
	free(rest);
	return rc;
}

static int run(int argc, char **argv, char **rest)
{
	struct smpfota_cli_opts o = {0};
	const char *ip = NULL, *port = NULL, *baud = NULL, *timeout = NULL;
	bool help = false, version = false;
	static char conn_buf[600];
	int n = 0;
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		const char *v;
		bool missing = false;
		if (!strcmp(a, "--")) {
			break;
		}
		if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			help = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			version = true;
		} else if ((v = opt_value(argc, argv, &i, "--conn", &missing)) != NULL) {
			o.conn = v;
			if (o.n_conns == SMPFOTA_CLI_MAX_CONNS) {
				return smpfota_cli_usage_error(o.json, "smpfota",
							       "at most 16 --conn");
			}
			o.conns[o.n_conns++] = v;
		} else if ((v = opt_value(argc, argv, &i, "--ip", &missing)) != NULL) {
			ip = v;
		} else if ((v = opt_value(argc, argv, &i, "--port", &missing)) != NULL) {
			port = v;
		} else if ((v = opt_value(argc, argv, &i, "--baudrate", &missing)) != NULL) {
			baud = v;
		} else if ((v = opt_value(argc, argv, &i, "--timeout", &missing)) != NULL) {
			timeout = v;
		} else if ((v = opt_value(argc, argv, &i, "--key", &missing)) != NULL) {
			o.key = v;
		} else if (missing) {
			char msg[128];
			snprintf(msg, sizeof(msg), "%s needs a value", a);
			return smpfota_cli_usage_error(o.json, "smpfota", msg);
		} else {
			rest[n++] = argv[i];
		}
	}
	if (i < argc) {
		/* "--" and the rest, as they are: the command's getopt stops there too */
		for (; i < argc; i++) {
			rest[n++] = argv[i];
		}
	}
	rest[n] = NULL;

	if (version && !help) {
		return print_version(o.json);
	}
	/* "help [CMD]", "CMD --help" and "--help": the help of what is named before "--" */
	bool help_cmd = n > 0 && !strcmp(rest[0], "help");
	if (help || help_cmd) {
		int words = 0;
		/* "help CMD" names CMD; "help --help" names help itself */
		char **w = help_cmd && !help ? rest + 1 : rest;
		int avail = help_cmd && !help ? n - 1 : n;
		while (words < avail && words < 2 && w[words][0] != '-') {
			words++;
		}
		if (smpfota_cli_help(stdout, words, w) != 0) {
			char msg[160];
			snprintf(msg, sizeof(msg), "no help for '%s%s%s': unknown command", w[0],
				 words > 1 ? " " : "", words > 1 ? w[1] : "");
			return smpfota_cli_usage_error(o.json, "help", msg);
		}
		return 0;
	}
	if (timeout) {
		char *end;
		double s = strtod(timeout, &end);
		/* 0.001 s .. 1 day: a timeout of 0 would retransmit in a busy loop */
		if (end == timeout || *end || !isfinite(s) || s < 0.001 || s > 86400) {
			return smpfota_cli_usage_error(o.json, "smpfota",
						       "bad --timeout: seconds, e.g. 2.5");
		}
		o.timeout_ms = (uint32_t)(s * 1000 + 0.5);
	}
	int rc = pick_conn(&o, ip, port, baud, conn_buf, sizeof(conn_buf));
	if (rc != 0) {
		return rc;
	}
	if (o.conn == NULL) {
		const char *env = getenv("SMPFOTA_CONN");
		o.conn = env && env[0] ? env : NULL;
		o.conn_from_env = o.conn != NULL;
	}

	if (n < 1) {
		smpfota_cli_usage(stderr);
		return 2;
	}
	if (o.n_conns > 1) {
		if (strcmp(rest[0], "update") != 0) {
			return smpfota_cli_usage_error(o.json, rest[0],
						       "several --conn: only update takes them");
		}
		return smpfota_cli_fleet_update(&o, o.conns, o.n_conns, n, rest);
	}
	if (!strcmp(rest[0], "version")) {
		if (n > 1) {
			return smpfota_cli_usage_error(o.json, "version", "takes no argument");
		}
		return print_version(o.json);
	}
	if (!strcmp(rest[0], "sim")) {
		return smpfota_cli_sim(&o, n, rest);
	}
	if (!strcmp(rest[0], "keygen")) {
		return smpfota_cli_keygen(&o, n, rest);
	}
	if (!strcmp(rest[0], "target")) {
		return smpfota_cli_target(&o, n, rest);
	}
	if (!strcmp(rest[0], "image") && n >= 2 && !strcmp(rest[1], "info")) {
		return smpfota_cli_image_info(&o, n - 1, rest + 1);
	}
	if (smpfota_cli_is_client_command(n, rest)) {
		return smpfota_cli_client(&o, n, rest);
	}
	char msg[160];
	snprintf(msg, sizeof(msg), "unknown command '%s' (smpfota help lists them)", rest[0]);
	return smpfota_cli_usage_error(o.json, "smpfota", msg);
}
