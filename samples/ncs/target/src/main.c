/*
 * smpfota target: an smp_svr-style application. Nothing here knows about ESB or IPC: mcumgr's
 * groups register themselves, and CONFIG_SMPFOTA_MCUMGR_TRANSPORT_IPC starts the transport
 * to the network core at boot (zephyr/src/mcumgr_ipc.c). A product adds the Kconfig lines of
 * prj.conf and the devicetree overlay to its own smp_svr-style application.
 */
#include <zephyr/kernel.h>
#include <zephyr/logging/log.h>

LOG_MODULE_REGISTER(smpfota_target, LOG_LEVEL_INF);

int main(void)
{
	LOG_INF("smpfota target: mcumgr over ESB (network core), build time " __DATE__ " " __TIME__);
	return 0;
}
