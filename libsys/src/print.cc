// The debug-log sink behind exo::sys::print.
#include "exo/print.h"

#include "exo/ipc.h"
#include "exo/proto/ipc_transport.h"
#include "exo/protocols/serial.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "kernel/lib/new.h"

namespace exo::sys {

namespace {
constinit Handle g_console = kInvalidHandle;
constinit bool g_console_known = false;

// One client per process (its message buffer is 4 KiB), used under a lock: print() may run on
// several threads.
bool g_console_lock = false;
alignas(protocols::serial::SerialClient) uint8_t g_client_storage[sizeof(protocols::serial::SerialClient)];
alignas(proto::IpcTransport) uint8_t g_transport_storage[sizeof(proto::IpcTransport)];
protocols::serial::SerialClient* g_client = nullptr;

protocols::serial::SerialClient& client_for(Handle endpoint) {
  if (g_client == nullptr) {
    auto* transport = new (g_transport_storage) proto::IpcTransport(endpoint);
    g_client = new (g_client_storage) protocols::serial::SerialClient(*transport);
  }
  return *g_client;
}

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
  if (endpoint != kInvalidHandle) {
    while (__atomic_exchange_n(&g_console_lock, true, __ATOMIC_ACQUIRE)) yield();
    protocols::serial::SerialClient& client = client_for(endpoint);
    while (length > 0) {
      usize n = min(length, usize{4096});
      auto written = client.write(proto::BytesView(text, n));
      if (!written.ok()) {
        g_console = kInvalidHandle;  // the server is gone: the debug log from now on
        break;
      }
      text += n;
      length -= n;
    }
    __atomic_store_n(&g_console_lock, false, __ATOMIC_RELEASE);
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
