// Outputs that never clobber. Every file ordo writes is written to a
// temporary beside its final name (created O_EXCL|O_NOFOLLOW, so nothing
// already there is opened) and renamed over the final name only when the
// writer commits; a failed or interrupted writer leaves the old file as it
// was. A symlink at an output is refused, never followed, and an output that
// is one of the command's inputs is refused before anything is opened.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ordo/status.h"

namespace ordo {

// Refuses (InvalidArgument) an `output` that is a symlink, a directory, or
// the same file (device and inode) as one of `inputs`. "-" (stdout) and
// inputs that do not exist are accepted. Call before opening anything for
// writing.
Status CheckOutput(const std::string& output, const std::vector<std::string>& inputs);

struct OutputOptions {
  unsigned mode = 0644;  // permission bits of the final file (umask applies)
  // Write to "<path>.partial" rather than a hidden random name, locked while
  // in use: a writer killed outright leaves its data there for the user, and
  // a second writer to the same path is refused naming the holder's pid.
  // The partial is kept when the writer fails (it may be the only copy).
  bool visible_partial = false;
};

// One output file being written. Not thread-safe.
class AtomicFile {
 public:
  // Creates the temporary for `path`. "-" is refused here: the caller maps
  // it to stdout. A `path` that exists and is not a regular file (a FIFO,
  // /dev/null) is written in place: it cannot be replaced by a rename.
  static Result<std::unique_ptr<AtomicFile>> Create(const std::string& path,
                                                    const OutputOptions& options = {});
  // Removes the temporary unless Commit() succeeded (or it is a kept partial).
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // Where the bytes are until Commit(): the temporary, or `path` in place.
  const std::string& temp_path() const { return temp_; }

  // Makes the bytes durable and renames the temporary over `path`.
  Status Commit();
  // Marks the write failed: the temporary is removed (a visible partial is
  // kept) when this object goes.
  void Abandon() { failed_ = true; }

 private:
  AtomicFile() = default;
  std::string path_;
  std::string temp_;
  int fd_ = -1;
  bool in_place_ = false;
  bool committed_ = false;
  bool failed_ = false;
  bool keep_partial_ = false;
  int slot_ = -1;  // in the signal-time cleanup registry
};

// Removes every temporary still registered by a live AtomicFile (and every
// directory registered below). Async-signal-safe: for signal handlers.
void RemoveTemporariesNow();
// Registers a work directory to be removed (recursively) by
// RemoveTemporariesNow(); Unregister when it is gone. At most a few.
void RegisterTemporaryDir(const std::string& dir);
void UnregisterTemporaryDir(const std::string& dir);
// Installs SIGINT/SIGTERM/SIGHUP handlers that remove the temporaries and
// then die of the signal as before. Commands that stop cleanly on a signal
// install their own handler instead and clean up on their normal path.
void InstallTemporaryCleanupOnSignals();

}  // namespace ordo
