// The hook floor, for bench/capture_floor: the same tp_btf sys_enter and
// sys_exit hooks capture uses, with a program that returns at its first check
// (the process). What a syscall pays before capture does any work of its own.
// The stamp floor adds what no exact capture can avoid: the clock read at
// enter (the start time) and at exit (the end time).
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0;

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_enter, struct pt_regs *regs, long id) {
  if ((bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_exit, struct pt_regs *regs, long ret) {
  if ((bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  return 0;
}

// The clock at enter, per CPU; exit keeps the duration so neither read is dead.
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u64);
} stamps SEC(".maps");

SEC("tp_btf/sys_enter")
int BPF_PROG(stamp_enter, struct pt_regs *regs, long id) {
  if ((bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  __u32 k = 0;
  __u64 *t = bpf_map_lookup_elem(&stamps, &k);
  if (t) *t = bpf_ktime_get_ns();
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(stamp_exit, struct pt_regs *regs, long ret) {
  if ((bpf_get_current_pid_tgid() >> 32) != target_tgid) return 0;
  __u32 k0 = 0, k1 = 1;
  __u64 *t = bpf_map_lookup_elem(&stamps, &k0), *d = bpf_map_lookup_elem(&stamps, &k1);
  if (t && d) *d = bpf_ktime_get_ns() - *t;
  return 0;
}
