// Formatted output for ring-3 programs: exo::format syntax ("{} {:#x}") to the console. The
// console is the serial server when the program was given its endpoint (start role
// EXO_START_HANDLE_CONSOLE), the kernel's debug log otherwise (bring-up, or the server gone).
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

// Writes raw bytes to the console (see above).
void console_write(const char* text, usize length);
// Makes `endpoint` (a send handle to the serial server) this program's console (init, once the
// server has announced itself).
void set_console(uint32_t endpoint);

}  // namespace exo::sys
