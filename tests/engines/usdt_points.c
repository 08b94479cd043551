/* An engine's ordering points in a production build (-DORDO_POINTS_USDT):
 * each ORDO_POINT is only the USDT probe ordo:point, with no ordo host. The
 * test captures this program with `ordo capture --usdt` and finds the
 * points as engine events of kind 0x8000 + site. */
#include <stdio.h>
#include <stdlib.h>

#include "ordo/engine_point.h"

enum { SITE_LOCK = 1, SITE_WRITE, SITE_UNLOCK };

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 100;
  const ordo_host* host = NULL; /* not evaluated in a production build */
  (void)host;
  for (int i = 0; i < rounds; ++i) {
    uint64_t object = ((uint64_t)1 << 32) | (uint64_t)(i % 8);
    ORDO_POINT(host, SITE_LOCK, object, 0);
    ORDO_POINT(host, SITE_WRITE, object, (uint64_t)i);
    ORDO_POINT(host, SITE_UNLOCK, object, 0);
  }
  printf("%d rounds\n", rounds);
  return 0;
}
