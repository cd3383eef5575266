/* Internal: the field tables behind the SMP codec, for tools that walk messages generically
 * (the codec test tool prints and builds any message from them). */
#ifndef SMPFOTA_SRC_SMP_INTERNAL_H
#define SMPFOTA_SRC_SMP_INTERNAL_H

#include "cbor.h"
#include "smpfota/smp.h"

/* Field table of a request (rsp = false) or response body; NULL for an unknown kind. */
const struct smpfota_cbor_map *smpfota_smp_msg_map(enum smpfota_smp_msg msg, bool rsp);

/* Table of the status keys every response may carry (rc, rsn, err). */
const struct smpfota_cbor_map *smpfota_smp_status_map(void);

/* Size of the request or response struct of a kind. */
size_t smpfota_smp_msg_size(enum smpfota_smp_msg msg, bool rsp);

#endif
