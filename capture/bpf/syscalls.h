/* Shared by syscalls.bpf.c and the loader: what the kernel side sends. Flat
 * structs of fixed-width fields only. */
#ifndef ORDO_CAPTURE_SYSCALLS_H
#define ORDO_CAPTURE_SYSCALLS_H

#define ORDO_PATH_MAX 256
#define ORDO_COMM_LEN 16

enum ordo_event_type {
  ORDO_EV_IO = 1,       /* one file I/O syscall, at its exit (in a batch) */
  ORDO_EV_OPEN = 2,     /* openat: fd, identity and path */
  ORDO_EV_ENGINE = 3,   /* USDT ordo:point */
  ORDO_EV_REQUEST = 4,  /* USDT ordo:request */
  ORDO_EV_SITE = 5,     /* USDT ordo:site */
  ORDO_EV_IO_BATCH = 6, /* a CPU's ordo_io_events, in the order they ended */
  ORDO_EV_URING = 7,    /* an io_uring request's completion */
};

/* Values of `op` follow ordo::trace::IoOp; the io_uring ones: */
#define ORDO_OP_URING_READ 18
#define ORDO_OP_URING_WRITE 19
#define ORDO_OP_URING_FSYNC 20

struct ordo_io_event {
  __u32 type;
  __u32 op;
  __u32 pid;
  __u32 tid;
  __u64 start_ns;
  __u64 end_ns;
  __u64 offset;
  __u64 length; /* requested */
  __s64 result;
  __u64 dev;
  __u64 ino;
  __s32 fd;
  __u32 pad;
};

/* Syscall I/O records are gathered per CPU and sent ORDO_BATCH_MAX at a time
 * (sooner when the CPU switches tasks or another event is sent from it). The
 * loader reads what is left in each CPU's batch when capture stops. */
#define ORDO_BATCH_MAX 32
struct ordo_io_batch {
  __u32 type;  /* ORDO_EV_IO_BATCH */
  __u32 count; /* records in ev */
  __u32 cpu;   /* whose batch */
  __u32 pad;
  __u64 generation; /* batches that CPU sent before this one */
  struct ordo_io_event ev[ORDO_BATCH_MAX];
};

/* An io_uring request's completion (io.type ORDO_EV_URING). Syscalls of its
 * submitter that ended before it may still wait in the batch of the CPU the
 * submitter runs on: if so (has_after), the record goes into the trace with
 * that batch (after_cpu, after_generation), among its records by end time. */
struct ordo_uring_event {
  struct ordo_io_event io;
  __u32 after_cpu;
  __u32 has_after;
  __u64 after_generation;
};

struct ordo_open_event {
  __u32 type;
  __u32 pid;
  __u32 tid;
  __s32 fd; /* result of openat */
  __u64 ts_ns;
  __u64 dev;
  __u64 ino;
  __u64 size;
  char path[ORDO_PATH_MAX];
};

struct ordo_usdt_event {
  __u32 type;
  __u32 pid;
  __u32 tid;
  __u32 kind; /* engine event kind, or IoOp for requests */
  __u64 ts_ns;
  __u64 a; /* block, or file id */
  __u64 b; /* arg, or offset */
  __u64 c; /* -, or length */
};

#define ORDO_SITE_NAME_MAX 64
struct ordo_site_event {
  __u32 type;
  __u32 pid;
  __u32 id;     /* site id */
  __u32 access; /* ordo_access */
  char name[ORDO_SITE_NAME_MAX];
};

#endif
