/*
 * NCS ESB under the smpfota ESB link layer (smpfota/esb_link.h), for the network core.
 *
 * The link decides everything (fragments, polls, back-off, flow control); this glue maps its
 * radio ops one to one onto esb.h, starts the high-frequency clock ESB needs, and records ESB
 * events, which arrive in the ESB interrupt, as flags for the work item that owns the link.
 * NCS ESB is a single radio, so this state is static.
 */
#ifndef SMPFOTA_ZEPHYR_ESB_RADIO_H
#define SMPFOTA_ZEPHYR_ESB_RADIO_H

#include <stdbool.h>
#include <stdint.h>

#include "smpfota/esb_link.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Start the HF clock, esb_init() as PTX (master) or PRX (target) with dynamic payloads up to
 * CONFIG_ESB_MAX_PAYLOAD_LENGTH, set the addresses and RF channel, and (PRX) start receiving.
 * kick(kick_ctx) is called from the ESB interrupt after each event. 0 or a negative errno. */
int smpfota_zesb_init(bool ptx, uint8_t rf_channel, void (*kick)(void *ctx), void *kick_ctx);

/* The link's radio ops on NCS ESB. */
struct smpfota_esb_radio smpfota_zesb_radio(void);

/* Hand the events raised since the last call to the link, in the order the simulator uses
 * (ports/sim/board.c): TX_FAILED, TX_SUCCESS, RX_RECEIVED. Call under the link's lock. */
void smpfota_zesb_deliver(struct smpfota_esb_link *l, uint32_t now_us);

#ifdef __cplusplus
}
#endif

#endif /* SMPFOTA_ZEPHYR_ESB_RADIO_H */
