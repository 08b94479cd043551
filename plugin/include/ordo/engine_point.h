/* One line per ordering point: the convenience layer over ordo/engine_abi.h.
 *
 * Keep the engine's sites in an enum numbered 1..N and register them in that
 * order when ordo opens the engine:
 *
 *   enum { SITE_WRITE_LOCK = 1, SITE_READAHEAD_FILL, ... };
 *   ORDO_REGISTER_SITE(host, SITE_WRITE_LOCK, "write.lock", ORDO_ACCESS_ACQUIRE);
 *   ...
 *   ORDO_POINT(host, SITE_READAHEAD_FILL, object, 0);
 *
 * The same source builds three ways:
 *  - under ordo (the default): ORDO_POINT calls host->point(), which yields
 *    to ordo's scheduler and records the step in the run's history;
 *  - -DORDO_POINTS_USDT (a production build): ORDO_POINT fires the USDT probe
 *    ordo:point with (0x8000 + site, object, arg), the event kind ordo's
 *    histories use for engine sites, so `ordo capture --usdt` on a production
 *    host records the engine's orderings (needs <sys/sdt.h>, from
 *    systemtap-sdt-dev); ORDO_REGISTER_SITE fires ordo:site with (id, access,
 *    name), which capture turns into the trace's site table, so the capture
 *    can be analyzed as a replay's history is; `host` is not evaluated;
 *  - -DORDO_POINTS_OFF: ORDO_POINT compiles to nothing.
 * ORDO_REGISTER_SITE evaluates to nonzero when the host gave the site the
 * id the enum expects (always true in the production builds). */
#ifndef ORDO_ENGINE_POINT_H_
#define ORDO_ENGINE_POINT_H_

#include "ordo/engine_abi.h"

#if defined(ORDO_POINTS_OFF)

#define ORDO_POINT(host, site, object, arg) ((void)0)
#define ORDO_REGISTER_SITE(host, id, name, access) 1

#elif defined(ORDO_POINTS_USDT)

#include <sys/sdt.h>
#define ORDO_POINT(host, site, object, arg) \
  DTRACE_PROBE3(ordo, point, 0x8000u + (unsigned)(site), (uint64_t)(object), (uint64_t)(arg))
#define ORDO_REGISTER_SITE(host, id, name, access)                                  \
  __extension__({                                                                   \
    const char* ordo_site_name_ = (name);                                           \
    /* BPF cannot fault a page in: touch the name so the probe can read it. */      \
    (void)*(volatile const char*)ordo_site_name_;                                   \
    DTRACE_PROBE3(ordo, site, (unsigned)(id), (unsigned)(access), ordo_site_name_); \
    1;                                                                              \
  })

#else

#define ORDO_POINT(host, site, object, arg) \
  ((host)->point((host)->ctx, (uint32_t)(site), (uint64_t)(object), (uint64_t)(arg)))
#define ORDO_REGISTER_SITE(host, id, name, access) \
  ((host)->site((host)->ctx, (name), (uint32_t)(access)) == (uint32_t)(id))

#endif

#endif /* ORDO_ENGINE_POINT_H_ */
