// The .ordo container and record encoding: exact round trips, and damage
// (truncation, bit flips, versions) reported with offsets, never a crash.
#include <gtest/gtest.h>

#include "container.h"
#include "ordo/crc32c.h"
#include "ordo/trace/format.h"
#include "ordo/util/varint.h"
#include "trace_test_util.h"

namespace ordo::trace {
namespace {

using ordo::testing::RandomRecords;
using ordo::testing::ReadTrace;
using ordo::testing::WriteTrace;

void ExpectSameRecords(const std::vector<Record>& want, const std::vector<Record>& got,
                       size_t count) {
  ASSERT_GE(want.size(), count);
  ASSERT_EQ(got.size(), count);
  for (size_t i = 0; i < count; ++i) {
    ASSERT_TRUE(SameRecord(want[i], got[i])) << "record " << i << " differs";
  }
}

// Byte offsets where each records chunk ends, parsed from the layout the
// spec gives (independently of the reader).
std::vector<size_t> RecordChunkEnds(const std::string& bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t off = kFileHeaderFixedSize + GetU32(p + 12) + 4;
  std::vector<size_t> ends;
  while (off + kChunkHeaderSize <= bytes.size() && GetU32(p + off) == kChunkMagic) {
    uint8_t kind = p[off + kChunkKindOff];
    off += kChunkHeaderSize + GetU32(p + off + kChunkStoredOff);
    if (kind == kChunkRecords) ends.push_back(off);
  }
  return ends;
}

TEST(TraceFormat, RandomStreamsRoundTripExactly) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto records = RandomRecords(seed, seed * 97 % 3000);
    WriterOptions o;
    o.max_chunk_records = 1 + static_cast<uint32_t>(seed * 31 % 700);
    std::string bytes = WriteTrace(records, o);
    ASSERT_FALSE(bytes.empty());
    auto back = ReadTrace(bytes);
    ASSERT_TRUE(back.open.ok()) << back.open.ToString();
    EXPECT_TRUE(back.status.ok()) << back.status.ToString();
    EXPECT_TRUE(back.complete);
    ExpectSameRecords(records, back.records, records.size());
  }
}

TEST(TraceFormat, EmptyTraceIsCompleteWithNoRecords) {
  auto back = ReadTrace(WriteTrace({}));
  ASSERT_TRUE(back.open.ok());
  EXPECT_TRUE(back.status.ok());
  EXPECT_TRUE(back.complete);
  EXPECT_TRUE(back.records.empty());
}

TEST(TraceFormat, HeaderFieldsRoundTrip) {
  TraceHeader h = ordo::testing::TestHeader();
  h.filters = "--pid 42 --path /data";
  h.start_realtime_ns = 1764000000123456789ull;
  h.tick_ns = 1000;
  std::string bytes = WriteTrace({}, {}, h);
  auto r = TraceReader::Open(MemorySource(bytes));
  ASSERT_TRUE(r.ok());
  const TraceHeader& g = (*r)->header();
  EXPECT_EQ(g.format_major, kFormatMajor);
  EXPECT_EQ(g.host, "testhost");
  EXPECT_EQ(g.filters, h.filters);
  EXPECT_EQ(g.start_realtime_ns, h.start_realtime_ns);
  EXPECT_EQ(g.tick_ns, 1000u);
  EXPECT_EQ(g.source, "unit test");
}

TEST(TraceFormat, TimestampsAreKeptAtTheHeaderTick) {
  TraceHeader h = ordo::testing::TestHeader();
  h.tick_ns = 1000;
  IoRecord io;
  io.start_ns = 5'123'999;
  io.end_ns = 5'200'001;
  io.length = io.result = 10;
  auto back = ReadTrace(WriteTrace({Record::Io(io)}, {}, h));
  ASSERT_EQ(back.records.size(), 1u);
  EXPECT_EQ(back.records[0].io.start_ns, 5'123'000u);
  EXPECT_EQ(back.records[0].io.end_ns, 5'200'000u);
}

TEST(TraceFormat, FooterSummaryMatchesAFullScan) {
  auto records = RandomRecords(7, 5000);
  WriterOptions o;
  o.max_chunk_records = 300;
  std::string bytes = WriteTrace(records, o);
  auto r = TraceReader::Open(MemorySource(bytes));
  ASSERT_TRUE(r.ok());
  auto footer = (*r)->ReadFooterSummary();
  ASSERT_TRUE(footer.ok()) << footer.status().ToString();
  SummaryBuilder b;
  for (const auto& rec : records) b.Add(rec);
  const TraceSummary& want = b.summary();
  EXPECT_EQ(footer->events, want.events);
  EXPECT_EQ(footer->io_events, want.io_events);
  EXPECT_EQ(footer->engine_events, want.engine_events);
  EXPECT_EQ(footer->lost_events, want.lost_events);
  EXPECT_EQ(footer->threads, want.threads);
  EXPECT_EQ(footer->files, want.files);
  EXPECT_EQ(footer->first_ns, want.first_ns);
  EXPECT_EQ(footer->last_ns, want.last_ns);
  EXPECT_EQ(footer->chunks, RecordChunkEnds(bytes).size());
}

