#include "bpf_util.h"

#include <bpf/btf.h>
#include <fmt/core.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>

namespace ordo::capture {

Status BpfError(const std::string& what, int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES) {
    return Status::PermissionDenied(
        fmt::format("{}: {} (BPF needs root or CAP_BPF + CAP_PERFMON; check also "
                    "kernel.unprivileged_bpf_disabled "
                    "and lockdown)",
                    what, std::strerror(err)));
  }
  if (err == ENOENT || err == ENOTSUP || err == EINVAL || err == ESRCH) {
    return Status::PermissionDenied(
        fmt::format("{}: {} (the kernel lacks a needed feature: BTF tracepoints "
                    "tp_btf/sys_enter, sys_exit, sched_process_fork)",
                    what, std::strerror(err)));
  }
  return Status::IoError(fmt::format("{}: {}", what, std::strerror(err)));
}

bool HasTracepoints(std::initializer_list<const char*> names) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  bool found = true;
  for (const char* name : names)
    found = found && btf__find_by_name_kind(vmlinux, fmt::format("btf_trace_{}", name).c_str(),
                                            BTF_KIND_TYPEDEF) > 0;
  btf__free(vmlinux);
  return found;
}

uint64_t CgroupId(const std::string& path) {
  std::string p = path.empty() || path[0] == '/' ? path : "/sys/fs/cgroup/" + path;
  struct statfs fs;
  struct stat st;
  if (statfs(p.c_str(), &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) return 0;
  if (stat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return 0;
  return st.st_ino;
}

}  // namespace ordo::capture
