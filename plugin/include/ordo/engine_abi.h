/* ordo engine ABI: put your own cache engine under ordo's scheduler.
 *
 * Pure C99, no ordo internals. An engine is a shared object exporting one
 * symbol, ordo_engine_get(). ordo (the host) loads it with
 *   ordo replay TRACE --engine ./libmyengine.so[:key=value,key=value]
 * and drives it with the trace's requests, one engine per run, each run in a
 * child process (a crash in the engine is a finding, not ordo dying).
 *
 * Two directions:
 *  - host -> engine (ordo_engine_ops): open a directory with a key=value
 *    configuration, apply one traced request, check everything on disk,
 *    close. A read whose data fails verification (or any corruption the
 *    engine detects) returns ORDO_FAILED with an ordo_failure filled in.
 *  - engine -> host (ordo_host): threads, mutexes, condition waits, random
 *    numbers and time come from the host, so under a seeded scheduler one
 *    thread runs at a time and a seed decides the interleaving. point()
 *    announces the step a thread is about to take on an object (its site,
 *    registered once by name with an access kind): it is where the scheduler
 *    may switch threads, and it is recorded in the run's history, which
 *    ordo analyze reads through the access kinds below.
 *
 * Rules an engine must follow under control: every thread that touches
 * engine state is the host's (the caller of apply/open/check/close, or one
 * started with spawn; host functions called from any other thread are not
 * scheduled and make runs unrepeatable); it blocks only in mutex_lock or
 * wait; it never sleeps or spins on state another thread changes; it joins
 * every thread it spawned before close() returns. Memory, files and
 * everything else are the engine's own.
 *
 * What the host does around it: each run opens a fresh engine in an empty
 * directory that belongs to that run, in a child process of its own; a run
 * that crashes (signal, abort, exit) is a "crash" finding, one that takes
 * longer than the run timeout (ordo replay --run-timeout, 300 s) is killed
 * and is a "hang" finding; what the engine writes to stdout goes to stderr.
 * Loading runs constructors and ordo_engine_get in a child first, so a crash
 * there is an error naming the engine. The host does not check the data a
 * read returns: only the engine's own verification finds corruption.
 *
 * Versioning: ORDO_ENGINE_ABI_MAJOR must match exactly; the minor may grow.
 * Structs begin with their size (as the side that fills them was built) and
 * only grow at the end, so a newer host reads an older engine's ops and an
 * engine built against a newer minor runs on an older host as long as it
 * reads host fields only below host->size (ORDO_HOST_HAS). */
#ifndef ORDO_ENGINE_ABI_H_
#define ORDO_ENGINE_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORDO_ENGINE_ABI_MAJOR 1
#define ORDO_ENGINE_ABI_MINOR 1

/* Results of engine operations. */
#define ORDO_OK 0
#define ORDO_FAILED 1 /* a finding: the engine detected corruption (see ordo_failure) */
#define ORDO_ERROR 2  /* the operation could not be done (I/O error, bad config...) */

