/* A user option file for tests/test_config.c (SMPFOTA_CONFIG_FILE). */
#define SMPFOTA_SMP_MAX_DEPTH 6
#define SMPFOTA_CLIENT_CHUNK_ALIGN 16U
