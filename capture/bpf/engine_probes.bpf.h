// The engine's USDT probes (ordo:point, ordo:request, ordo:site), included by
// syscalls.bpf.c (it shares its maps, filters and batches).
#ifndef ORDO_CAPTURE_ENGINE_PROBES_BPF_H
#define ORDO_CAPTURE_ENGINE_PROBES_BPF_H

extern void bpf_preempt_disable(void) __ksym;
extern void bpf_preempt_enable(void) __ksym;

// USDT programs can be preempted: this CPU's batch is sent and the event
// reserved with preemption off, so no other task's I/O record comes between.
static __always_inline void usdt_event(__u32 type, __u32 kind, __u64 a, __u64 b, __u64 c) {
  if (!selected()) return;
  bpf_preempt_disable();
  send_this_cpu_batch();
  struct ordo_usdt_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  bpf_preempt_enable();
  if (!e) {
    count_lost(1);
    return;
  }
  __u64 id = bpf_get_current_pid_tgid();
  e->type = type;
  e->pid = id >> 32;
  e->tid = (__u32)id;
  e->kind = kind;
  e->ts_ns = bpf_ktime_get_ns();
  e->a = a;
  e->b = b;
  e->c = c;
  bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

SEC("usdt")
int BPF_USDT(engine_point, unsigned kind, __u64 block, __u64 arg) {
  usdt_event(ORDO_EV_ENGINE, kind, block, arg, 0);
  return 0;
}

/* An engine registered an ordering point: its id, access kind and name. */
SEC("usdt")
int BPF_USDT(engine_site, unsigned id, unsigned access, const char *name) {
  if (!selected()) return 0;
  struct ordo_site_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_lost(1);
    return 0;
  }
  e->type = ORDO_EV_SITE;
  e->pid = bpf_get_current_pid_tgid() >> 32;
  e->id = id;
  e->access = access;
  if (bpf_probe_read_user_str(e->name, sizeof(e->name), name) < 0) e->name[0] = 0;
  bpf_ringbuf_submit(e, 0);
  return 0;
}

SEC("usdt")
int BPF_USDT(engine_request, unsigned op, unsigned file, __u64 offset, __u64 length) {
  usdt_event(ORDO_EV_REQUEST, op, file, offset, length);
  return 0;
}

#endif
