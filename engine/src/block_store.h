// The engine's on-disk layer: data segments of fixed-size block slots, a
// metadata journal, and recovery. Blocks are copy-on-write: a new version of
// a block goes to a new slot and a journal record maps it; a slot is never
// rewritten. No ordering points live here; every call is short and
// thread-safe.
//
// Directory layout:
//   DIR/journal           records: [u32 len][u32 crc32c][payload]
//   DIR/seg-NNNNNN.dat    segment_blocks slots of block_size bytes each
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "ordo/status.h"

namespace ordo::engine {

// Where a block version lives and the checksum of its bytes.
struct BlockVersion {
  uint32_t seg = 0;
  uint32_t slot = 0;
  uint32_t crc = 0;
};

// A block version packed into 64 bits so it can be read and swapped
// atomically: 20 bits segment, 12 bits slot, 32 bits CRC32C.
inline uint64_t Pack(const BlockVersion& v) {
  return (uint64_t{v.seg} << 44) | (uint64_t{v.slot} << 32) | v.crc;
}
inline BlockVersion Unpack(uint64_t p) {
  return {static_cast<uint32_t>(p >> 44), static_cast<uint32_t>((p >> 32) & 0xfff),
          static_cast<uint32_t>(p)};
}
inline constexpr uint32_t kMaxSegmentBlocks = 4096;
inline constexpr uint32_t kMaxSegments = 1u << 20;

struct RecoveredBlock {
  uint32_t file = 0;
  uint64_t block = 0;
  BlockVersion version;
};

struct RecoveredFile {
  uint32_t id = 0;
  std::string name;
  uint64_t size = 0;
};

class BlockStore {
 public:
  // Opens or creates `dir`. Replays the journal (stopping at a torn tail),
  // picks for every block the newest version whose bytes verify, drops
  // segments nothing references, and rewrites the journal compactly.
  static Result<std::unique_ptr<BlockStore>> Open(const std::string& dir, uint32_t block_size,
                                                  uint32_t segment_blocks);
  ~BlockStore();

  uint32_t block_size() const { return block_size_; }
  const std::vector<RecoveredFile>& recovered_files() const { return files_; }
  const std::vector<RecoveredBlock>& recovered_blocks() const { return blocks_; }
  // What recovery found: journal records replayed, versions rejected.
  std::string recovery_report() const { return report_; }

  // Journals a new file (the caller assigns ids densely from 1).
  Status AddFile(uint32_t id, const std::string& name);
  Status SetSize(uint32_t file, uint64_t size);

  // Writes one block's bytes to a fresh slot and journals the mapping.
  // `previous` (if any) is the version it replaces, for live accounting.
  Result<BlockVersion> WriteBlock(uint32_t file, uint64_t block, const char* data,
                                  const BlockVersion* previous);
  // Reads the bytes of a version (block_size bytes into buf).
  Status ReadBlock(const BlockVersion& v, char* buf);

  // Makes every write so far durable: data segments first, then the journal.
  Status Sync();

  // The sealed segment with the fewest live blocks, or false when none.
  bool PickVictim(uint32_t* seg);
  // Forgets a segment whose blocks were all relocated (and synced): journals
  // the drop and unlinks the file. Readers holding it keep reading.
  Status DropSegment(uint32_t seg);
  uint32_t LiveBlocks(uint32_t seg);

  // Rewrites the journal to exactly these files and blocks.
  Status Checkpoint(const std::vector<RecoveredFile>& files,
                    const std::vector<RecoveredBlock>& blocks);

 private:
  struct Segment;
  BlockStore() = default;
  Status AppendJournal(const std::string& payload);
  Result<std::shared_ptr<Segment>> OpenSegment(uint32_t seg, bool create);
  Status NewActiveSegment();
  // Recovery (Open): every segment file but the dropped ones, then each
  // block's newest version whose bytes are there and verify.
  Status OpenSegments(const std::set<uint32_t>& dropped);
  void RecoverBlocks(
      const std::map<std::pair<uint32_t, uint64_t>, std::vector<BlockVersion>>& history);
  std::string SegmentPath(uint32_t seg) const;

  std::string dir_;
  uint32_t block_size_ = 0;
  uint32_t segment_blocks_ = 0;
  std::mutex mu_;
  int journal_fd_ = -1;
  std::map<uint32_t, std::shared_ptr<Segment>> segments_;
  std::unordered_map<uint32_t, uint32_t> live_;  // segment -> live blocks
  std::set<uint32_t> dirty_;                     // segments written since the last Sync
  std::shared_ptr<Segment> active_;
  uint32_t next_slot_ = 0;
  uint32_t next_seg_ = 1;
  std::vector<RecoveredFile> files_;
  std::vector<RecoveredBlock> blocks_;
  std::string report_;
};

}  // namespace ordo::engine
