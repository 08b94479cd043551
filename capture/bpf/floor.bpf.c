// The hook floor, for bench/capture_floor: the same tp_btf sys_enter and
// sys_exit hooks capture uses, with a program that returns at its first check
// (the process). What a syscall pays before capture does any work of its own.
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
