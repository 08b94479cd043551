// io_uring reads, writes and fsyncs, included by syscalls.bpf.c (it shares
// its maps and filters). io_uring bypasses the syscall hooks: requests are
// seen at submission (tp_btf/io_uring_submit_req: after the request's prep,
// in the submitting task or its SQPOLL thread, both of the submitter's
// process) and at completion (tp_btf/io_uring_complete, whichever task posts
// the CQE), matched by the request's address. One record per request, at
// completion: op, file (the request's own, so registered files work too),
// offset, requested length, result (cqe->res), submitter pid/tid, submit and
// completion times.
#ifndef ORDO_CAPTURE_URING_BPF_H
#define ORDO_CAPTURE_URING_BPF_H

struct uring_pending {
  __u64 start_ns;
  __u64 offset;
  __u64 length;
  __u32 pid;
  __u32 tid;
  __u32 op;
  __s32 fd;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);  // struct io_kiocb *
  __type(value, struct uring_pending);
} uring_inflight SEC(".maps");

// IORING_OP_* (include/uapi/linux/io_uring.h) to an IoOp; -1: not file I/O.
// *vectored: the request's addr/len are an iovec array and its count.
static __always_inline int uring_op_of(__u8 opcode, bool *vectored) {
  *vectored = opcode == 1 || opcode == 2 || opcode == 60 || opcode == 61;
  switch (opcode) {
    case 1:
    case 4:
    case 22:
    case 60:
      return ORDO_OP_URING_READ;  // READV, READ_FIXED, READ, READV_FIXED
    case 2:
    case 5:
    case 23:
    case 61:
      return ORDO_OP_URING_WRITE;  // WRITEV, WRITE_FIXED, WRITE, WRITEV_FIXED
    case 3:
      return ORDO_OP_URING_FSYNC;  // FSYNC
    default:
      return -1;
  }
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(uring_submit, struct io_kiocb *req) {
  bool vectored;
  int op = uring_op_of(req->opcode, &vectored);
  if (op < 0 || !selected()) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  struct uring_pending p = {};
  p.pid = id >> 32;
  p.tid = (__u32)id;
  p.op = op;
  p.fd = req->cqe.fd;
  if (op != ORDO_OP_URING_FSYNC) {
    // Prep has run: the rw command holds the offset, address and length.
    struct io_rw *rw = bpf_rdonly_cast(&req->cmd, bpf_core_type_id_kernel(struct io_rw));
    __u64 addr = rw->addr;
    __u32 len = rw->len;
    p.offset = rw->kiocb.ki_pos;
    p.length = vectored ? iov_total((const struct iovec *)addr, len) : len;
    if (p.offset == (__u64)-1 &&
        !(req->flags & 1)) {  // -1: the file position (not with a registered file)
      struct file *f = file_of(bpf_get_current_task_btf(), p.fd);
      if (f) p.offset = f->f_pos;
    }
  }
  __u64 key = (__u64)req;
  send_this_cpu_batch();  // the thread's earlier syscalls come first
  p.start_ns = bpf_ktime_get_ns();
  bpf_map_update_elem(&uring_inflight, &key, &p, BPF_ANY);
  return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(uring_complete, void *ctx_, void *req, struct io_uring_cqe *cqe) {
  if (!req) return 0;
  __u64 key = (__u64)req;
  struct uring_pending *p = bpf_map_lookup_elem(&uring_inflight, &key);
  if (!p) return 0;
  struct io_kiocb *r = bpf_rdonly_cast(req, bpf_core_type_id_kernel(struct io_kiocb));
  struct file *f = r->file;
  if (!f || !is_regular_file(f)) {
    bpf_map_delete_elem(&uring_inflight, &key);
    return 0;
  }
  // The submitter's syscalls that ended before now and still wait in the
  // batch of the CPU it runs on come first (the loader orders them).
  __u32 after_cpu = 0, has_after = 0;
  __u64 after_generation = 0;
  struct io_uring_task *tctx = r->tctx;
  if (tctx && tctx->task) {
    after_cpu = tctx->task->thread_info.cpu;
    __u32 zero = 0;
    struct ordo_io_batch *sb = bpf_map_lookup_percpu_elem(&batch, &zero, after_cpu);
    if (sb && sb->count) {
      has_after = 1;
      after_generation = sb->generation;
    }
  }
  struct ordo_uring_event *u = bpf_ringbuf_reserve(&events, sizeof(*u), 0);
  if (!u) {
    count_lost(1);
    bpf_map_delete_elem(&uring_inflight, &key);
    return 0;
  }
  struct ordo_io_event *e = &u->io;
  struct inode *inode = f->f_inode;
  e->end_ns = bpf_ktime_get_ns();
  e->type = ORDO_EV_URING;
  e->op = p->op;
  e->pid = p->pid;
  e->tid = p->tid;
  e->start_ns = p->start_ns;
  e->offset = p->offset;
  e->length = p->length;
  e->result = cqe->res;
  e->dev = inode->i_sb->s_dev;
  e->ino = inode->i_ino;
  e->fd = p->fd;
  e->pad = 0;
  u->after_cpu = after_cpu;
  u->has_after = has_after;
  u->after_generation = after_generation;
  bpf_ringbuf_submit(u, BPF_RB_NO_WAKEUP);
  bpf_map_delete_elem(&uring_inflight, &key);
  return 0;
}

#endif
