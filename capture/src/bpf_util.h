// Small facts about the kernel and errors of libbpf calls, for the loader.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>

#include "ordo/status.h"

namespace ordo::capture {

// The error of a failed libbpf call `what` with errno `err` (either sign):
// PermissionDenied naming the capabilities for EPERM/EACCES, PermissionDenied
// naming the BTF tracepoints when the kernel lacks a feature, else IoError.
Status BpfError(const std::string& what, int err);

// Whether this kernel has all the BTF tracepoints `names` (tp_btf/NAME).
bool HasTracepoints(std::initializer_list<const char*> names);

// The id bpf_get_current_cgroup_id() reports for a cgroup v2 directory (a
// path, or a name under /sys/fs/cgroup): its inode number. 0 when `path` is
// not a directory of a cgroup2 file system.
uint64_t CgroupId(const std::string& path);

}  // namespace ordo::capture
