/*
 * The help of every smpfota command: `smpfota help [COMMAND [SUBCOMMAND]]`, and
 * `smpfota COMMAND [SUBCOMMAND] --help` (main.c turns the latter into the former).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* Global options, accepted before or after the command (until "--"). */
static const char global_options[] =
	"global options (before or after the command; \"--\" ends options):\n"
	"  --conn URI       udp:HOST[:PORT] (port 1337 by default) or serial:DEVICE[,baud=N];\n"
	"                   default: $SMPFOTA_CONN, else udp:127.0.0.1\n"
	"  --ip HOST[:PORT] the same as --conn udp:HOST[:PORT] (smpmgr's spelling)\n"
	"  --port DEVICE    the same as --conn serial:DEVICE (smpmgr's spelling)\n"
	"  --baudrate N     serial speed with --port (default 115200)\n"
	"  --timeout S      seconds to wait for each answer before sending again (default 3;\n"
	"                   each request is sent 3 times at most)\n"
	"  --key FILE       talk over the secure channel with this key (smpfota keygen FILE;\n"
	"                   docs/security.md): clients, target and sim alike\n"
	"  --json           one JSON object on stdout, for results and errors alike\n"
	"  -h, --help       this help, or the command's: smpfota COMMAND --help\n"
	"  -V, --version    the smpfota version\n";

struct help {
	const char *cmd;
	const char *sub;      /* NULL: a command without subcommands */
	const char *synopsis; /* after "smpfota " */
	const char *summary;  /* one line for the command list */
	const char *text;     /* options and details; may be "" */
};

