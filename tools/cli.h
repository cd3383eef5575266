/* Sub-commands of the smpfota CLI; each returns the process exit status. */
#ifndef SMPFOTA_TOOLS_CLI_H
#define SMPFOTA_TOOLS_CLI_H

/* smpfota image info FILE [--json]; argv[0] is "info". */
int smpfota_cli_image_info(int argc, char **argv);

/* smpfota target [options]; argv[0] is "target". */
int smpfota_cli_target(int argc, char **argv);

#endif
