// Kernel side of `ordo capture`: file I/O syscalls of selected processes
// through BTF tracepoints (no kprobes, no tracefs), and the engine's USDT
// probes. Events go to a ring buffer submitted without wakeups; the loader
// drains it on a timer. A failed reserve is a lost event, counted here.
//
// Syscall I/O records are written into a per-CPU batch and sent to the ring
// ORDO_BATCH_MAX at a time: the traced CPU writes cache-hot memory and pays
// one ring reservation per batch instead of one per I/O. Each thread's
// records stay in order: a batch holds records of the threads that ran on its
// CPU, and it is sent whenever its CPU switches tasks (a thread can only move
// to another CPU after switching out), and before any other event from that
// CPU (an open, an engine event, an io_uring submission).
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "syscalls.h"

struct open_path {
  char path[ORDO_PATH_MAX];
};

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// Filters, set before load.
const volatile bool filter_pids = false;  // only tgids in `tgids`
const volatile bool follow_children = false;
const volatile bool filter_comm = false;
const volatile char comm[ORDO_COMM_LEN] = {};
const volatile __u64 cgroup_id = 0;  // 0: any

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 24);  // resized by the loader (--ring)
} events SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, __u8);
} tgids SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} lost SEC(".maps");

// Enter -> exit state of a task's current syscall; `active` says whether it
// holds one. It lives in the CPU's own state (cpu_syscall) from enter to exit:
// no other syscall can start on that CPU before this one ends or its task
// switches out. A task that switches out in a syscall (a read that blocks)
// takes its state along in its task-local storage (`inflight`).
struct pending {
  __u64 start_ns;
  __u64 offset; /* file position at enter (read, write, readv, writev) */
  __u64 dev;
  __u64 ino;
  __u32 op;
  __u32 active;
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct pending);
} inflight SEC(".maps");

// A CPU's syscall in progress, and the last process the filter judged there.
struct cpu_syscall {
  struct pending cur;
  __u32 cur_tid;               // whose syscall `cur` is
  __u32 judged_tgid;           // the process last judged on this CPU (0: none)
  __u64 judged_filter_growth;  // filter_growth when it was judged
  __u32 judged_selected;
  __u32 pad;
};

// Counts the processes added to the filter since load (a traced process
// forked): a verdict judged before the last addition is judged again (a
// process id can be reused).
__u64 filter_growth = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_syscall);
} cpu_syscall SEC(".maps");

// openat's path, read at enter (only openat pays for it).
struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct open_path);
} inflight_path SEC(".maps");

#include "batch.bpf.h"

static __always_inline bool selected(void) {
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (filter_pids && !bpf_map_lookup_elem(&tgids, &tgid)) return false;
  if (cgroup_id && bpf_get_current_cgroup_id() != cgroup_id) return false;
  if (filter_comm) {
    char c[ORDO_COMM_LEN];
    bpf_get_current_comm(&c, sizeof(c));
    for (int i = 0; i < ORDO_COMM_LEN; i++) {
      if (c[i] != comm[i]) return false;
      if (c[i] == 0) break;
    }
  }
  return true;
}

// The traced syscall numbers (x86-64) as a bitmap: every syscall of every
// task passes through the hooks, so the first test is one load and a shift.
// read 0, write 1, open 2, close 3, pread64 17, pwrite64 18, readv 19,
// writev 20, fsync 74, fdatasync 75, creat 85, openat 257, preadv 295,
// pwritev 296, preadv2 327, pwritev2 328, openat2 437.
static const __u64 traced_bits[8] = {
    (1ull << 0) | (1ull << 1) | (1ull << 2) | (1ull << 3) | (1ull << 17) | (1ull << 18) |
        (1ull << 19) | (1ull << 20),
    (1ull << (74 - 64)) | (1ull << (75 - 64)) | (1ull << (85 - 64)),
    0,
    0,
    (1ull << (257 - 256)) | (1ull << (295 - 256)) | (1ull << (296 - 256)),
    (1ull << (327 - 320)) | (1ull << (328 - 320)),
    (1ull << (437 - 384)),
    0,
};

static __always_inline bool traced_nr(__u64 nr) {
  if (nr >= 512) return false;
  return (traced_bits[nr >> 6] >> (nr & 63)) & 1;
}

