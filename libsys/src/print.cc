// The debug-log sink behind exo::sys::print.
#include "exo/print.h"

#include "exo/ipc.h"
#include "exo/serial_wire.h"
#include "exo/string.h"
#include "exo/syscall.h"

namespace exo::sys {

namespace {
constinit Handle g_console = kInvalidHandle;
constinit bool g_console_known = false;

Handle console() {
  if (!g_console_known) {
    g_console = start_handle(EXO_START_HANDLE_CONSOLE);
    g_console_known = true;
  }
  return g_console;
}
}  // namespace

void set_console(uint32_t endpoint) {
  g_console = endpoint;
  g_console_known = true;
}

void console_write(const char* text, usize length) {
  Handle endpoint = console();
  while (length > 0 && endpoint != kInvalidHandle) {
    usize n = min(length, serial_wire::kMaxBytes);
    IpcMessage m;
    m.label = serial_wire::kWrite;
    m.word_count = 6;
    m.words[0] = n;
    serial_wire::pack(text, n, &m.words[1]);
    if (ipc_call(endpoint, m) < 0) {
      g_console = endpoint = kInvalidHandle;  // the server is gone: the debug log from now on
      break;
    }
    text += n;
    length -= n;
  }
  if (length > 0) (void)debug_log(text, length);
}

void LogSink::flush() {
  if (length_ != 0) console_write(buffer_, length_);
  length_ = 0;
}

void LogSink::append(void* context, const char* text, usize length) {
  auto* self = static_cast<LogSink*>(context);
  while (length > 0) {
    if (self->length_ == kCapacity) self->flush();
    usize n = min(length, kCapacity - self->length_);
    memcpy(self->buffer_ + self->length_, text, n);
    self->length_ += n;
    text += n;
    length -= n;
  }
}

void puts(const char* text) {
  console_write(text, strlen(text));
}

}  // namespace exo::sys