static const struct help helps[] = {
	{"image", "list", "image list", "images in the target's slots (as mcumgr shows them)",
	 "Each slot's image, version, flags and hash, in mcumgr's layout; with --json,\n"
	 "{\"images\": [...]} with the SMP key names.\n"},
	{"image", "upload",
	 "image upload FILE [--image N] [--window N] [--chunk N] [--upgrade]\n"
	 "                    [--first-timeout S]",
	 "upload an MCUboot image to a secondary slot; resumes",
	 "Uploads FILE (an imgtool-signed image, checked first) to the secondary slot of image N.\n"
	 "Run again after an interruption (Ctrl-C, a lost link), it resumes where the target\n"
	 "stopped: the target keeps the offset of an upload of the same file.\n"
	 "  --image N          0: application core (default); 1: network core\n"
	 "  --window N         at most N requests in flight, 1.." CLI_STR(
		 SMPFOTA_CLIENT_MAX_INFLIGHT) " (default: the target's buf_count\n"
					      "                     - 1; the upload starts with 2 and keeps more only while they pay)\n"
					      "  --chunk N          data bytes per request (default and maximum: what fills the\n"
					      "                     target's buffer; a larger value is lowered to that, and said)\n"
					      "  --upgrade          ask the target to refuse an image not newer than the running one\n"
					      "  --first-timeout S  seconds to wait for the first answer (it may erase the slot first)\n"},
	{"image", "test", "image test HASH", "boot the image with this hash once (64 hex digits)",
	 "Marks the image with HASH (as `image list` shows it) pending: the next reset boots\n"
	 "it once; it is reverted at the reset after that unless it is confirmed.\n"},
	{"image", "confirm", "image confirm [HASH]",
	 "confirm the running image, or make HASH permanent",
	 "Without HASH, confirms the running image (after a test boot). With the hash of the\n"
	 "image in the secondary slot, makes it permanent at the next reset.\n"},
	{"image", "erase", "image erase [--slot N]", "erase a slot (default: the secondary, 1)",
	 "  --slot N   the slot to erase (default 1, the secondary; a running or pending image\n"
	 "             cannot be erased)\n"},
	{"image", "slot-info", "image slot-info",
	 "each image's slots, their sizes and the largest image",
	 "What the target says of its slots (image command 6): for each image, each slot's\n"
	 "size and the largest image the upload accepts.\n"},
	{"image", "info", "image info FILE",
	 "show an MCUboot image file's header, version, hash, TLVs",
	 NULL /* cli_image.c has its own */},
	{"reset", NULL, "reset [--force]", "reset the target",
	 "  --force   reset even if the target's application would veto it\n"},
	{"echo", NULL, "echo TEXT...", "the target echoes TEXT",
	 "The words are joined with spaces. Text that starts with '-' goes after \"--\":\n"
	 "smpfota echo -- -x\n"},
	{"params", NULL, "params", "the target's SMP buffer size and count", ""},
	{"info", NULL, "info [FORMAT]", "OS/application information (uname-like)",
	 "FORMAT: letters of snrvbmpio (kernel name, node, release, version, build time,\n"
	 "machine, processor, platform, OS), a = all; default: the target's (s).\n"},
	{"bootloader", "info", "bootloader info", "the bootloader's name and MCUboot mode",
	 "Asks the target's bootloader name, then its mode (query \"mode\"; MCUboot's mode\n"
	 "numbers, named), as mcumgr does.\n"},
	{"update", NULL,
	 "update FILE [--image N] [--no-confirm] [--force] [--upgrade]\n"
	 "              [--window N] [--chunk N]",
	 "check, upload, test, reset, verify, confirm in one go",
	 "The whole update of image N with FILE: check what runs (an image that is already\n"
	 "there is not sent again), upload (resuming), mark it for test, reset, check that the\n"
	 "target runs it, confirm.\n"
	 "  --image N      0: application core (default); 1: network core\n"
	 "  --no-confirm   leave the new image in test mode (the next reset reverts it)\n"
	 "  --force        install even a version that is not newer than the running one\n"
	 "  --upgrade      also ask the target to refuse an image that is not newer\n"
	 "  --window N, --chunk N   as image upload\n"
	 "Several targets at once: smpfota --conn A --conn B ... update FILE [--no-confirm]\n"
	 "[--force] [--max-reboots N] uploads to all of them interleaved, then tests, resets\n"
	 "and confirms them (at most N rebooting at once, default 4); per-target progress\n"
	 "lines, a summary table (--json: one object), exit status 1 unless all were updated\n"
	 "(docs/fleet.md).\n"},
	{"stat", "list", "stat list", "the target's statistics groups (stat group)", ""},
	{"stat", "read", "stat read NAME", "the counters of one statistics group",
	 "NAME as `stat list` shows it. Text: one counter a line; --json: the SMP answer.\n"},
	{"taskstat", NULL, "taskstat", "the target's tasks: priority, stack use, switches, runtime",
	 ""},
	{"mpstat", NULL, "mpstat", "the target's memory pools: block size, blocks, free, minimum",
	 ""},
	{"datetime", "get", "datetime get", "the target's date and time (RTC)", ""},
	{"datetime", "set", "datetime set [TIME]", "set the target's date and time",
	 "TIME as YYYY-MM-DDTHH:MM:SS (Zephyr's format); without it, now (UTC).\n"},
	{"shell", "exec", "shell exec COMMAND [ARGS]", "run a command in the target's shell",
	 "Prints the command's output; exit status 1 when it returns non-zero. Words that\n"
	 "start with '-' go after \"--\": smpfota shell exec -- kernel -h\n"},
	{"fs", "upload", "fs upload LOCAL REMOTE",
	 "copy a file to the target's file system; resumes",
	 "Run again after an interruption, it resumes: the target's shorter file is kept when\n"
	 "its SHA-256 (fs hash) matches the start of LOCAL.\n"},
	{"fs", "download", "fs download REMOTE LOCAL", "copy a file from the target; resumes",
	 "A shorter LOCAL whose SHA-256 matches the start of REMOTE is continued, not fetched\n"
	 "again.\n"},
	{"fs", "stat", "fs stat REMOTE", "the size of a file on the target", ""},
	{"fs", "hash", "fs hash REMOTE", "the SHA-256 of a file on the target", ""},
	{"target", NULL, "target [OPTIONS]",
	 "run a simulated target (MCUboot + SMP server) on UDP or a PTY", NULL},
	{"sim", NULL, "sim --image FILE [OPTIONS]",
	 "two boards updating over simulated ESB in virtual time", NULL},
	{"keygen", NULL, "keygen FILE",
	 "write a new random key for --key (16 bytes, 32 hex digits)",
	 "FILE must not exist; it is created readable by its owner only. Give the same FILE to\n"
	 "the master (--key) and to the target: the key id on the wire comes from the key.\n"},
	{"version", NULL, "version", "the smpfota version (also -V, --version)", ""},
	{"help", NULL, "help [COMMAND [SUBCOMMAND]]", "this help, or a command's", ""},
};
#define N_HELPS (sizeof(helps) / sizeof(helps[0]))

