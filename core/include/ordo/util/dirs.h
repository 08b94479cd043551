// Creating the directories a command was told to write under, the way
// `mkdir -p` does, without ever following a symlink.
#pragma once

#include <string>

#include "ordo/status.h"

namespace ordo {

// Makes `path` a directory, creating every missing component (mode `mode`,
// umask applies) as `mkdir -p` would. The path is walked one component at a
// time from its start (the root, or the working directory for a relative
// path), each component opened with O_NOFOLLOW below the one before and
// created with mkdirat there, so nothing is reached through a symlink and
// nothing is created outside the path named. A component that is a symlink
// or not a directory is InvalidArgument naming that component; any other
// failure is IoError naming it. Trailing slashes and "." are ignored; ".."
// steps up as the path says (it is not a symlink). Returns Ok when `path`
// already is a directory reached without symlinks.
Status MakeDirs(const std::string& path, unsigned mode = 0755);

}  // namespace ordo
