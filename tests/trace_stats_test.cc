// trace::StatsBuilder: the alignment figures FPRE004 hangs on, sizes, engine
// event names from a site table. Records are built here, one by one.
#include <gtest/gtest.h>

#include "ordo/trace/stats.h"

namespace ordo::trace {
namespace {

Record Io(IoOp op, uint64_t offset, uint64_t length, int64_t result, uint32_t tid = 7) {
  IoRecord io;
  io.op = op;
  io.tid = tid;
  io.offset = offset;
  io.length = length;
  io.result = result;
  return Record::Io(io);
}

TEST(TraceStats, AMisalignedSpanningReadStartsMidBlockAndEndsInALaterOne) {
  EXPECT_TRUE(MisalignedSpanningRead(1, 4096, 4096));      // 1..4096: two blocks
  EXPECT_TRUE(MisalignedSpanningRead(4095, 2, 4096));      // the last byte and the next
  EXPECT_FALSE(MisalignedSpanningRead(0, 8192, 4096));     // aligned start
  EXPECT_FALSE(MisalignedSpanningRead(1, 4095, 4096));     // mid-block, ends in the same block
  EXPECT_FALSE(MisalignedSpanningRead(8192, 4097, 4096));  // spans, but starts at a block
  EXPECT_TRUE(MisalignedSpanningRead(513, 512, 512));      // the block size is the caller's
}

TEST(TraceStats, ReadsAndWritesAreCountedByAlignmentAgainstTheBlockSize) {
  StatsBuilder b(4096);
  b.Add(Io(IoOp::kRead, 4097, 5000, 5000));  // misaligned, spans two blocks
  b.Add(Io(IoOp::kRead, 100, 200, 200));     // misaligned, one block
  b.Add(Io(IoOp::kRead, 8192, 4096, 4096));  // block-aligned
  b.Add(Io(IoOp::kWrite, 4096, 8192, -5));   // block-aligned write that failed
  b.Add(Io(IoOp::kRead, 3, 0, 0));           // zero-length: no alignment figure
  b.Add(Io(IoOp::kFsync, 0, 0, 0, 8));
  const TraceStats& s = b.stats();
  EXPECT_EQ(s.block_size, 4096u);
  EXPECT_EQ(s.reads, 3u);
  EXPECT_EQ(s.misaligned_spanning_reads, 1u);
  EXPECT_EQ(s.reads_writes, 4u);
  EXPECT_EQ(s.block_aligned, 2u);
  const OpStats& reads = s.ops[static_cast<size_t>(IoOp::kRead)];
  EXPECT_EQ(reads.count, 4u);
  EXPECT_EQ(reads.bytes, 5000u + 200 + 4096);
  const OpStats& writes = s.ops[static_cast<size_t>(IoOp::kWrite)];
  EXPECT_EQ(writes.count, 1u);
  EXPECT_EQ(writes.bytes, 0u);
  EXPECT_EQ(writes.errors, 1u);
  EXPECT_EQ(s.per_thread.at(7), 5u);
  EXPECT_EQ(s.per_thread.at(8), 1u);
}

TEST(TraceStats, SizesFallIntoPowerOfTwoBuckets) {
  StatsBuilder b(4096);
  b.Add(Io(IoOp::kRead, 0, 1, 1));                  // [1, 2): bucket 1
  b.Add(Io(IoOp::kRead, 0, 4096, 4096));            // [4096, 8192): bucket 13
  b.Add(Io(IoOp::kWrite, 0, 5000, 5000));           // bucket 13
  b.Add(Io(IoOp::kRead, 0, uint64_t{1} << 50, 0));  // beyond the last: the last bucket
  const TraceStats& s = b.stats();
  EXPECT_EQ(s.size_log2[1], 1u);
  EXPECT_EQ(s.size_log2[13], 2u);
  EXPECT_EQ(s.size_log2[40], 1u);
}

TEST(TraceStats, EngineEventsAreNamedByTheTracesSiteTable) {
  StatsBuilder b(4096);
  SiteRecord site;
  site.site = 3;
  site.name = "readahead.mark\x01";
  b.Add(Record::Site(site));
  EngineRecord e;
  e.tid = 9;
  e.kind = kSiteEventBase + 3;
  b.Add(Record::Engine(e));
  b.Add(Record::Engine(e));
  e.kind = static_cast<uint16_t>(EngineEventKind::kReadBegin);
  b.Add(Record::Engine(e));
  const TraceStats& s = b.stats();
  EXPECT_EQ(s.engine_kinds.at(kSiteEventBase + 3), 2u);
  EXPECT_EQ(s.EventName(kSiteEventBase + 3), "readahead.mark?");  // printable
  EXPECT_EQ(s.EventName(static_cast<uint16_t>(EngineEventKind::kReadBegin)),
            EngineEventKindName(static_cast<uint16_t>(EngineEventKind::kReadBegin)));
  EXPECT_EQ(s.per_thread.at(9), 3u);
}

}  // namespace
}  // namespace ordo::trace
