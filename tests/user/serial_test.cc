// serial_test: input typed on the serial port reaches a client of the serial server. It
// subscribes a notification, asks for a line, waits for the interrupt-driven input and prints
// what it read. Run by the harness with --input (tests/qemu/meson.build).
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/serial_wire.h"
#include "exo/syscall.h"

int main(int, char**) {
  using namespace exo::sys;
  namespace wire = exo::serial_wire;
  Handle console = start_handle(EXO_START_HANDLE_CONSOLE);
  exo::Result<Handle> input = notification_create();
  if (console == kInvalidHandle || !input.ok()) {
    print("serial_test: no console (is the serial server running?)\n0 passed, 1 failed\n");
    return 1;
  }
  IpcMessage subscribe;
  subscribe.label = wire::kSubscribe;
  subscribe.word_count = 1;
  subscribe.handle_count = 1;
  subscribe.words[0] = handle_duplicate(*input, EXO_RIGHT_SIGNAL | EXO_RIGHT_TRANSFER).value_or(0);
  if (ipc_call(console, subscribe) != 0 || subscribe.label != wire::kSubscribe) {
    print("serial_test: subscribe refused\n0 passed, 1 failed\n");
    return 1;
  }
  print("serial_test: type a line\n");
  char line[128];
  exo::usize length = 0;
  bool done = false;
  while (!done && length < sizeof(line) - 1) {
    IpcMessage read;
    read.label = wire::kRead;
    read.word_count = 1;
    read.words[0] = wire::kMaxBytes;
    if (ipc_call(console, read) != 0) break;
    exo::usize n = read.words[0];
    if (n == 0) {
      (void)notification_wait(*input);  // the server signals when input arrives
      continue;
    }
    char bytes[wire::kMaxBytes];
    wire::unpack(&read.words[1], n, bytes);
    for (exo::usize i = 0; i < n && !done; ++i) {
      if (bytes[i] == '\r' || bytes[i] == '\n') {
        done = true;
      } else if (length < sizeof(line) - 1) {
        line[length++] = bytes[i];
      }
    }
  }
  line[length] = '\0';
  print("serial_test: read '{}'\n", static_cast<const char*>(line));
  bool ok = done && length > 0;
  print("{} passed, {} failed\n", ok ? 1 : 0, ok ? 0 : 1);
  return ok ? 0 : 1;
}
