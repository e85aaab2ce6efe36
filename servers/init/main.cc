// init: starts the programs in the initrd's startup.list, then run=NAME, and powers off after it.
#include "exo/elf_loader.h"
#include "exo/heap.h"
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "kernel/loader/cpio.h"
#include "servers/init/command_line.h"

namespace {

using exo::ByteSpan;
using exo::usize;
using exo::sys::Handle;
using exo::sys::print;

using exo::init::kMaxWords;

constexpr const char* kStartupList = "startup.list";
constexpr int kStatusNotStarted = EXO_EXIT_NOT_STARTED;

// Handles a program gets at start, with their roles.
struct StartHandles {
  static constexpr usize kMax = 8;
  Handle handles[kMax];
  uint32_t roles[kMax];
  usize count = 0;
  void add(exo::Result<Handle> handle, uint32_t role) {
    if (handle.ok() && count < kMax) {
      handles[count] = *handle;
      roles[count++] = role;
    }
  }
};

// The console (the serial server's endpoint, write-only) once the server has announced it.
Handle g_console = exo::sys::kInvalidHandle;

// Drivers init knows and the hardware each gets, nothing more (docs/ipc.md): a driver's
// resources are handed over at start, and it announces its endpoint over `bootstrap`.
struct Driver {
  const char* name;
  uint32_t port_base, port_count;
  uint32_t irq;
};
constexpr Driver kDrivers[] = {
    {"serial", 0x3f8, 8, 4},  // COM1
    // COM2, for the interrupt-latency benchmark's driver (tests/user/irq_bench.cc).
    {"irq_bench", 0x2f8, 8, 3},
};

const Driver* driver_named(const char* name) {
  for (const Driver& d : kDrivers) {
    if (strcmp(d.name, name) == 0) return &d;
  }
  return nullptr;
}

// Loads `argv[0]` from the initrd and starts it with `argv`. Every program gets the console;
// a driver its hardware and a bootstrap endpoint; with `give_initrd` (run=NAME), a read-only
// handle to the archive, to start others from.
exo::Result<Handle> start_program(ByteSpan initrd, char** argv, usize argc, bool give_initrd = false,
                                  Handle bootstrap = exo::sys::kInvalidHandle) {
  using namespace exo::sys;
  exo::loader::ParseDiagnostic diag;
  exo::Result<exo::loader::CpioEntry> entry = exo::loader::cpio_find(initrd, argv[0], &diag);
  if (!entry.ok()) {
    print("init: {}: not in the initrd ({})\n", argv[0], entry.error());
    return entry.error();
  }
  if (!exo::loader::cpio_is_regular(*entry)) {
    print("init: {}: not a regular file\n", argv[0]);
    return exo::Error::kWrongType;
  }
  SpawnOptions options;
  options.argv = argv;
  options.argc = argc;
  StartHandles start;
  if (g_console != kInvalidHandle) {
    start.add(handle_duplicate(g_console, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER | EXO_RIGHT_DUPLICATE),
              EXO_START_HANDLE_CONSOLE);
  }
  if (const Driver* driver = driver_named(argv[0]); driver != nullptr) {
    start.add(ioport_create(start_handle(EXO_START_HANDLE_IO_PORTS), driver->port_base,
                            driver->port_count),
              EXO_START_HANDLE_USER + 0);
    start.add(handle_duplicate(start_handle(EXO_START_HANDLE_IRQ_BASE + driver->irq),
                               EXO_RIGHT_WAIT | EXO_RIGHT_TRANSFER),
              EXO_START_HANDLE_USER + 1);
    if (bootstrap != kInvalidHandle) {
      start.add(handle_duplicate(bootstrap, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER),
                EXO_START_HANDLE_USER + 2);
    }
  }
  if (give_initrd) {
    start.add(handle_duplicate(start_handle(EXO_START_HANDLE_INITRD),
                               EXO_RIGHT_READ | EXO_RIGHT_MAP | EXO_RIGHT_TRANSFER | EXO_RIGHT_DUPLICATE),
              EXO_START_HANDLE_INITRD);
    options.initrd_size = initrd.size();
  }
  options.handles = start.handles;
  options.roles = start.roles;
  options.handle_count = start.count;
  exo::Result<Handle> process = spawn(entry->data, options, &diag);
  if (!process.ok() && diag.what[0] != '\0') {
    print("init: {}: cannot start: {} ({} at offset {:#x})\n", argv[0], process.error(), diag.what,
          diag.offset);
  } else if (!process.ok()) {
    print("init: {}: cannot start: {}\n", argv[0], process.error());
  }
  return process;
}

// Starts a driver and waits (up to a second) for it to announce its endpoint.
exo::Result<Handle> start_driver(ByteSpan initrd, char** argv, usize argc) {
  using namespace exo::sys;
  exo::Result<Handle> bootstrap = endpoint_create();
  if (!bootstrap.ok()) return bootstrap.error();
  exo::Result<Handle> process = start_program(initrd, argv, argc, false, *bootstrap);
  Handle announced = kInvalidHandle;
  for (int i = 0; process.ok() && i < 1000 && announced == kInvalidHandle; ++i) {
    IpcMessage hello;
    if (ipc_recv(*bootstrap, hello, EXO_IPC_NONBLOCK) == 0 && hello.handle_count == 1) {
      announced = static_cast<Handle>(hello.words[hello.word_count - 1]);
    } else {
      (void)sleep(1000000);
    }
  }
  (void)handle_close(*bootstrap);
  if (!process.ok()) return process.error();
  if (announced == kInvalidHandle) {
    print("init: {} did not announce an endpoint\n", argv[0]);
    return exo::Error::kTimedOut;
  }
  (void)handle_close(*process);
  return announced;
}

// Starts every program named in startup.list. Lines are "NAME ARGS..."; '#' starts a comment.
void run_startup_list(ByteSpan initrd) {
  exo::Result<exo::loader::CpioEntry> list = exo::loader::cpio_find(initrd, kStartupList, nullptr);
  if (!list.ok()) {
    print("init: no {} in the initrd\n", kStartupList);
    return;
  }
  ByteSpan text = list->data;
  usize line_start = 0;
  while (line_start < text.size()) {
    usize line_end = line_start;
    while (line_end < text.size() && text[line_end] != '\n') ++line_end;
    usize length = line_end - line_start;
    char* line = static_cast<char*>(malloc(length + 1));
    if (line == nullptr) {
      print("init: out of memory reading {}\n", kStartupList);
      return;
    }
    memcpy(line, text.data() + line_start, length);
    line[length] = '\0';
    char* words[kMaxWords + 1];
    usize count = exo::init::split_words(line, words, kMaxWords);
    words[count] = nullptr;
    if (count != 0 && driver_named(words[0]) != nullptr) {
      exo::Result<Handle> endpoint = start_driver(initrd, words, count);
      if (endpoint.ok() && strcmp(words[0], "serial") == 0) {
        // From here on init's own output, and every later program's, goes through the server.
        g_console = *endpoint;
        exo::sys::set_console(g_console);
      }
      if (endpoint.ok()) print("init: started {}\n", words[0]);
    } else if (count != 0) {
      exo::Result<Handle> process = start_program(initrd, words, count);
      if (process.ok()) print("init: started {}\n", words[0]);
    }
    free(line);
    line_start = line_end + 1;
  }
}

}  // namespace