TEST(TraceFormat, TruncationAtEveryByteYieldsEveryCompleteChunk) {
  auto records = RandomRecords(3, 400);
  WriterOptions o;
  o.max_chunk_records = 40;
  std::string bytes = WriteTrace(records, o);
  auto ends = RecordChunkEnds(bytes);
  ASSERT_EQ(ends.size(), 10u);
  const size_t header_size =
      kFileHeaderFixedSize + GetU32(reinterpret_cast<const uint8_t*>(bytes.data()) + 12) + 4;
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    auto back = ReadTrace(bytes.substr(0, cut), "cut.ordo");
    if (cut < header_size) {
      ASSERT_FALSE(back.open.ok()) << "cut " << cut;
      EXPECT_EQ(back.open.code(), StatusCode::kTruncated) << back.open.ToString();
      continue;
    }
    ASSERT_TRUE(back.open.ok()) << "cut " << cut << ": " << back.open.ToString();
    size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) ++whole;
    ExpectSameRecords(records, back.records, std::min(records.size(), whole * 40));
    ASSERT_FALSE(back.status.ok()) << "cut " << cut;
    EXPECT_EQ(back.status.code(), StatusCode::kTruncated) << back.status.ToString();
    EXPECT_FALSE(back.complete);
    // The message names the file and the offset where reading stopped.
    size_t stop = whole == ends.size() ? ends.back() : (whole ? ends[whole - 1] : header_size);
    if (whole == ends.size()) {
      // Cut inside the index or trailer: the reader stops there.
      EXPECT_NE(back.status.message().find("cut.ordo: byte "), std::string::npos);
    } else {
      EXPECT_NE(back.status.message().find("cut.ordo: byte " + std::to_string(stop) + ":"),
                std::string::npos)
          << back.status.message();
    }
  }
}

TEST(TraceFormat, EverySingleBitFlipIsDetected) {
  auto records = RandomRecords(11, 120);
  WriterOptions o;
  o.max_chunk_records = 30;
  std::string bytes = WriteTrace(records, o);
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::string damaged = bytes;
      damaged[i] = static_cast<char>(damaged[i] ^ (1 << bit));
      auto back = ReadTrace(damaged, "flip.ordo");
      if (!back.open.ok()) {
        EXPECT_NE(back.open.message().find("flip.ordo: byte "), std::string::npos);
        continue;
      }
      ASSERT_FALSE(back.status.ok()) << "flip at byte " << i << " bit " << bit << " went unnoticed";
      EXPECT_NE(back.status.message().find("flip.ordo: byte "), std::string::npos);
      // What was returned before the damage is exactly the original prefix.
      ExpectSameRecords(records, back.records, back.records.size());
    }
  }
}

std::string WithHeaderPatched(std::string bytes, uint16_t major, uint16_t minor) {
  auto* p = reinterpret_cast<uint8_t*>(bytes.data());
  p[8] = static_cast<uint8_t>(major);
  p[9] = static_cast<uint8_t>(major >> 8);
  p[10] = static_cast<uint8_t>(minor);
  p[11] = static_cast<uint8_t>(minor >> 8);
  size_t body = GetU32(p + 12);
  uint32_t crc = Crc32c(0, p, kFileHeaderFixedSize + body);
  std::string c;
  PutU32(&c, crc);
  bytes.replace(kFileHeaderFixedSize + body, 4, c);
  return bytes;
}

TEST(TraceFormat, NewerMajorVersionIsRefusedClearly) {
  std::string bytes = WithHeaderPatched(WriteTrace(RandomRecords(1, 10)), 2, 0);
  auto back = ReadTrace(bytes, "new.ordo");
  ASSERT_FALSE(back.open.ok());
  EXPECT_EQ(back.open.code(), StatusCode::kUnsupported);
  EXPECT_NE(back.open.message().find("new.ordo: byte 8: trace format version 2.0"),
            std::string::npos)
      << back.open.message();
}