/* How a step touches its object. The analyzer's rules are written over these
 * kinds, so they apply to any engine that announces them. Only announced
 * objects matter: per-block ACQUIRE/RELEASE may be announced while the real
 * mutex is a stripe shared by many blocks. Announce ACQUIRE once the lock is
 * held and RELEASE before it is released, so that a blocked thread's acquire
 * is never recorded before the holder's release. MARK_CLEAN's object is the
 * object (block), paired with the thread's last FILL. Plain races are not
 * findings: they only guide the scheduler (announce what can race; steps
 * nobody else touches need no point). The `arg` of a point is recorded and
 * shown; the rules read it only at PUBLISH and VERIFY_FAIL (below).
 *   FPRE004-A (stale fill): a thread FILLs a buffer from an object and later
 *   MARK_CLEANs it (makes it servable) while another thread's WRITE of the
 *   object, inside its ACQUIRE..RELEASE of that object, is not ordered with
 *   the fill and the mark: the buffer can hold data from before the write
 *   under the checksum from after it. A FILL_CLEAN (a read miss caching what
 *   it read, in one step) inside such a write is judged by the write's
 *   PUBLISH: arg ORDO_PUBLISH_REPLACES_ANY replaces whatever is cached (safe);
 *   arg 0 replaces only a buffer cached when the lock was taken, so the
 *   miss's old bytes stay cached under the new checksum.
 *   FPRE004-B (torn flag check): a thread reads two or more state flags of an
 *   object in consecutive FLAG_READ steps while another thread's update of
 *   the object's flags (its FLAG_SETs inside its ACQUIRE..RELEASE of the
 *   object) is not ordered with the reads: the reads can combine flags from
 *   before the update with flags from after it, a state that never existed.
 *   A check whose last read is at the site of its first (a sequence-lock
 *   re-read: generation, flags, generation) is validated and never flagged.
 * A VERIFY_FAIL manifests the rule its arg names: ORDO_FAIL_FLAGS for B (the
 * flags read were inconsistent), anything else for A (data vs checksum).
 * Ordering edges the analyzer knows: program order, RELEASE of an object to
 * the next ACQUIRE of the same object, and REQUEST of an object to the next
 * FILL of it (read-ahead asked for it). Two steps race when they are on one
 * object, in two threads, and at least one is write-like (ACQUIRE, RELEASE,
 * WRITE, PUBLISH, MARK_CLEAN, FLAG_SET). NONE and REQUEST race with nothing. */
typedef enum ordo_access {
  ORDO_ACCESS_NONE = 0,         /* not an access (request boundaries...): races with nothing */
  ORDO_ACCESS_ACQUIRE = 1,      /* takes the object's lock */
  ORDO_ACCESS_RELEASE = 2,      /* releases it */
  ORDO_ACCESS_READ = 3,         /* reads the object's data */
  ORDO_ACCESS_WRITE = 4,        /* updates the object's data (and its checksum) */
  ORDO_ACCESS_FILL = 5,         /* reads the object's data into a cache buffer */
  ORDO_ACCESS_PUBLISH = 6,      /* makes a new version of the object visible */
  ORDO_ACCESS_MARK_CLEAN = 7,   /* marks the thread's last filled buffer ready to serve */
  ORDO_ACCESS_FLAG_SET = 8,     /* sets or clears a state flag of the object */
  ORDO_ACCESS_FLAG_READ = 9,    /* reads a state flag */
  ORDO_ACCESS_VERIFY = 10,      /* checks a buffer against the object's checksum */
  ORDO_ACCESS_VERIFY_FAIL = 11, /* ...and the check failed (arg: ORDO_FAIL_*) */
  /* Since minor 1 (a 1.0 host refuses them at site()): */
  ORDO_ACCESS_REQUEST = 12,   /* asks another thread to FILL the object (read-ahead) */
  ORDO_ACCESS_FILL_CLEAN = 13 /* FILL and MARK_CLEAN in one step (a read miss caches) */
} ordo_access;

/* The arg of a PUBLISH point: the write replaced whatever buffer of the object
 * was cached (0: only a buffer cached when it took the lock). */
#define ORDO_PUBLISH_REPLACES_ANY 1
/* The arg of a VERIFY_FAIL point: what failed. */
#define ORDO_FAIL_DATA 1  /* the data did not match its checksum (FPRE004-A) */
#define ORDO_FAIL_FLAGS 2 /* the state flags read were inconsistent (FPRE004-B) */

/* What apply() is asked to do. (Trims in traces are not replayed by this
 * version: ORDO_OP_TRIM is reserved for when they are.) */
typedef enum ordo_op {
  ORDO_OP_READ = 0,
  ORDO_OP_WRITE = 1,
  ORDO_OP_FSYNC = 2,
  ORDO_OP_TRIM = 3
} ordo_op;

/* What an engine found wrong. */
typedef enum ordo_failure_kind {
  ORDO_FAILURE_VERIFY = 1,  /* a read's data did not match its checksum */
  ORDO_FAILURE_CORRUPT = 2, /* any other corruption the engine detected */
} ordo_failure_kind;