// argv: "init", then the kernel command line split at spaces (docs/syscalls.md).
int main(int argc, char** argv) {
  const ExoStartBlock& block = exo::sys::start_block();
  if (block.initrd_base == 0 || block.initrd_size == 0) {
    print("init: no initrd in the start block\n");
    return 1;
  }
  ByteSpan initrd(reinterpret_cast<const uint8_t*>(block.initrd_base), block.initrd_size);
  exo::loader::ParseDiagnostic diag;
  if (exo::Result<usize> entries = exo::loader::cpio_validate(initrd, &diag); !entries.ok()) {
    print("init: malformed initrd: {} at offset {:#x}\n", diag.what, diag.offset);
    return 1;
  }

  run_startup_list(initrd);

  // run=NAME ARGS...: everything after the run= word belongs to NAME.
  char* run_argv[kMaxWords + 1];
  bool empty_name = false;
  usize run_argc = exo::init::find_run_request(argc, argv, run_argv, kMaxWords, &empty_name);
  if (empty_name) {
    print("init: run= names no program\n");
    exo::sys::debug_shutdown(kStatusNotStarted);
  }
  if (run_argc != 0) {
    run_argv[run_argc] = nullptr;
    exo::Result<Handle> process = start_program(initrd, run_argv, run_argc, true);
    if (!process.ok()) exo::sys::debug_shutdown(kStatusNotStarted);
    exo::Result<int64_t> status = exo::sys::process_wait(*process);
    if (!status.ok()) {
      print("init: waiting for {} failed: {}\n", run_argv[0], status.error());
      exo::sys::debug_shutdown(kStatusNotStarted);
    }
    print("init: {} exited with status {}\n", run_argv[0], *status);
    int64_t reported = *status;
    if (reported < 0 || reported > EXO_EXIT_STATUS_MAX_REPORTABLE) {
      reported = EXO_EXIT_STATUS_MAX_REPORTABLE;
    }
    exo::sys::debug_shutdown(reported);
  }

  // No run=: the system stays up with whatever startup.list started.
  for (;;) (void)exo::sys::sleep(1000000000ull);
}
