#include "ordo/util/dirs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ordo {

namespace {

// Why the directory entry `name` under `at` could not be opened as a
// directory without following it; `shown` is the path up to it.
Status Refusal(int at, const std::string& name, const std::string& shown, int err) {
  struct stat st;
  if (fstatat(at, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) {
      return Status::InvalidArgument(shown +
                                     ": is a symlink; ordo does not follow symlinks in the "
                                     "directories it writes under (give the real path)");
    }
    if (!S_ISDIR(st.st_mode))
      return Status::InvalidArgument(shown + ": exists and is not a directory");
  }
  return Status::IoError(shown + ": " + std::strerror(err));
}

}  // namespace

Status MakeDirs(const std::string& path, unsigned mode) {
  if (path.empty()) return Status::InvalidArgument("no directory given");
  const bool absolute = path[0] == '/';
  int at = open(absolute ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (at < 0)
    return Status::IoError(std::string(absolute ? "/" : ".") + ": " + std::strerror(errno));
  std::string shown = absolute ? "/" : "";
  Status result = Status::Ok();
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    const std::string part = path.substr(start, slash - start);
    start = slash + 1;
    if (part.empty() || part == ".") continue;
    if (!shown.empty() && shown.back() != '/') shown += '/';
    shown += part;
    int next = openat(at, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT) {
      if (mkdirat(at, part.c_str(), mode) != 0 && errno != EEXIST) {
        result = Status::IoError(shown + ": cannot create: " + std::strerror(errno));
        break;
      }
      next = openat(at, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) {
      result = Refusal(at, part, shown, errno);
      break;
    }
    close(at);
    at = next;
  }
  close(at);
  return result;
}

}  // namespace ordo
