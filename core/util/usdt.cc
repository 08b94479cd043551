#include "ordo/util/usdt.h"

extern "C" {
__attribute__((section(".probes"))) volatile unsigned short ordo_site_semaphore = 0;
__attribute__((section(".probes"))) volatile unsigned short ordo_point_semaphore = 0;
__attribute__((section(".probes"))) volatile unsigned short ordo_request_semaphore = 0;
}
