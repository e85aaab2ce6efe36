// Formatted output for ring-3 programs: exo::format syntax ("{} {:#x}") to the debug log.
#pragma once

#include "kernel/lib/format.h"

namespace exo::sys {

// A sink that gathers text and hands it to debug_log in as few calls as it can (one per
// print() unless the text exceeds kCapacity), so lines from different threads do not interleave.
class LogSink {
 public:
  static constexpr usize kCapacity = 512;
  LogSink() = default;
  ~LogSink() { flush(); }
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;
  FormatSink sink() { return FormatSink{&LogSink::append, this}; }
  void flush();

 private:
  static void append(void* context, const char* text, usize length);
  char buffer_[kCapacity];
  usize length_ = 0;
};

// Formats and writes to the debug log (see kernel/lib/format.h for the syntax).
template <typename... Args>
void print(const char* fmt, const Args&... args) {
  LogSink out;
  format(out.sink(), fmt, args...);
}

// Writes `text` unformatted.
void puts(const char* text);

}  // namespace exo::sys
