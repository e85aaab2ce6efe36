// Kernel command-line parsing: space-separated `key=value` and bare `flag` words.
#pragma once

#include "kernel/lib/types.h"

namespace exo {

// A read-only view of a command line. Keys and values are compared without copying; the
// string must outlive the view.
class Cmdline {
 public:
  explicit Cmdline(const char* text) : text_(text != nullptr ? text : "") {}

  // True if `flag` appears as a bare word or as `flag=...`.
  bool has(const char* flag) const;
  // Copies the value of the first `key=value` word into `out` (NUL-terminated, at most
  // capacity - 1 bytes). Returns false if the key is absent or the value does not fit.
  bool get(const char* key, char* out, usize capacity) const;
  const char* text() const { return text_; }

 private:
  // Calls visit for each word; stops early when visit returns true.
  template <typename Visit> bool for_each_word(Visit visit) const;
  const char* text_;
};

}  // namespace exo
