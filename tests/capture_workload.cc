// A process for capture tests to trace. Usage:
//   capture_workload DIR MODE [N]
// Opens DIR/pre-0 and DIR/pre-1 at once, prints "ready <pid>", waits for a
// line on stdin, then runs MODE:
//   mixed: three threads, each a known sequence of misaligned pread, pwrite,
//          preadv, read, write, readv, writev, pwritev, pwritev2 and preadv2
//          on pre-* and on files it opens after the go;
//          prints the expected I/O, one "tid op path offset length" per line
//   burst: N one-byte preads of DIR/pre-0 as fast as it can
//   spin: N preads of DIR/pre-0 (offsets 0, 1, ...), then two seconds of
//          computing without a syscall
//   opens: N files DIR/o-I opened with open(2), creat(2) and openat2(2) in
//          turn (not openat), each read or written 3 times while it stays
//          open for 30 ms of computing, then closed; prints the expected I/O
//   uring: N rounds of: an io_uring READ of DIR/pre-1 (IOSQE_ASYNC: an io-wq
//          worker completes it), 10 one-byte preads of DIR/pre-0, then a wait
//          for the completion
//   migrate: four threads, each N preads of DIR/pre-0 at offsets of its own,
//          moving itself to another CPU every 7 reads (sched_setaffinity),
//          and every 100 a pwrite and an fdatasync (which sleeps) of a file
//          of its own; prints the expected I/O as mixed does
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// N rounds of: an io_uring READ of `ring_fd` (IOSQE_ASYNC), 10 one-byte
// preads of `fd`, a wait for the completion. Raw syscalls: no liburing.
int UringRounds(int ring_fd, int fd, long n) {
  io_uring_params p = {};
  int ring = static_cast<int>(syscall(__NR_io_uring_setup, 8, &p));
  if (ring < 0) return 5;
  auto map = [&](size_t size, off_t what) {
    return static_cast<char*>(
        mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, what));
  };
  char* sq = map(p.sq_off.array + p.sq_entries * sizeof(unsigned), IORING_OFF_SQ_RING);
  char* cq = map(p.cq_off.cqes + p.cq_entries * sizeof(io_uring_cqe), IORING_OFF_CQ_RING);
  auto* sqes =
      reinterpret_cast<io_uring_sqe*>(map(p.sq_entries * sizeof(io_uring_sqe), IORING_OFF_SQES));
  auto* sq_tail = reinterpret_cast<std::atomic<unsigned>*>(sq + p.sq_off.tail);
  auto* sq_mask = reinterpret_cast<unsigned*>(sq + p.sq_off.ring_mask);
  auto* sq_array = reinterpret_cast<unsigned*>(sq + p.sq_off.array);
  auto* cq_head = reinterpret_cast<std::atomic<unsigned>*>(cq + p.cq_off.head);
  auto* cq_tail = reinterpret_cast<std::atomic<unsigned>*>(cq + p.cq_off.tail);
  static char buf[4096];
  char c;
  for (long r = 0; r < n; ++r) {
    unsigned t = sq_tail->load(std::memory_order_acquire), i = t & *sq_mask;
    io_uring_sqe* s = &sqes[i];
    *s = {};
    s->opcode = IORING_OP_READ;
    s->fd = ring_fd;
    s->addr = reinterpret_cast<uint64_t>(buf);
    s->len = sizeof(buf);
    s->off = static_cast<uint64_t>(r % 64) * 4096;
    s->flags = IOSQE_ASYNC;
    sq_array[i] = i;
    sq_tail->store(t + 1, std::memory_order_release);
    syscall(__NR_io_uring_enter, ring, 1, 0, 0, nullptr, 0);
    for (int k = 0; k < 10; ++k) (void)!pread(fd, &c, 1, r * 10 + k);
    while (cq_head->load(std::memory_order_acquire) == cq_tail->load(std::memory_order_acquire))
      syscall(__NR_io_uring_enter, ring, 0, 1, IORING_ENTER_GETEVENTS, nullptr, 0);
    cq_head->fetch_add(1, std::memory_order_release);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  std::string dir = argv[1], mode = argv[2];
  long n = argc > 3 ? std::atol(argv[3]) : 10000;
  int pre[2];
  for (int i = 0; i < 2; ++i) {
    std::string p = dir + "/pre-" + std::to_string(i);
    pre[i] = open(p.c_str(), O_RDWR | O_CREAT, 0644);
    std::string zeros(256 * 1024, 'z');
    if (pwrite(pre[i], zeros.data(), zeros.size(), 0) < 0) return 3;
  }
  std::printf("ready %d\n", getpid());
  std::fflush(stdout);
  std::string go;
  std::getline(std::cin, go);
  if (mode == "spin") {
    char c;
    for (long i = 0; i < n; ++i) (void)!pread(pre[0], &c, 1, i);
    // Busy, no syscall: its CPU has no reason to switch away from it.
    volatile unsigned long x = 0;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < until)
      for (int i = 0; i < 100000; ++i) x = x + 1;
    return 0;
  }
  if (mode == "opens") {
    std::string tid = std::to_string(syscall(SYS_gettid));
    for (long i = 0; i < n; ++i) {
      std::string p = dir + "/o-" + std::to_string(i);
      char buf[8] = {};
      long fd;
      const char* op = "pread";
      if (i % 3 == 0) {
        fd = syscall(SYS_open, p.c_str(), O_RDWR | O_CREAT, 0644);
      } else if (i % 3 == 1) {
        fd = syscall(SYS_creat, p.c_str(), 0644);
        op = "pwrite";
      } else {
        open_how how = {};
        how.flags = O_RDWR | O_CREAT;
        how.mode = 0644;
        fd = syscall(SYS_openat2, AT_FDCWD, p.c_str(), &how, sizeof(how));
      }
      if (fd < 0) return 4;
      for (int k = 0; k < 3; ++k) {
        if (op[1] == 'w')
          (void)!pwrite(static_cast<int>(fd), buf, 8, 8 * k);
        else
          (void)!pread(static_cast<int>(fd), buf, 8, 8 * k);
        std::printf("%s %s %s %d 8\n", tid.c_str(), op, p.c_str(), 8 * k);
      }
      // Busy with the file open: the records wait in the CPU's batch.
      volatile unsigned long x = 0;
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
      while (std::chrono::steady_clock::now() < until)
        for (int j = 0; j < 10000; ++j) x = x + 1;
      close(static_cast<int>(fd));
    }
    return 0;
  }
  if (mode == "uring") return UringRounds(pre[1], pre[0], n);
  if (mode == "burst") {
    char c;
    for (long i = 0; i < n; ++i) (void)!pread(pre[0], &c, 1, i % 4096);
    return 0;
  }
  std::mutex out_mu;
  std::vector<std::string> expected;
  auto note = [&](const char* op, const std::string& path, long off, long len) {
    std::lock_guard<std::mutex> lock(out_mu);
    expected.push_back(std::to_string(syscall(SYS_gettid)) + " " + op + " " + path + " " +
                       std::to_string(off) + " " + std::to_string(len));
  };
  std::vector<std::thread> threads;
  if (mode == "migrate") {
    int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::vector<std::string> mine;
        std::string tid = std::to_string(syscall(SYS_gettid));
        std::string own = dir + "/sync-" + std::to_string(t);
        int fd = open(own.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
        char buf[64] = {};
        for (long i = 0; i < n; ++i) {
          if (i % 100 == 99) {
            (void)!pwrite(fd, buf, 64, 64 * (i / 100));
            mine.push_back(tid + " pwrite " + own + " " + std::to_string(64 * (i / 100)) + " 64");
            (void)!fdatasync(fd);
            mine.push_back(tid + " fdatasync " + own + " 0 0");
          }
          if (i % 7 == 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(static_cast<int>((i / 7 + t) % ncpu), &set);
            sched_setaffinity(0, sizeof(set), &set);
          }
          long off = 4 * i + t, len = 1 + i % 50;
          (void)!pread(pre[0], buf, len, off);
          mine.push_back(tid + " pread " + dir + "/pre-0 " + std::to_string(off) + " " +
                         std::to_string(len));
        }
        close(fd);
        std::lock_guard<std::mutex> lock(out_mu);
        expected.insert(expected.end(), mine.begin(), mine.end());
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& e : expected) std::printf("%s\n", e.c_str());
    return 0;
  }
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::string own = dir + "/post-" + std::to_string(t);
      int fd = open(own.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644);
      char buf[20000] = {};
      for (int i = 0; i < 20; ++i) {
        long off = 4096L * i + 1 + t * 7 + i;  // starts mid-block
        long len = 5000 + 13 * i;              // spans blocks
        std::string pre_path = dir + "/pre-" + std::to_string(i % 2);
        // Noted whatever they return: capture records requests, short or not.
        (void)!pwrite(fd, buf, len, off);
        note("pwrite", own, off, len);
        (void)!pread(pre[i % 2], buf, len, off);
        note("pread", pre_path, off, len);
        iovec iov[2] = {{buf, 100}, {buf + 100, static_cast<size_t>(len - 100)}};
        (void)!preadv(fd, iov, 2, off);
        note("preadv", own, off, len);
      }
      lseek(fd, 3, SEEK_SET);
      (void)!read(fd, buf, 777);
      note("read", own, 3, 777);
      // The file position moves on with each of these (the file is longer).
      (void)!write(fd, buf, 555);
      note("write", own, 780, 555);
      iovec two[2] = {{buf, 100}, {buf + 100, 200}};
      (void)!readv(fd, two, 2);
      note("readv", own, 1335, 300);
      (void)!writev(fd, two, 2);
      note("writev", own, 1635, 300);
      (void)!pwritev(fd, two, 2, 50001 + t);
      note("pwritev", own, 50001 + t, 300);
      (void)!pwritev2(fd, two, 2, 60001 + t, 0);
      note("pwritev2", own, 60001 + t, 300);
      (void)!preadv2(fd, two, 2, 70001 + t, 0);
      note("preadv2", own, 70001 + t, 300);
      close(fd);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& e : expected) std::printf("%s\n", e.c_str());
  return 0;
}