void smpfota_cli_usage(FILE *f)
{
	fprintf(f, "usage: smpfota [GLOBAL OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_HELPS; i++) {
		const struct help *h = &helps[i];
		char word[32];
		snprintf(word, sizeof(word), "%s%s%s", h->cmd, h->sub ? " " : "",
			 h->sub ? h->sub : "");
		fprintf(f, "  %-16s %s\n", word, h->summary);
	}
	fprintf(f, "\n%s\n", global_options);
	fprintf(f,
		"The connection: --conn, --ip or --port, else $SMPFOTA_CONN, else udp:127.0.0.1.\n"
		"smpfota help COMMAND (or smpfota COMMAND --help) tells more.\n"
		"Exit status: 0 success; 1 failure (one line on stderr names the error, and with\n"
		"--json one object on stdout: {\"error\": NAME, \"message\": ...}); 2 usage error;\n"
		"130 interrupted (Ctrl-C).\n"
		"SMPFOTA_TRACE=1 prints every SMP frame (and a serial target's console lines)\n"
		"on stderr with its time, to see where an exchange spends it.\n");
}

static void print_one(FILE *f, const struct help *h)
{
	fprintf(f, "usage: smpfota %s\n\n%s.\n", h->synopsis, h->summary);
	if (h->text[0]) {
		fprintf(f, "\n%s", h->text);
	}
	fprintf(f, "\n%s", global_options);
}

int smpfota_cli_help(FILE *f, int argc, char **argv)
{
	if (argc < 1) {
		smpfota_cli_usage(f);
		return 0;
	}
	const char *cmd = argv[0];
	const char *sub = argc > 1 ? argv[1] : NULL;
	if (!strcmp(cmd, "target")) {
		smpfota_cli_target_usage(f);
		return 0;
	}
	if (!strcmp(cmd, "sim")) {
		smpfota_cli_sim_usage(f);
		return 0;
	}
	if (!strcmp(cmd, "image") && sub && !strcmp(sub, "info")) {
		smpfota_cli_image_info_usage(f);
		return 0;
	}
	bool has_subs = false;
	for (size_t i = 0; i < N_HELPS; i++) {
		const struct help *h = &helps[i];
		if (strcmp(h->cmd, cmd) != 0) {
			continue;
		}
		if (h->sub == NULL) {
			print_one(f, h);
			return 0;
		}
		has_subs = true;
		if (sub && !strcmp(h->sub, sub)) {
			print_one(f, h);
			return 0;
		}
	}
	if (has_subs && sub == NULL) {
		/* "image --help": the subcommands */
		fprintf(f, "usage: smpfota %s SUBCOMMAND [ARGS]\n\nsubcommands:\n", cmd);
		for (size_t i = 0; i < N_HELPS; i++) {
			if (!strcmp(helps[i].cmd, cmd)) {
				fprintf(f, "  %-8s %s\n", helps[i].sub, helps[i].summary);
			}
		}
		fprintf(f, "\nsmpfota %s SUBCOMMAND --help tells more.\n", cmd);
		return 0;
	}
	return -1;
}