// Values follow ordo::trace::IoOp.
static __always_inline int op_of(long id) {
  switch (id) {
    case 0:
      return 0;  // read
    case 1:
      return 1;  // write
    case 17:
      return 2;  // pread64
    case 18:
      return 3;  // pwrite64
    case 19:
      return 4;  // readv
    case 20:
      return 5;  // writev
    case 295:
      return 6;  // preadv
    case 296:
      return 7;  // pwritev
    case 327:
      return 8;  // preadv2
    case 328:
      return 9;  // pwritev2
    case 74:
      return 10;  // fsync
    case 75:
      return 11;  // fdatasync
    case 257:     // openat
    case 2:       // open
    case 85:      // creat
    case 437:     // openat2
      return 12;  // all recorded as openat
    case 3:
      return 13;  // close
    default:
      return -1;
  }
}

extern void *bpf_rdonly_cast(void *obj, __u32 btf_id) __ksym;

// The open file behind `fd` of `task`, as a BTF-typed pointer: the fd table
// is walked with direct loads. The verifier allows no variable offset into a
// kernel struct, so the array slot is re-typed as a struct kiocb, whose first
// field is a struct file pointer: one direct (fault-checked) load instead of
// a helper call. The result is re-typed so its fields are direct loads too.
static __always_inline struct file *file_of(struct task_struct *task, int fd) {
  struct files_struct *files = task->files;
  if (!files) return NULL;
  struct fdtable *fdt = files->fdt;
  if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds) return NULL;
  struct file **fds = fdt->fd;
  struct kiocb *slot = bpf_rdonly_cast(fds + fd, bpf_core_type_id_kernel(struct kiocb));
  struct file *f = slot->ki_filp;
  if (!f) return NULL;
  return bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
}

static __always_inline bool is_regular_file(struct file *f) {
  return (f->f_inode->i_mode & 0170000) == 0100000;
}

static __always_inline __u64 iov_total(const struct iovec *iov, unsigned long n) {
  __u64 total = 0;
  for (int i = 0; i < 16; i++) {
    if (i >= n) break;
    struct iovec v;
    if (bpf_probe_read_user(&v, sizeof(v), iov + i)) break;
    total += v.iov_len;
  }
  return total;
}

static __always_inline struct cpu_syscall *this_cpu_syscall(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&cpu_syscall, &zero);
}

// Whether the current task is selected. With only a process filter the
// answer never changes for a process (the filter only grows), so the CPU
// remembers its last verdict and the filter runs when another process comes;
// comm and cgroup can change, so they are checked every time.
static __always_inline bool task_selected(struct cpu_syscall *c, struct task_struct *task) {
  if (filter_comm || cgroup_id) return selected();
  __u32 tgid = task->tgid;
  __u64 growth = filter_growth;
  if (tgid != c->judged_tgid || growth != c->judged_filter_growth) {
    c->judged_selected = selected();
    c->judged_tgid = tgid;
    c->judged_filter_growth = growth;
  }
  return c->judged_selected;
}

