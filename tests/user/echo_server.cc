// echo_server: the IPC test's server. It creates its own endpoint (so the endpoint closes when
// this process dies), sends a send-only handle to it over the bootstrap endpoint it was given,
// then answers calls:
//   label 1 (echo): replies with the same label, words and handles (a run of register-only
//                   echoes, the IPC benchmark's, is answered from registers alone);
//   label 2 (exit): exits with status 5 without replying (the caller must get an error);
//   label 3 (add):  replies with words[0] + words[1] in words[0];
//   label 4 (reverse): replies with the tail reversed;
//   label 5 (slow): sleeps words[0] nanoseconds, then echoes (a caller's deadline may pass);
//   label 6 (where): replies with the index of the CPU it runs on in words[0];
//   label 7 (give):  replies with a new handle to its endpoint, for calls only (one handle word).
// With the argument cpu=N it first pins itself to CPU N (tests/user/latency_bench.cc).
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/syscall.h"
#include "libsys/src/arch/x86_64/cpu.h"

namespace {
constexpr uint32_t kBootstrapRole = EXO_START_HANDLE_USER;

// Echoes register-only label-1 messages (no handles, no tail) straight from the registers they
// came in, starting with `m`, until a message of another kind comes: that one is left in `m`
// and its receive status returned. Keeps the benchmark's server side as short as its client's.
int64_t echo_registers(exo::sys::Handle endpoint, exo::sys::IpcMessage& m, uint8_t* tail) {
  exo::sys::IpcRegisters r = exo::sys::to_registers(m);
  int64_t status;
  do {
    status = exo::sys::ipc_raw_registers(67, endpoint, 0, tail, r);
  } while (status >= 0 && EXO_IPC_TAG_LABEL(r.tag) == 1 && EXO_IPC_TAG_HANDLES(r.tag) == 0 &&
           EXO_IPC_TAG_TAIL(r.tag) == 0);
  exo::sys::from_registers(r, m);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace exo::sys;
  if (argc > 1 && argv[1][0] == 'c' && argv[1][1] == 'p' && argv[1][2] == 'u' && argv[1][3] == '=') {
    uint32_t cpu = 0;
    for (const char* c = argv[1] + 4; *c >= '0' && *c <= '9'; ++c) cpu = cpu * 10 + (*c - '0');
    if (cpu >= 64 || !thread_set_affinity(uint64_t{1} << cpu).ok()) {
      print("echo_server: cannot run on CPU {}\n", cpu);
      return 4;
    }
  }
  Handle bootstrap = start_handle(kBootstrapRole);
  exo::Result<Handle> endpoint = endpoint_create();
  if (bootstrap == kInvalidHandle || !endpoint.ok()) {
    print("echo_server: no bootstrap handle or no endpoint\n");
    return 1;
  }
  exo::Result<Handle> client_copy =
      handle_duplicate(*endpoint, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER | EXO_RIGHT_DUPLICATE);
  IpcMessage hello;
  hello.label = 1;
  hello.word_count = 1;
  hello.handle_count = 1;
  hello.words[0] = client_copy.ok() ? *client_copy : 0;
  if (int64_t s = ipc_send(bootstrap, hello); s < 0) {
    print("echo_server: bootstrap send failed: {}\n", s);
    return 2;
  }
  static uint8_t tail[EXO_IPC_MAX_TAIL];  // tails come in here and go back out from here
  IpcMessage m;
  m.tail = tail;
  int64_t status = ipc_recv(*endpoint, m);
  for (;;) {
    if (status < 0) {
      print("echo_server: receive failed: {}\n", status);
      return 3;
    }
    switch (m.label) {
      case 1:
        if (m.handle_count == 0 && m.tail_length == 0) {
          status = echo_registers(*endpoint, m, tail);
          continue;
        }
        break;  // echo: the message goes back as it came, tail included
      case 2:
        process_exit(5);
      case 3:
        m.words[0] = m.words[0] + m.words[1];
        m.word_count = 1;
        m.handle_count = 0;
        m.tail_length = 0;
        break;
      case 4:
        for (uint16_t i = 0; i < m.tail_length / 2; ++i) {
          uint8_t t = tail[i];
          tail[i] = tail[m.tail_length - 1 - i];
          tail[m.tail_length - 1 - i] = t;
        }
        break;
      case 5:
        (void)sleep(m.words[0]);
        break;
      case 6: {
        uint32_t cpu = 0;
        (void)exo::sys::arch::rdtscp(cpu);
        m.words[0] = cpu;
        m.word_count = 1;
        m.handle_count = 0;
        m.tail_length = 0;
        break;
      }
      case 7: {
        exo::Result<Handle> copy = handle_duplicate(*endpoint, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER);
        m.words[0] = copy.ok() ? *copy : 0;
        m.word_count = 1;
        m.handle_count = copy.ok() ? 1 : 0;
        m.tail_length = 0;
        break;
      }
      default:
        m.label = 0xffffffff;
        m.word_count = 0;
        m.handle_count = 0;
        m.tail_length = 0;
        break;
    }
    m.tail = tail;
    status = ipc_reply_recv(*endpoint, m);
  }
}
