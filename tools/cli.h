/* Sub-commands of the smpfota CLI; each returns the process exit status. */
#ifndef SMPFOTA_TOOLS_CLI_H
#define SMPFOTA_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "smpfota/image.h"

/* smpfota image info FILE [--json]; argv[0] is "info". */
int smpfota_cli_image_info(int argc, char **argv);

/* smpfota target [options]; argv[0] is "target". */
int smpfota_cli_target(int argc, char **argv);

/* Global options of the commands that talk to a target (before COMMAND). */
struct smpfota_cli_opts {
	const char *conn;     /* --conn URI (conn_uri.h); NULL = udp:127.0.0.1 */
	uint32_t timeout_ms;  /* --timeout S: per request attempt; 0 = default */
	bool json;            /* --json */
};

/* True when argv[0] (and argv[1]) name a command of smpfota_cli_client(). */
bool smpfota_cli_is_client_command(int argc, char **argv);

/* The client commands: image list|upload|test|confirm|erase, reset, echo, params, info,
 * update. argv[0] is the command ("image", "reset", ...). */
int smpfota_cli_client(const struct smpfota_cli_opts *o, int argc, char **argv);

/* smpfota sim [options]: the two-board simulator; argv[0] is "sim". */
int smpfota_cli_sim(const struct smpfota_cli_opts *o, int argc, char **argv);

/* Usage text of the client commands, for the top-level help. */
void smpfota_cli_client_usage(FILE *f);

/* The one version format of every CLI output (cli_version.c): "1.2.3", or "1.2.3+4" when the
 * build number is not zero. */
void smpfota_cli_version_str(const struct smpfota_image_version *v,
			     char buf[SMPFOTA_IMAGE_VERSION_STR_MAX]);

/* A version as a target lists it ("1.2.3" or Zephyr's "1.2.3.4") in that format into buf;
 * text that is not such a version is copied as it is. */
void smpfota_cli_version_from_wire(const char *text, size_t len, char *buf, size_t size);

#endif