// Enter keeps what exit cannot recover: the start time, the file behind the
// fd (close removes it; another thread may reuse the fd meanwhile) and, for
// read/write/readv/writev, the file position before the call. The arguments
// are read again at exit: on x86-64 pt_regs still holds them there (the
// kernel saves them at entry and only rax takes the return value).
SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter, struct pt_regs *regs, long id) {
  if (!traced_nr(id)) return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  struct cpu_syscall *c = this_cpu_syscall();
  if (!c || !task_selected(c, task)) return 0;
  struct pending *p = &c->cur;
  int op = op_of(id);
  c->cur_tid = task->pid;
  p->active = 0;
  p->op = op;
  if (op == 12) {  // the fd comes at exit; the path is the 1st or 2nd argument
    struct open_path *o =
        bpf_task_storage_get(&inflight_path, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (!o) return 0;
    // open(path, ...), creat(path, mode); openat(dirfd, path, ...), openat2.
    const char *path = (const char *)(id == 2 || id == 85 ? regs->di : regs->si);
    bpf_probe_read_user_str(o->path, sizeof(o->path), path);
  } else {
    struct file *f = file_of(task, (int)regs->di);
    // Regular files only: pipes, sockets and terminals are not file I/O.
    if (!f || !is_regular_file(f)) return 0;
    struct inode *inode = f->f_inode;
    p->dev = inode->i_sb->s_dev;
    p->ino = inode->i_ino;
    p->offset = (op == 0 || op == 1 || op == 4 || op == 5) ? f->f_pos : 0;
  }
  p->start_ns = bpf_ktime_get_ns();
  p->active = 1;
  return 0;
}

static __always_inline int emit_open(struct task_struct *task, __u64 id, long ret) {
  if (ret < 0) return 0;
  struct file *f = file_of(task, (int)ret);
  if (!f || !is_regular_file(f)) return 0;
  struct open_path *o = bpf_task_storage_get(&inflight_path, task, 0, 0);
  if (!o) return 0;
  send_this_cpu_batch();
  struct ordo_open_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
  if (!e) {
    count_lost(1);
    return 0;
  }
  struct inode *inode = f->f_inode;
  e->type = ORDO_EV_OPEN;
  e->pid = id >> 32;
  e->tid = (__u32)id;
  e->fd = (int)ret;
  e->ts_ns = bpf_ktime_get_ns();
  e->dev = inode->i_sb->s_dev;
  e->ino = inode->i_ino;
  e->size = inode->i_size;
  __builtin_memcpy(e->path, o->path, sizeof(e->path));
  bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
  return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit, struct pt_regs *regs, long ret) {
  if (!traced_nr(regs->orig_ax)) return 0;
  struct task_struct *task = bpf_get_current_task_btf();
  struct cpu_syscall *c = this_cpu_syscall();
  if (!c) return 0;
  struct pending *p = &c->cur;
  // Not this CPU's: the task switched out during the call (or the syscall
  // began before capture did).
  if (!p->active || c->cur_tid != task->pid) p = bpf_task_storage_get(&inflight, task, 0, 0);
  if (!p || !p->active) return 0;
  p->active = 0;
  // pid and tid from the task: direct loads, no helper call.
  __u64 id = ((__u64)task->tgid << 32) | (__u32)task->pid;
  __u32 op = p->op;
  if (op == 12) return emit_open(task, id, ret);
  struct ordo_io_batch *b = this_cpu_batch();
  if (!b) return 0;
  __u32 n = b->count;
  if (n >= ORDO_BATCH_MAX) n = 0;  // never: a full batch is sent at once
  struct ordo_io_event *e = &b->ev[n];
  e->end_ns = bpf_ktime_get_ns();
  e->type = ORDO_EV_IO;
  e->op = op;
  e->pid = id >> 32;
  e->tid = (__u32)id;
  e->start_ns = p->start_ns;
  e->result = ret;
  e->dev = p->dev;
  e->ino = p->ino;
  e->fd = (int)regs->di;
  e->pad = 0;
  __u64 offset = p->offset, length = 0;
  switch (op) {
    case 0:
    case 1:
      length = regs->dx;
      break;
    case 2:
    case 3:
      length = regs->dx;
      offset = regs->r10;
      break;
    case 4:
    case 5:
      length = iov_total((const struct iovec *)regs->si, regs->dx);
      break;
    case 6:
    case 7:
    case 8:
    case 9:
      length = iov_total((const struct iovec *)regs->si, regs->dx);
      offset = regs->r10;
      break;
    default:
      break;
  }
  e->offset = offset;
  e->length = length;
  b->count = n + 1;
  if (n + 1 == ORDO_BATCH_MAX) send_batch(b);
  return 0;
}

// A CPU switching tasks sends its batch: the thread switching out may run on
// another CPU next, and its records must reach the ring before its later ones.
// A task switching out inside a traced syscall takes the syscall's state.
SEC("tp_btf/sched_switch")
int BPF_PROG(switch_cpu_task, bool preempt, struct task_struct *prev, struct task_struct *next) {
  struct ordo_io_batch *b = this_cpu_batch();
  if (b && b->count) send_batch(b);
  struct cpu_syscall *c = this_cpu_syscall();
  if (!c || !c->cur.active) return 0;
  if (c->cur_tid == prev->pid) {
    struct pending *p = bpf_task_storage_get(&inflight, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (p) *p = c->cur;  // active, as it was
  }
  c->cur.active = 0;
  return 0;
}

#include "uring.bpf.h"

SEC("tp_btf/sched_process_fork")
int BPF_PROG(process_fork, struct task_struct *parent, struct task_struct *child) {
  if (!follow_children) return 0;
  __u32 ptgid = parent->tgid;
  if (!bpf_map_lookup_elem(&tgids, &ptgid)) return 0;
  __u32 ctgid = child->tgid;
  if (ctgid == ptgid) return 0;  // a new thread of a traced process
  __u8 one = 1;
  bpf_map_update_elem(&tgids, &ctgid, &one, BPF_ANY);
  __sync_fetch_and_add(&filter_growth, 1);
  return 0;
}

#include "engine_probes.bpf.h"