/* Filled by the engine when an operation returns ORDO_FAILED (or ORDO_ERROR:
 * message only). The host zeroes it and sets size before each call; never
 * write past `size` bytes (a host older than your header has a smaller
 * struct). Text fields are NUL-terminated (the host cuts them at their last
 * byte) and shown as printable ASCII: other bytes become '?'. kind 0 (not
 * filled) is shown as corruption of kind 0. */
typedef struct ordo_failure {
  uint32_t size;
  uint32_t kind;     /* ordo_failure_kind */
  uint64_t object;   /* the object (as announced at points) that failed */
  uint64_t offset;   /* byte offset in `file` */
  char file[256];    /* the logical file name */
  char message[512]; /* one line, for people */
} ordo_failure;

/* One traced request, valid only during the apply() call (copy what you
 * keep). Data written is a deterministic pattern the host makes; a read's
 * `out` has room for `length` bytes, zeroed by the host (holes and bytes past
 * the end of a file read as zero). FSYNC names a file (offset and length 0):
 * make its writes durable. `thread` is the replay thread issuing it (0, 1, ...
 * stable for the run). Request boundaries need no point: the host knows
 * them. Once a request returns ORDO_FAILED the run is decided: the host
 * stops applying requests, skips check(), and closes the engine. */
typedef struct ordo_request {
  uint32_t size;
  uint32_t op;      /* ordo_op */
  const char* file; /* logical file name, NUL-terminated ("f0", "f1"...) */
  uint64_t offset;
  uint64_t length;
  const void* data; /* ORDO_OP_WRITE: `length` bytes */
  void* out;        /* ORDO_OP_READ: room for `length` bytes */
  uint32_t thread;
} ordo_request;

typedef struct ordo_mutex ordo_mutex; /* the host's */

/* Services the host gives the engine. `ctx` is passed back to every call.
 * Valid from open() until close() returns. */
typedef struct ordo_host {
  uint32_t size;
  uint16_t major, minor;
  void* ctx;
  /* Starts fn(arg) on a new thread the host schedules (the name is copied);
   * returns its handle (>= 0), or -1. Callable from any host thread, at any
   * time between open() and close(); under control the new thread first
   * runs when the scheduler picks it. The thread ends when fn returns. */
  int (*spawn)(void* ctx, const char* name, void (*fn)(void*), void* arg);
  /* Waits until thread `handle` has ended; once per handle. */
  void (*join)(void* ctx, int handle);
  /* Mutexes are not recursive; only the holder unlocks. A deadlock under
   * control ends the run: a "deadlock" finding naming the blocked threads. */
  ordo_mutex* (*mutex_new)(void* ctx);
  void (*mutex_free)(void* ctx, ordo_mutex* m);
  void (*mutex_lock)(void* ctx, ordo_mutex* m);
  void (*mutex_unlock)(void* ctx, ordo_mutex* m);
  /* With `m` held: waits until ready(arg) returns nonzero, releasing `m`
   * while it waits; `m` is held whenever ready() runs and on return. ready()
   * may run any number of times, on the waiting thread or another host
   * thread: it only reads state, and calls no host function. */
  void (*wait)(void* ctx, ordo_mutex* m, int (*ready)(void*), void* arg);
  /* Wakes the waiters of `m` to re-evaluate their predicates (with or
   * without `m` held). Blocking file I/O (pread, fsync) is fine anywhere. */
  void (*notify)(void* ctx, ordo_mutex* m);
  /* A seeded random number: the same seed gives the same sequence. */
  uint64_t (*random)(void* ctx);
  /* Monotonic nanoseconds; logical (advances by steps) under control. */
  uint64_t (*now_ns)(void* ctx);
  /* Registers an ordering point by name ("prefetch.mark_clean", copied) with
   * the access kind its steps have; returns the site id: 1, 2, ... in order
   * of registration, or 0 past 32,767 sites or for an access value that is
   * not an ordo_access. Register every site in open(), in a fixed order. */
  uint32_t (*site)(void* ctx, const char* name, uint32_t access);
  /* The calling thread is about to take a step at `site` on `object` (any
   * 64-bit name the engine gives what it orders on: a block key, a buffer).
   * Under control this may switch threads; it records a history event
   * (site, object, arg). A site id that was not registered is ignored. */
  void (*point)(void* ctx, uint32_t site, uint64_t object, uint64_t arg);
  /* Since minor 1 (check with ORDO_HOST_HAS): */
  /* Records a step like point() but never switches threads there: what
   * happened is seen by the analyzer while the schedules explored (and so
   * every seed) stay those of the points alone. */
  void (*observe)(void* ctx, uint32_t site, uint64_t object, uint64_t arg);
  /* Takes `m` if it is free and returns nonzero; returns 0 at once when
   * another thread holds it (opportunistic work: skip what is busy). */
  int (*mutex_trylock)(void* ctx, ordo_mutex* m);
} ordo_host;