TEST(TraceFormat, NewerMinorVersionWithUnknownPartsStillReads) {
  auto records = RandomRecords(5, 200);
  WriterOptions o;
  o.max_chunk_records = 50;
  std::string bytes = WithHeaderPatched(WriteTrace(records, o), kFormatMajor, kFormatMinor + 1);
  // Splice in a chunk of a kind this build does not know, after the first chunk.
  std::string payload = "something from the future";
  ChunkHeader h;
  h.kind = 9;
  h.stored_size = h.raw_size = static_cast<uint32_t>(payload.size());
  h.payload_crc = Crc32c(0, payload.data(), payload.size());
  size_t at = RecordChunkEnds(bytes)[0];
  bytes.insert(at, EncodeChunkHeader(h) + payload);
  // The trailer's index offset moved by the inserted bytes: patch it.
  size_t shift = kChunkHeaderSize + payload.size();
  auto* p = reinterpret_cast<uint8_t*>(bytes.data());
  uint64_t index_offset = GetU64(p + bytes.size() - kTrailerSize) + shift;
  bytes.replace(bytes.size() - kTrailerSize, kTrailerSize, EncodeTrailer(index_offset));
  auto back = ReadTrace(bytes);
  ASSERT_TRUE(back.open.ok()) << back.open.ToString();
  EXPECT_TRUE(back.status.ok()) << back.status.ToString();
  ExpectSameRecords(records, back.records, records.size());
}

TEST(TraceFormat, UnknownHeaderFieldsAreSkipped) {
  TraceHeader h;
  std::string body;
  PutVarint(&body, 99);  // a tag from a later version
  PutVarint(&body, 3);
  body += "abc";
  PutVarint(&body, kTagHost);
  PutVarint(&body, 4);
  body += "node";
  ASSERT_TRUE(
      DecodeHeaderBody(reinterpret_cast<const uint8_t*>(body.data()), body.size(), &h).ok());
  EXPECT_EQ(h.host, "node");
}

TEST(TraceFormat, BytesAfterTheTrailerAreReported) {
  std::string bytes = WriteTrace(RandomRecords(2, 50)) + "x";
  auto back = ReadTrace(bytes, "tail.ordo");
  EXPECT_EQ(back.records.size(), 50u);
  EXPECT_EQ(back.status.code(), StatusCode::kCorruption);
  EXPECT_NE(back.status.message().find("after the trailer"), std::string::npos);
}

TEST(TraceFormat, NonTraceInputIsRefused) {
  auto back = ReadTrace("fio version 3 iolog\n0 /dev/sda add\n", "log.txt");
  ASSERT_FALSE(back.open.ok());
  EXPECT_EQ(back.open.code(), StatusCode::kCorruption);
  EXPECT_NE(back.open.message().find("log.txt: byte 0: not an ordo trace"), std::string::npos);
}

TEST(TraceFormat, FlushMakesEverythingSoFarReadableWithoutClose) {
  std::string bytes;
  auto w = TraceWriter::Create(StringSink(&bytes), ordo::testing::TestHeader());
  ASSERT_TRUE(w.ok());
  auto records = RandomRecords(9, 77);
  for (const auto& r : records) ASSERT_TRUE((*w)->Add(r).ok());
  ASSERT_TRUE((*w)->Flush().ok());
  // A writer killed here leaves exactly these bytes behind.
  auto back = ReadTrace(bytes);
  ExpectSameRecords(records, back.records, records.size());
  EXPECT_EQ(back.status.code(), StatusCode::kTruncated);
  EXPECT_NE(back.status.message().find("without its footer"), std::string::npos);
  ASSERT_TRUE((*w)->Close().ok());
}

TEST(TraceFormat, Crc32cMatchesTheStandardCheckValue) {
  EXPECT_EQ(Crc32c(0, "123456789", 9), 0xe3069283u);
  EXPECT_EQ(Crc32c(Crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

}  // namespace
}  // namespace ordo::trace

namespace ordo::trace {
namespace {

TEST(Varint, EveryLengthRoundTripsIncludingAtTheEndOfAStream) {
  std::vector<uint64_t> values = {0, 1, 127, 128, ~0ull, ~0ull - 1};
  for (int i = 1; i < 64; ++i) {
    values.push_back((1ull << i) - 1);
    values.push_back(1ull << i);
  }
  for (uint64_t v : values) {
    std::string s;
    PutVarint(&s, v);
    size_t want_len = v < (1ull << 56) ? (64 - __builtin_clzll(v | 1) + 6) / 7 : 9;
    EXPECT_EQ(s.size(), want_len) << v;
    // Alone in its buffer, so the decoder cannot read ahead.
    std::vector<uint8_t> exact(s.begin(), s.end());
    ByteCursor c{exact.data(), exact.data() + exact.size()};
    EXPECT_EQ(c.Varint(), v);
    EXPECT_FALSE(c.failed);
    EXPECT_TRUE(c.empty());
    // A stream cut one byte short fails instead of reading past its end.
    ByteCursor cut{exact.data(), exact.data() + exact.size() - 1};
    cut.Varint();
    EXPECT_TRUE(cut.failed) << v;
  }
}

}  // namespace
}  // namespace ordo::trace
