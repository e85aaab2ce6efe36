// Initrd archive reader: validates and walks a cpio "newc" (070701) archive held in memory.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/loader/diagnostic.h"

namespace exo::loader {

// File type bits of `mode` (POSIX <sys/stat.h> values, which newc archives carry verbatim).
inline constexpr uint32_t kCpioTypeMask = 0170000;
inline constexpr uint32_t kCpioRegular = 0100000;
inline constexpr uint32_t kCpioDirectory = 0040000;
inline constexpr uint32_t kCpioSymlink = 0120000;

struct CpioEntry {
  const char* name;  // NUL-terminated, points into the archive; as stored (may start "./")
  usize name_length;  // excluding the NUL
  uint32_t mode;  // type bits and permission bits
  ByteSpan data;  // the file's bytes inside the archive (a symlink's target for links)
};

inline bool cpio_is_regular(const CpioEntry& e) { return (e.mode & kCpioTypeMask) == kCpioRegular; }
inline bool cpio_is_directory(const CpioEntry& e) {
  return (e.mode & kCpioTypeMask) == kCpioDirectory;
}

// Reads the entry whose header starts at *offset (0 for the first) and advances *offset to the
// next header. Returns true with *out filled for an ordinary entry and false at the
// "TRAILER!!!" entry (leaving *offset on it). Never reads outside `archive`.
// Rejected (kMalformed): an offset that is not 4-aligned, a header, name, padding or data
// running past the archive (including no trailer before the end), a magic other than
// "070701", a header field that is not 8 hex digits, a name size of 0, a name whose NUL is not
// its last byte, non-zero padding, a trailer with data. Diagnostic offsets are into `archive`.
Result<bool> cpio_next(ByteSpan archive, usize* offset, CpioEntry* out, ParseDiagnostic* diag);

// Walks the whole archive to its trailer; returns the number of entries before the trailer.
// Bytes after the trailer (tools pad to 512-byte blocks) are not examined.
Result<usize> cpio_validate(ByteSpan archive, ParseDiagnostic* diag);

// The last entry named `name` (as extraction would leave it), after validating the whole
// archive. A leading "./" is ignored on both sides, so "init" finds "./init". kNotFound when no
// entry matches.
Result<CpioEntry> cpio_find(ByteSpan archive, const char* name, ParseDiagnostic* diag);

}  // namespace exo::loader