/* True when a size-prefixed struct `*p` of type `type` has field `f` (the
 * other side may be built against an older minor). */
#define ORDO_HAS(type, p, f) ((p)->size >= offsetof(type, f) + sizeof(((type*)0)->f))
#define ORDO_HOST_HAS(host, f) ORDO_HAS(ordo_host, host, f)

/* The engine's entry points. Return ORDO_OK, ORDO_FAILED or ORDO_ERROR (any
 * other value is an error that names it). The ops struct must stay valid
 * while the shared object is loaded. */
typedef struct ordo_engine_ops {
  uint32_t size; /* sizeof(ordo_engine_ops) as the engine was built */
  uint16_t major, minor;
  const char* name; /* "writeback-cache" */
  /* Opens an engine in directory `dir` (it exists and belongs to this run).
   * The engine keeps its state in `dir` and recovers it at open: the host
   * lays out the trace's files once (an engine opened on an empty directory,
   * uncontrolled and unrecorded, writes every file's initial content through
   * apply() and is closed), then gives each run a copy of that directory. `config` is
   * "key=value,key=value" (may be empty); unknown keys should be an error. *engine receives the
   * engine's handle. When open fails, close() is not called: free what open made. */
  int (*open)(const ordo_host* host, const char* dir, const char* config, void** engine,
              ordo_failure* failure);
  /* Applies one request. Called from the host's replay threads, several at
   * once: the engine does its own locking (with host mutexes). */
  int (*apply)(void* engine, const ordo_request* request, ordo_failure* failure);
  /* Verifies everything on disk (after the requests, before close; not
   * called when a request already failed). ORDO_FAILED is the run's
   * finding; ORDO_ERROR ends the replay with an error naming the run. */
  int (*check)(void* engine, ordo_failure* failure);
  /* Stops and joins the engine's threads and frees it. ORDO_FAILED (corruption
   * found while closing) is the run's finding; ORDO_ERROR ends the replay
   * with an error naming the run. */
  int (*close)(void* engine, ordo_failure* failure);
} ordo_engine_ops;

/* The one exported symbol. Returns ORDO_OK and sets *ops when the engine
 * supports host_major; otherwise ORDO_ERROR (the host then names both
 * versions). Define it with ORDO_ENGINE_EXPORT so that it is exported from a
 * library built with -fvisibility=hidden and checked against this prototype. */
#define ORDO_ENGINE_EXPORT __attribute__((visibility("default")))
ORDO_ENGINE_EXPORT int ordo_engine_get(uint16_t host_major, uint16_t host_minor,
                                       const ordo_engine_ops** ops);
typedef int (*ordo_engine_get_fn)(uint16_t host_major, uint16_t host_minor,
                                  const ordo_engine_ops** ops);
#define ORDO_ENGINE_GET_SYMBOL "ordo_engine_get"

#ifdef __cplusplus
}
#endif

#endif /* ORDO_ENGINE_ABI_H_ */
