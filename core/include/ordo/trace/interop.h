// Conversions between .ordo traces and other tools' formats: fio iologs (in
// and out) and JSON lines (out). All of them stream; none holds a whole trace.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ordo/file_io.h"
#include "ordo/status.h"
#include "ordo/trace/reader.h"
#include "ordo/trace/record.h"
#include "ordo/trace/writer.h"

namespace ordo::trace {

// fio iolog v3 timestamps are microseconds; traces imported from fio use
// this tick so their timestamps cost no more than fio's own.
inline constexpr uint32_t kFioTickNs = 1000;
// TraceHeader::clock of traces whose timestamps count from the start of the
// run (imports); exports keep such timestamps as they are.
inline constexpr const char* kRelativeClock = "relative";

struct FioImportStats {
  uint64_t ios = 0;    // read/write/sync/trim actions
  uint64_t files = 0;  // distinct file names
  uint64_t lines = 0;
};

// Reads fio iologs (version 2 or 3), each the I/O of one thread, and writes
// them to `writer` merged in time order: thread i (tid i+1, pid 1) per log,
// a file record per distinct file name. v2 logs get times from their `wait`
// actions. Malformed lines fail with "log:line: reason".
Status ImportFioLogs(const std::vector<std::string>& logs, TraceWriter* writer,
                     FioImportStats* stats);

struct BlkparseImportStats {
  uint64_t lines = 0;
  uint64_t events = 0;     // request event lines parsed
  uint64_t ios = 0;        // queued requests (Q) written as I/O records
  uint64_t completed = 0;  // of them, matched with their completion (C)
  uint64_t unmatched = 0;  // written with no completion seen (end = start)
  uint64_t devices = 0;
};

// Reads blkparse's default text output (`blkparse -i DEV`, several files in
// order) and writes one I/O record per queued request (Q): the device as a
// file "blkdev:MAJ,MIN", offset and length in bytes, the queuing process as
// pid and tid, start at Q and end at the matching completion (C). Other
// actions (G, I, D, M, plugs) and blkparse's summaries are skipped. Streams,
// holding at most 65,536 requests awaiting completion.
Status ImportBlkparse(const std::vector<std::string>& inputs, TraceWriter* writer,
                      BlkparseImportStats* stats);

struct FioExportOptions {
  // When set, file i is written as "<target_dir>/file<i>" instead of its
  // recorded path, so a replay touches only that directory.
  std::string target_dir;
};

// Writes the I/O records of `reader` as a fio v3 iolog that
// `fio --read_iolog` replays: add/open before a file's first use, close at
// the end, timestamps in microseconds from the first record. Stops with the
// reader's status on damage.
Status ExportFioLog(TraceReader* reader, ByteSink* out, const FioExportOptions& options,
                    uint64_t* ios_written);

// One record as a single-line JSON object (no trailing newline).
std::string RecordToJson(const Record& record);

// Writes the trace as Chrome trace-event JSON (Perfetto, chrome://tracing):
// I/O as complete events, engine events as instants (at their wall time, or
// at their sequence number in microseconds when a history has none), thread
// names as metadata. Streams: one event per record.
Status ExportChrome(TraceReader* reader, ByteSink* out, uint64_t* events_written);

// Writes every record of `reader` as JSON lines.
Status ExportJsonl(TraceReader* reader, ByteSink* out, uint64_t* records_written);

}  // namespace ordo::trace
