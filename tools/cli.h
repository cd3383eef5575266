/* Sub-commands of the smpfota CLI; each returns the process exit status. */
#ifndef SMPFOTA_TOOLS_CLI_H
#define SMPFOTA_TOOLS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto/mbedtls.h"
#include "smpfota/config.h"
#include "smpfota/image.h"
#include "smpfota/secure.h"
#include "smpfota/smp.h"

/* Exit status of a command stopped by Ctrl-C (SIGINT), as shells report it. */
#define SMPFOTA_CLI_EXIT_INTERRUPTED 130

/* --conn given several times: `update` runs on that many targets at once. */
#define SMPFOTA_CLI_MAX_CONNS 16U
/* A macro's value as a string literal (option ranges in help and errors). */
#define CLI_STR_(x) #x
#define CLI_STR(x) CLI_STR_(x)

/* Global options, taken by main.c from anywhere before "--". */
struct smpfota_cli_opts {
	const char *
		conn; /* --conn URI (conn_uri.h), --ip, --port, $SMPFOTA_CONN; NULL = udp:127.0.0.1 */
	bool conn_from_env;  /* conn came from $SMPFOTA_CONN (error messages say so) */
	uint32_t timeout_ms; /* --timeout S: per request attempt; 0 = default */
	bool json;           /* --json */
	const char *key; /* --key FILE: the secure channel's key (docs/security.md); NULL = none */
	/* every --conn given, in order (conn is the last): several only for `update` */
	const char *conns[SMPFOTA_CLI_MAX_CONNS];
	unsigned n_conns;
};

/* ---- commands (argv[0] is the command word) ---- */

/* smpfota image info FILE; argv[0] is "info". */
int smpfota_cli_image_info(const struct smpfota_cli_opts *o, int argc, char **argv);

/* smpfota keygen FILE: a new key for --key. */
int smpfota_cli_keygen(const struct smpfota_cli_opts *o, int argc, char **argv);

/* The key of --key FILE, ready for the secure channel. */
struct smpfota_cli_key {
	bool on;                        /* --key was given */
	struct smpfota_mbedtls_key key; /* the key and its id */
	struct smpfota_mbedtls_crypto mc;
	struct smpfota_secure_crypto ops;
};

/* Load o->key when given (k->on false otherwise); random from the system. 0, or the exit
 * status of the error it reported. Free with smpfota_cli_key_free(). */
int smpfota_cli_key_load(const struct smpfota_cli_opts *o, const char *what,
			 struct smpfota_cli_key *k);
void smpfota_cli_key_free(struct smpfota_cli_key *k);

/* smpfota target [options]. */
int smpfota_cli_target(const struct smpfota_cli_opts *o, int argc, char **argv);

/* smpfota sim [options]: the two-board simulator. */
int smpfota_cli_sim(const struct smpfota_cli_opts *o, int argc, char **argv);

/* smpfota sim --targets N (cli_fleet.c): the fleet simulator; a --target-fault spec. */
struct smpfota_sim_fleet_config;
int smpfota_cli_sim_fleet(const struct smpfota_sim_fleet_config *fc, const uint8_t *img, size_t len,
			  const char *name, bool json);
bool smpfota_cli_fleet_fault(struct smpfota_sim_fleet_config *fc, const char *spec);

/* smpfota --conn A --conn B ... update FILE (cli_fleet_update.c): several targets at once. */
int smpfota_cli_fleet_update(const struct smpfota_cli_opts *o, const char *const *conns,
			     unsigned n_conns, int argc, char **argv);

/* True when argv[0] names a command of smpfota_cli_client(). */
bool smpfota_cli_is_client_command(int argc, char **argv);

/* The commands that talk to a target: image list|upload|test|confirm|erase, reset, echo,
 * params, info, update, and the host-side extras. */
int smpfota_cli_client(const struct smpfota_cli_opts *o, int argc, char **argv);

/* ---- help (cli_help.c) ---- */

/* The top-level usage: commands and global options. */
void smpfota_cli_usage(FILE *f);
/* Help of the command named by argv[0] (and argv[1]); 0, or -1 for an unknown name. */
int smpfota_cli_help(FILE *f, int argc, char **argv);
void smpfota_cli_target_usage(FILE *f);
void smpfota_cli_sim_usage(FILE *f);
void smpfota_cli_image_info_usage(FILE *f);

/* ---- errors (cli_errors.c) ---- */

/* A failed command, as it is reported. */
struct smpfota_cli_error {
	const char *what;                        /* the command, "image upload" */
	const char *step;                        /* update: the step that failed, or NULL */
	const char *name;                        /* "TIMEDOUT", "REJECTED", "USAGE", ... */
	const char *message;                     /* what happened, for a person */
	const char *hint;                        /* what the user can do about it, or NULL */
	const struct smpfota_smp_status *status; /* the target's answer, when it answered */
	const char *file;                        /* the local file it is about, or NULL */
};

/* One line on stderr ("smpfota: WHAT[: STEP]: MESSAGE", then "smpfota: hint: HINT") and,
 * with json, one object on stdout: {"error", "message", "command", "step", "group", "code",
 * "code_name", "rsn", "hint"}. Returns status. */
int smpfota_cli_report(bool json, const struct smpfota_cli_error *e, int status);

/* A usage error of command what (exit status 2). */
int smpfota_cli_usage_error(bool json, const char *what, const char *msg);

/* ---- versions (cli_version.c) ---- */

/* A version as a target lists it ("1.2.3" or Zephyr's "1.2.3.4") in the format of
 * smpfota_image_version_str() into buf;
 * text that is not such a version is copied as it is. */
void smpfota_cli_version_from_wire(const char *text, size_t len, char *buf, size_t size);

#endif
