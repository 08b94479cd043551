// Per-CPU batches of syscall I/O records, included by syscalls.bpf.c: a
// record is written into its CPU's batch and the batch goes to the ring
// buffer ORDO_BATCH_MAX records at a time, or sooner (see syscalls.bpf.c).
#ifndef ORDO_CAPTURE_BATCH_BPF_H
#define ORDO_CAPTURE_BATCH_BPF_H

// This CPU's batch of syscall I/O records. Only programs that cannot be
// preempted write it (tracepoints; the USDT programs disable preemption
// first), and none of them runs in interrupt context, so a batch has one
// writer at a time (an io_uring completion only reads another CPU's count
// and generation).
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct ordo_io_batch);
} batch SEC(".maps");

static __always_inline void count_lost(__u64 count) {
  __u32 zero = 0;
  __u64 *n = bpf_map_lookup_elem(&lost, &zero);
  if (n) *n += count;
}

static __always_inline struct ordo_io_batch *this_cpu_batch(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&batch, &zero);
}

// Sends the batch's records, if any; a full ring loses them all (counted).
static __always_inline void send_batch(struct ordo_io_batch *b) {
  __u32 n = b->count;
  if (n == 0) return;
  if (n > ORDO_BATCH_MAX) n = ORDO_BATCH_MAX;
  b->type = ORDO_EV_IO_BATCH;
  b->cpu = bpf_get_smp_processor_id();
  __u64 size = __builtin_offsetof(struct ordo_io_batch, ev) + n * sizeof(struct ordo_io_event);
  // Bounded again where the verifier sees it (clang writes the sum as an OR,
  // whose bound it cannot follow).
  asm volatile("" : "+r"(size));
  if (size > sizeof(*b)) size = sizeof(*b);
  if (bpf_ringbuf_output(&events, b, size, BPF_RB_NO_WAKEUP)) count_lost(n);
  b->count = 0;
  b->generation++;
}

// Sends this CPU's batch ahead of another event, so each thread's events stay
// in the order they happened.
static __always_inline void send_this_cpu_batch(void) {
  struct ordo_io_batch *b = this_cpu_batch();
  if (b) send_batch(b);
}

#endif
