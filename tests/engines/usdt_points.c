/* An engine's ordering points in a production build (-DORDO_POINTS_USDT):
 * each ORDO_REGISTER_SITE is only the USDT probe ordo:site and each
 * ORDO_POINT only ordo:point, with no ordo host. A writer thread updates
 * objects under their lock while a read-ahead thread fills and marks buffers
 * of the same objects without it: the FPRE004-A shape. The test captures
 * this program with `ordo capture --usdt` and analyzes the capture. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "ordo/engine_point.h"

enum { SITE_LOCK = 1, SITE_WRITE, SITE_UNLOCK, SITE_RA_FILL, SITE_RA_MARK_CLEAN };

static int rounds = 100;

static uint64_t object_of(int i) { return ((uint64_t)1 << 32) | (uint64_t)(i % 8); }

static void* writer(void* arg) {
  const ordo_host* host = NULL; /* not evaluated in a production build */
  (void)host;
  (void)arg;
  for (int i = 0; i < rounds; ++i) {
    ORDO_POINT(host, SITE_LOCK, object_of(i), 0);
    ORDO_POINT(host, SITE_WRITE, object_of(i), (uint64_t)i);
    ORDO_POINT(host, SITE_UNLOCK, object_of(i), 0);
  }
  return NULL;
}

static void* readahead(void* arg) {
  const ordo_host* host = NULL;
  (void)host;
  (void)arg;
  for (int i = 0; i < rounds; ++i) {
    ORDO_POINT(host, SITE_RA_FILL, object_of(i), 0);
    ORDO_POINT(host, SITE_RA_MARK_CLEAN, object_of(i), 0);
  }
  return NULL;
}

int main(int argc, char** argv) {
  rounds = argc > 1 ? atoi(argv[1]) : 100;
  const ordo_host* host = NULL;
  (void)host;
  int ok =
      ORDO_REGISTER_SITE(host, SITE_LOCK, "write.lock", ORDO_ACCESS_ACQUIRE) &&
      ORDO_REGISTER_SITE(host, SITE_WRITE, "write.update", ORDO_ACCESS_WRITE) &&
      ORDO_REGISTER_SITE(host, SITE_UNLOCK, "write.unlock", ORDO_ACCESS_RELEASE) &&
      ORDO_REGISTER_SITE(host, SITE_RA_FILL, "readahead.fill", ORDO_ACCESS_FILL) &&
      ORDO_REGISTER_SITE(host, SITE_RA_MARK_CLEAN, "readahead.mark_clean", ORDO_ACCESS_MARK_CLEAN);
  pthread_t w, r;
  pthread_create(&w, NULL, writer, NULL);
  pthread_create(&r, NULL, readahead, NULL);
  pthread_join(w, NULL);
  pthread_join(r, NULL);
  printf("%d rounds, sites %s\n", rounds, ok ? "registered" : "refused");
  return 0;
}
