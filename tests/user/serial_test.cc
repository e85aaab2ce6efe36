// serial_test: input typed on the serial port reaches a client of the serial server, through
// the generated `serial` protocol over kernel IPC. It subscribes a notification, asks for a
// line, waits for the interrupt-driven input and prints what it read. On the way it writes a line
// with the one-way write_async, which travels over the server's shared-memory ring. Run by the harness with
// --input (tests/qemu/meson.build).
#include "exo/print.h"
#include "exo/proto/ipc_transport.h"
#include "exo/protocols/serial.h"
#include "exo/syscall.h"


int main(int, char**) {
  using namespace exo::sys;
  namespace serial = exo::protocols::serial;
  Handle console = start_handle(EXO_START_HANDLE_CONSOLE);
  exo::Result<Handle> input = notification_create();
  if (console == kInvalidHandle || !input.ok()) {
    print("serial_test: no console (is the serial server running?)\n0 passed, 1 failed\n");
    return 1;
  }
  static exo::proto::IpcTransport transport(console);
  static serial::SerialClient client(transport);
  exo::Result<Handle> for_server = handle_duplicate(*input, EXO_RIGHT_SIGNAL | EXO_RIGHT_TRANSFER);
  auto subscribed = client.subscribe(exo::proto::Handle{for_server.value_or(0)});
  if (!subscribed.ok()) {
    print("serial_test: subscribe refused\n0 passed, 1 failed\n");
    return 1;
  }
  auto config = client.get_config();
  bool config_ok = config.ok() && config->config.baud == 115200 && config->config.data_bits == 8;
  // One-way: through the server's MPSC ring, and out before the next (synchronous) print.
  bool async_ok = client.write_async("serial_test: one-way over the ring\n").ok() &&
                  transport.ring() != nullptr;
  print("serial_test: type a line\n");
  char line[128];
  exo::usize length = 0;
  bool done = false;
  while (!done && length < sizeof(line) - 1) {
    auto read = client.read(64, 0);
    if (!read.ok()) break;
    if (read->data.size == 0) {
      (void)notification_wait(*input);  // the server signals when input arrives
      continue;
    }
    for (exo::usize i = 0; i < read->data.size && !done; ++i) {
      char c = static_cast<char>(read->data.data[i]);
      if (c == '\r' || c == '\n') {
        done = true;
      } else if (length < sizeof(line) - 1) {
        line[length++] = c;
      }
    }
  }
  line[length] = '\0';
  print("serial_test: read '{}'\n", static_cast<const char*>(line));
  int passed = (done && length > 0 ? 1 : 0) + (config_ok ? 1 : 0) + (async_ok ? 1 : 0);
  print("{} passed, {} failed\n", passed, 3 - passed);
  return passed == 3 ? 0 : 1;
}
