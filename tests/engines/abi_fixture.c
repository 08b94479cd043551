/* Engines that test the host's side of the engine ABI, one per build
 * variant: a plain in-memory engine (no variant), and engines that are built
 * for another ABI major, a newer minor, that refuse to open or crash in
 * apply. Not a cache engine: what is under test here is ordo's loading,
 * version checks and crash isolation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ordo/engine_abi.h"

#ifndef FIXTURE_MAJOR
#define FIXTURE_MAJOR ORDO_ENGINE_ABI_MAJOR
#endif
#ifndef FIXTURE_MINOR
#define FIXTURE_MINOR ORDO_ENGINE_ABI_MINOR
#endif

typedef struct fixture {
  const ordo_host* host;
  uint32_t site_apply;
  unsigned long applied;
  int worker;
} fixture;

static void fixture_worker(void* arg) { (void)arg; }

static int fixture_open(const ordo_host* host, const char* dir, const char* config, void** out,
                        ordo_failure* failure) {
#ifdef FIXTURE_OPEN_FAILS
  snprintf(failure->message, sizeof failure->message, "cannot open %s: config '%s' refused", dir,
           config);
  return ORDO_ERROR;
#endif
  fixture* f = calloc(1, sizeof *f);
  if (f == NULL) return ORDO_ERROR;
  f->host = host;
  f->site_apply = host->site(host->ctx, "fixture.apply", ORDO_ACCESS_NONE);
  /* A background thread started at open takes a scheduler thread before the
   * replay's: requests must still name their replay thread. */
  f->worker = host->spawn(host->ctx, "fixture-worker", fixture_worker, f);
  *out = f;
  return ORDO_OK;
}

#ifdef FIXTURE_DEADLOCK_IN_APPLY
static int never_ready(void* arg) {
  (void)arg;
  return 0;
}
#endif

static int fixture_apply(void* engine, const ordo_request* r, ordo_failure* failure) {
  fixture* f = engine;
  f->host->point(f->host->ctx, f->site_apply, 0, r->op);
  /* The host's side of the contract: a read's buffer arrives zeroed, and
   * the request names its replay thread (the test traces have two). */
  if (r->op == ORDO_OP_READ) {
    for (uint64_t i = 0; i < r->length; ++i) {
      if (((const unsigned char*)r->out)[i] != 0) {
        snprintf(failure->message, sizeof failure->message, "read buffer not zeroed at %llu",
                 (unsigned long long)i);
        return ORDO_ERROR;
      }
    }
  }
  if (r->thread > 1) {
    snprintf(failure->message, sizeof failure->message, "request of replay thread %u", r->thread);
    return ORDO_ERROR;
  }
#ifdef FIXTURE_CRASH_IN_APPLY
  if (++f->applied == 5) {
    volatile int* null = NULL;
    *null = 1; /* the engine under test segfaults */
  }
#endif
#ifdef FIXTURE_HANG_IN_APPLY
  if (++f->applied == 5) {
    for (volatile int spin = 1; spin;) {
    } /* the engine under test never returns */
  }
#endif
#ifdef FIXTURE_DEADLOCK_IN_APPLY
  if (++f->applied == 5) { /* waits for what never comes, holding the lock */
    ordo_mutex* m = f->host->mutex_new(f->host->ctx);
    f->host->mutex_lock(f->host->ctx, m);
    f->host->wait(f->host->ctx, m, never_ready, NULL);
  }
#endif
#ifdef FIXTURE_PRINTS
  printf("engine chatter on stdout\n"); /* must not reach ordo's summary */
#endif
  return ORDO_OK;
}

static int fixture_check(void* engine, ordo_failure* failure) { return ORDO_OK; }

static int fixture_close(void* engine, ordo_failure* failure) {
  fixture* f = engine;
  f->host->join(f->host->ctx, f->worker);
  free(engine);
  return ORDO_OK;
}

/* A newer minor appends fields: the host must still load it. */
typedef struct fixture_ops {
  ordo_engine_ops ops;
#if FIXTURE_MINOR > ORDO_ENGINE_ABI_MINOR
  int (*from_a_newer_minor)(void* engine);
#endif
} fixture_ops;

static const fixture_ops kOps __attribute__((unused)) = {
    {sizeof(fixture_ops), FIXTURE_MAJOR, FIXTURE_MINOR, "abi-fixture", fixture_open, fixture_apply,
     fixture_check, fixture_close},
#if FIXTURE_MINOR > ORDO_ENGINE_ABI_MINOR
    NULL,
#endif
};

#ifndef FIXTURE_NO_SYMBOL
__attribute__((visibility("default"))) int ordo_engine_get(uint16_t host_major, uint16_t host_minor,
                                                           const ordo_engine_ops** ops) {
#ifdef FIXTURE_CRASH_IN_GET
  volatile int* null = NULL;
  *null = 1; /* crashes while ordo loads it */
#endif
  *ops = &kOps.ops; /* the host compares majors and names both */
  return host_major == FIXTURE_MAJOR ? ORDO_OK : ORDO_ERROR;
}
#endif
