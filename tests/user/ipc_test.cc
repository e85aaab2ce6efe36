// ipc_test: synchronous IPC between processes (docs/ipc.md) against echo_server, which it
// starts from the initrd. `ipc_test bench` measures call+reply round trips instead.
#include "exo/initrd.h"
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/proto/ipc_transport.h"
#include "exo/protocols/serial.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "tests/user/user_test.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace {

using exo::sys::Handle;
using exo::sys::IpcMessage;
using exo::sys::print;

using exo::user_test::expect_ok;
using exo::user_test::expect_status;
using exo::user_test::expect_true;
using exo::user_test::Samples;

using Server = exo::user_test::EchoServer;

Server start_server() {
  const char* argv[] = {"echo_server"};
  return exo::user_test::start_echo_server(argv, 1);
}

void test_every_size(Handle endpoint) {
  for (uint8_t words = 0; words <= EXO_IPC_MAX_WORDS; ++words) {
    IpcMessage m;
    m.label = 1;
    m.word_count = words;
    for (uint8_t i = 0; i < words; ++i) m.words[i] = 0x1000ull * (i + 1) + words;
    int64_t s = exo::sys::ipc_call(endpoint, m);
    bool same = s == 0 && m.label == 1 && m.word_count == words && m.handle_count == 0;
    for (uint8_t i = 0; same && i < EXO_IPC_MAX_WORDS; ++i) {
      same = m.words[i] == (i < words ? 0x1000ull * (i + 1) + words : 0);
    }
    expect_true("echo of every message size, words beyond the count zero", same);
  }
  IpcMessage add;
  add.label = 3;
  add.word_count = 2;
  add.words[0] = 40;
  add.words[1] = 2;
  expect_true("the server computes on the words",
              exo::sys::ipc_call(endpoint, add) == 0 && add.words[0] == 42 && add.word_count == 1);
}

// A raw call with every word register set, whatever the count (ipc_raw_registers loads all
// six): the reply must carry exactly the words sent and 0 in every register past the count.
// After the first round trip the echo server waits in the fast path, so this checks the fast
// path's register moves word by word.
bool raw_echo(Handle endpoint, uint8_t words, uint64_t seed) {
  uint64_t tag = EXO_IPC_TAG(1, words, 0);
  exo::sys::IpcRegisters r;
  r.tag = tag;
  for (uint8_t i = 0; i < EXO_IPC_MAX_WORDS; ++i) r.words[i] = seed + i + 1;
  bool same = exo::sys::ipc_raw_registers(64, endpoint, 0, nullptr, r) == 0 && r.tag == tag;
  for (uint8_t i = 0; i < EXO_IPC_MAX_WORDS; ++i) same = same && r.words[i] == (i < words ? seed + i + 1 : 0);
  return same;
}

void test_every_size_raw(Handle endpoint) {
  bool all = true;
  for (int round = 0; round < 3; ++round) {
    for (uint8_t words = 0; words <= EXO_IPC_MAX_WORDS; ++words) {
      all = raw_echo(endpoint, words, 0x5a5a0000ull * (round + 1) + words * 0x100) && all;
    }
  }
  expect_true("every message size through the register fast path, exact words and zeros past them", all);
}

// The fast path remembers each thread's last endpoint lookup; closing the handle must end
// that at once, even though the endpoint itself lives on (the server holds it).
void test_closed_handle_after_fast_calls(Handle endpoint) {
  exo::Result<Handle> copy = exo::sys::handle_duplicate(endpoint, EXO_RIGHT_WRITE);
  if (!copy.ok()) {
    expect_true("a second handle to the server", false);
    return;
  }
  bool all = true;
  for (int i = 0; i < 3; ++i) all = raw_echo(*copy, 2, 0x3300 + i) && all;
  expect_true("fast calls through a second handle", all);
  expect_ok("closing it", exo::sys::raw::handle_close(*copy).status);
  IpcMessage m;
  m.label = 1;
  m.word_count = 1;
  expect_status("a call through the closed handle", exo::sys::ipc_call(*copy, m), EXO_ERR_BAD_HANDLE);
  expect_true("the first handle still calls fast", raw_echo(endpoint, 6, 0x4400));
}

// A caller waits for its reply in the fast path while a second caller queues behind it: the
// server's reply_recv then sees a queued sender and takes the slow path, which must still hand
// the first caller its reply, and the second caller its own.
alignas(16) uint8_t g_slow_caller_stack[16 * 1024];
Handle g_slow_endpoint = 0;
volatile uint32_t g_slow_caller_state = 0;  // 1: calling, 2: right reply, 3: wrong reply
void slow_caller(void*) {
  IpcMessage m;
  m.label = 5;  // the server sleeps words[0] ns before echoing
  m.word_count = 3;
  m.words[0] = 20000000;
  m.words[1] = 0x2222;
  m.words[2] = 0x3333;
  __atomic_store_n(&g_slow_caller_state, 1, __ATOMIC_RELEASE);
  int64_t s = exo::sys::ipc_call(g_slow_endpoint, m);
  bool right = s == 0 && m.label == 5 && m.word_count == 3 && m.words[0] == 20000000 &&
               m.words[1] == 0x2222 && m.words[2] == 0x3333 && m.words[3] == 0;
  __atomic_store_n(&g_slow_caller_state, right ? 2 : 3, __ATOMIC_RELEASE);
}

void test_queued_behind_fast_call(Handle endpoint) {
  g_slow_endpoint = endpoint;
  exo::Result<Handle> t = exo::sys::thread_create(&slow_caller, nullptr, g_slow_caller_stack,
                                                  sizeof(g_slow_caller_stack));
  if (!t.ok()) {
    expect_true("thread for the queued-caller test", false);
    return;
  }
  while (__atomic_load_n(&g_slow_caller_state, __ATOMIC_ACQUIRE) == 0) exo::sys::yield();
  (void)exo::sys::sleep(5000000);  // the first call is with the sleeping server now
  IpcMessage add;
  add.label = 3;
  add.word_count = 2;
  add.words[0] = 1000;
  add.words[1] = 234;
  int64_t s = exo::sys::ipc_call(endpoint, add);
  expect_true("a caller queued behind a fast-path call gets its own answer",
              s == 0 && add.word_count == 1 && add.words[0] == 1234 && add.words[1] == 0);
  while (__atomic_load_n(&g_slow_caller_state, __ATOMIC_ACQUIRE) == 1) (void)exo::sys::sleep(1000000);
  expect_true("the fast-path caller gets its reply from the slow path (a sender was queued)",
              __atomic_load_n(&g_slow_caller_state, __ATOMIC_ACQUIRE) == 2);
  (void)exo::sys::handle_close(*t);
}

// `ipc_test kill_child`: a thread calls the slow echo, and the process exits while that call
// waits for its reply, so the waiting caller is killed.
alignas(16) uint8_t g_doomed_stack[16 * 1024];
void doomed_caller(void*) {
  IpcMessage m;
  m.label = 5;  // the server sleeps 20 ms before echoing
  m.word_count = 1;
  m.words[0] = 20000000;
  (void)exo::sys::ipc_call(g_slow_endpoint, m);
  exo::sys::process_exit(1);  // never reached: the process is gone first
}

[[noreturn]] void kill_child() {
  g_slow_endpoint = exo::sys::start_handle(EXO_START_HANDLE_USER);
  IpcMessage warm;  // puts the server in its fast-path wait
  warm.label = 1;
  (void)exo::sys::ipc_call(g_slow_endpoint, warm);
  (void)exo::sys::thread_create(&doomed_caller, nullptr, g_doomed_stack, sizeof(g_doomed_stack));
  (void)exo::sys::sleep(5000000);
  exo::sys::process_exit(9);
}

void test_kill_during_call(Handle endpoint) {
  exo::Result<Handle> copy = exo::sys::handle_duplicate(endpoint, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER);
  if (!copy.ok()) {
    expect_true("endpoint copy for the kill test", false);
    return;
  }
  const char* argv[] = {"ipc_test", "kill_child"};
  exo::Result<Handle> child = exo::user_test::spawn_with_user_handle(argv, 2, *copy);
  expect_true("the child that is killed mid-call starts", child.ok());
  if (!child.ok()) return;
  exo::Result<int64_t> status = exo::sys::process_wait(*child);
  expect_true("the child exited with 9 while its call waited", status.ok() && *status == 9);
  (void)exo::sys::handle_close(*child);
  // The server finds its caller gone when it replies; it must go on serving, and fast.
  bool all = true;
  for (uint8_t words = 0; words <= EXO_IPC_MAX_WORDS; ++words) all = raw_echo(endpoint, words, 0x77000) && all;
  expect_true("the server serves on after its caller was killed", all);
}

// A register-only call parks the caller in the fast path; the reply carries a handle, so it
// comes through the generic path, which wakes the parked caller through a switch: the caller
// must then write the message out and install the handle as a slow receive does.
void test_slow_reply_to_parked_caller(Handle endpoint) {
  bool all = true;
  for (int i = 0; i < 3; ++i) {
    all = raw_echo(endpoint, 1, 0x6600 + i) && all;  // the server waits parked now
    IpcMessage give;
    give.label = 7;
    int64_t s = exo::sys::ipc_call(endpoint, give);
    all = all && s == 0 && give.label == 7 && give.word_count == 1 && give.handle_count == 1;
    if (!all) break;
    auto received = static_cast<Handle>(give.words[0]);
    all = raw_echo(received, 3, 0x6700 + i) && all;  // the handle works, and calls fast
    all = exo::sys::raw::handle_close(received).status == 0 && all;
  }
  expect_true("a parked caller gets a reply with a handle from the generic path", all);
}

// A tail (bytes beyond the six words) travels from buffer to buffer, up to 4 KiB.
uint8_t g_tail[EXO_IPC_MAX_TAIL];
void test_tails(Handle endpoint) {
  const uint16_t lengths[] = {1, 100, EXO_IPC_MAX_TAIL};
  for (uint16_t length : lengths) {
    for (uint16_t i = 0; i < length; ++i) g_tail[i] = static_cast<uint8_t>(i * 7 + length);
    IpcMessage m;
    m.label = 4;  // the server reverses the tail
    m.word_count = 1;
    m.words[0] = length;
    m.flags = 0xa5;
    m.tail_length = length;
    m.tail = g_tail;
    int64_t s = exo::sys::ipc_call(endpoint, m);
    bool same = s == 0 && m.tail_length == length && m.flags == 0xa5;
    for (uint16_t i = 0; same && i < length; ++i) {
      same = g_tail[length - 1 - i] == static_cast<uint8_t>(i * 7 + length);
    }
    expect_true("a tail reaches the server and its answer comes back, with the flags", same);
  }
  IpcMessage big;
  big.label = 1;
  big.tail_length = EXO_IPC_MAX_TAIL + 1;
  big.tail = g_tail;
  expect_status("a tail over 4 KiB", exo::sys::ipc_call(endpoint, big), EXO_ERR_INVALID_ARGUMENT);
  IpcMessage unmapped;
  unmapped.label = 1;
  unmapped.tail_length = 64;
  unmapped.tail = reinterpret_cast<void*>(0x100000000000ull);
  expect_status("a tail from unmapped memory", exo::sys::ipc_call(endpoint, unmapped), EXO_ERR_FAULT);
  IpcMessage kernel;
  kernel.label = 1;
  kernel.tail_length = 64;
  kernel.tail = reinterpret_cast<void*>(0xffffffff80100000ull);
  expect_status("a tail from kernel memory", exo::sys::ipc_call(endpoint, kernel), EXO_ERR_FAULT);
}

void test_handle_transfer(Handle endpoint) {
  exo::Result<Handle> object = exo::sys::memory_object_create(EXO_PAGE_SIZE);
  if (!object.ok()) return;
  IpcMessage m;
  m.label = 1;
  m.word_count = 2;
  m.handle_count = 1;
  m.words[0] = 77;
  m.words[1] = *object;
  int64_t s = exo::sys::ipc_call(endpoint, m);
  expect_status("call carrying a handle", s, 0);
  expect_true("the handle came back as a handle", m.handle_count == 1 && m.words[0] == 77);
  expect_status("the sent handle left the sender", exo::sys::raw::handle_close(*object).status,
                EXO_ERR_BAD_HANDLE);
  Handle back = static_cast<Handle>(m.words[1]);
  exo::Result<uint64_t> mapped = exo::sys::memory_object_map(exo::sys::kSelf, back, 0, 0, EXO_PAGE_SIZE,
                                                             EXO_PROT_READ | EXO_PROT_WRITE);
  expect_true("the returned handle names the memory object", mapped.ok());
  if (mapped.ok()) (void)exo::sys::vm_unmap(reinterpret_cast<void*>(*mapped), EXO_PAGE_SIZE);
  (void)exo::sys::handle_close(back);
}

void test_bad_input(Handle endpoint) {
  IpcMessage m;
  m.label = 1;
  expect_status("call on a bad handle", exo::sys::ipc_call(0x7ffffffe, m), EXO_ERR_BAD_HANDLE);
  exo::Result<Handle> object = exo::sys::memory_object_create(EXO_PAGE_SIZE);
  m = IpcMessage{};
  expect_status("call on a memory object", exo::sys::ipc_call(*object, m), EXO_ERR_WRONG_TYPE);
  exo::Result<Handle> receive_only = exo::sys::handle_duplicate(endpoint, EXO_RIGHT_READ);
  // The client's copy has no read right, so it cannot make a receive-only one either.
  expect_true("no rights can be added by duplication", !receive_only.ok());
  exo::Result<Handle> no_transfer = exo::sys::handle_duplicate(*object, EXO_RIGHT_READ | EXO_RIGHT_MAP);
  m = IpcMessage{};
  m.label = 1;
  m.word_count = 1;
  m.handle_count = 1;
  m.words[0] = no_transfer.ok() ? *no_transfer : 0;
  expect_status("sending a handle without the transfer right", exo::sys::ipc_call(endpoint, m),
                EXO_ERR_ACCESS_DENIED);
  m = IpcMessage{};
  m.label = 1;
  m.word_count = 1;
  m.handle_count = 1;
  m.words[0] = 0x12345;
  expect_status("sending a forged handle", exo::sys::ipc_call(endpoint, m), EXO_ERR_BAD_HANDLE);
  m = IpcMessage{};
  m.word_count = 7;
  expect_status("seven words", exo::sys::ipc_call(endpoint, m), EXO_ERR_INVALID_ARGUMENT);
  m = IpcMessage{};
  m.word_count = 1;
  m.handle_count = 2;
  expect_status("more handles than words", exo::sys::ipc_call(endpoint, m), EXO_ERR_INVALID_ARGUMENT);
  m = IpcMessage{};
  expect_status("receiving on a send-only handle", exo::sys::ipc_recv(endpoint, m),
                EXO_ERR_ACCESS_DENIED);
  expect_status("unknown IPC option", exo::sys::ipc_raw(64, endpoint, 0x10, m), EXO_ERR_INVALID_ARGUMENT);
  if (no_transfer.ok()) (void)exo::sys::handle_close(*no_transfer);
  (void)exo::sys::handle_close(*object);
}

void test_nonblocking() {
  exo::Result<Handle> lonely = exo::sys::endpoint_create();
  IpcMessage m;
  expect_status("non-blocking receive with no sender", exo::sys::ipc_recv(*lonely, m, EXO_IPC_NONBLOCK),
                EXO_ERR_WOULD_BLOCK);
  m = IpcMessage{};
  expect_status("non-blocking call with no receiver", exo::sys::ipc_call(*lonely, m, EXO_IPC_NONBLOCK),
                EXO_ERR_WOULD_BLOCK);
  (void)exo::sys::handle_close(*lonely);
}

uint64_t now_ns() { return static_cast<uint64_t>(exo::sys::raw::clock_get(EXO_CLOCK_MONOTONIC).status); }

// Finite timeouts (EXO_IPC_DEADLINE): each wait gives up with EXO_ERR_TIMED_OUT once the deadline
// has passed, never before, and leaves nothing behind: handles come back, a late reply reaches
// nobody, a later call gets its own reply.
constexpr uint64_t kTimeoutNs = 20'000'000;
void test_timeouts(Server& server) {
  exo::Result<Handle> lonely = exo::sys::endpoint_create();
  if (!lonely.ok()) return;
  IpcMessage m;
  uint64_t start = now_ns();
  int64_t s = exo::sys::ipc_recv(*lonely, m, EXO_IPC_DEADLINE, start + kTimeoutNs);
  uint64_t waited = now_ns() - start;
  expect_status("a receive nobody sends to times out", s, EXO_ERR_TIMED_OUT);
  expect_true("...not before its deadline", waited >= kTimeoutNs);

  exo::Result<Handle> object = exo::sys::memory_object_create(EXO_PAGE_SIZE);
  m = IpcMessage{};
  m.label = 1;
  m.word_count = 1;
  m.handle_count = 1;
  m.words[0] = object.ok() ? *object : 0;
  start = now_ns();
  s = exo::sys::ipc_call(*lonely, m, EXO_IPC_DEADLINE, start + kTimeoutNs);
  waited = now_ns() - start;
  expect_status("a call nobody receives times out", s, EXO_ERR_TIMED_OUT);
  expect_true("...not before its deadline", waited >= kTimeoutNs);
  expect_true("...and the handle it carried stays with the caller",
              object.ok() && exo::sys::handle_duplicate(*object, EXO_RIGHT_READ).ok());

  m = IpcMessage{};
  expect_status("a deadline already past times out at once",
                exo::sys::ipc_recv(*lonely, m, EXO_IPC_DEADLINE, 1), EXO_ERR_TIMED_OUT);
  expect_status("a deadline of 0 is long past: timed out, not would-block",
                exo::sys::ipc_recv(*lonely, m, EXO_IPC_DEADLINE, 0), EXO_ERR_TIMED_OUT);
  expect_status("a deadline and no-wait at once",
                exo::sys::ipc_recv(*lonely, m, EXO_IPC_DEADLINE | EXO_IPC_NONBLOCK, 1),
                EXO_ERR_INVALID_ARGUMENT);

  // The server takes the message and answers after the caller's deadline.
  m = IpcMessage{};
  m.label = 5;
  m.word_count = 1;
  m.words[0] = 3 * kTimeoutNs;
  start = now_ns();
  s = exo::sys::ipc_call(server.endpoint, m, EXO_IPC_DEADLINE, start + kTimeoutNs);
  waited = now_ns() - start;
  expect_status("a call whose reply comes too late times out", s, EXO_ERR_TIMED_OUT);
  expect_true("...not before its deadline, and without waiting for the reply",
              waited >= kTimeoutNs && waited < 3 * kTimeoutNs);
  m = IpcMessage{};
  m.label = 1;
  m.word_count = 1;
  m.words[0] = 0xfeed;
  s = exo::sys::ipc_call(server.endpoint, m);
  expect_true("the next call gets its own reply, not the late one",
              s == 0 && m.label == 1 && m.word_count == 1 && m.words[0] == 0xfeed);
  m = IpcMessage{};
  m.label = 5;
  m.word_count = 1;
  m.words[0] = 1'000'000;
  s = exo::sys::ipc_call(server.endpoint, m, EXO_IPC_DEADLINE, now_ns() + 10'000'000'000ull);
  expect_true("a reply before the deadline arrives", s == 0 && m.label == 5);

  exo::Result<Handle> n = exo::sys::notification_create();
  if (n.ok()) {
    start = now_ns();
    exo::Result<uint64_t> bits = exo::sys::notification_wait(*n, EXO_IPC_DEADLINE, start + kTimeoutNs);
    waited = now_ns() - start;
    expect_true("a notification wait times out, not before its deadline",
                !bits.ok() && bits.error() == exo::Error::kTimedOut && waited >= kTimeoutNs);
    (void)exo::sys::notification_signal(*n, 0x4);
    exo::Result<uint64_t> early = exo::sys::notification_wait(*n, EXO_IPC_DEADLINE, now_ns() + kTimeoutNs);
    expect_true("bits already there come back before the deadline", early.ok() && *early == 0x4);
    (void)exo::sys::handle_close(*n);
  }
  start = now_ns();
  exo::Result<int64_t> status = exo::sys::process_wait(server.process, start + kTimeoutNs);
  waited = now_ns() - start;
  expect_true("process_wait on a live process times out, not before its deadline",
              !status.ok() && status.error() == exo::Error::kTimedOut && waited >= kTimeoutNs);
  if (object.ok()) (void)exo::sys::handle_close(*object);
  (void)exo::sys::handle_close(*lonely);
}

// A receive with a deadline woken by a sender before it: the message, not a timeout.
Handle g_timed_endpoint = 0;
alignas(16) uint8_t g_late_sender_stack[16 * 1024];
void late_sender(void*) {
  (void)exo::sys::sleep(5'000'000);
  IpcMessage m;
  m.label = 77;
  m.word_count = 1;
  m.words[0] = 0x1234;
  (void)exo::sys::ipc_send(g_timed_endpoint, m);
}

void test_woken_before_deadline() {
  exo::Result<Handle> e = exo::sys::endpoint_create();
  if (!e.ok()) return;
  g_timed_endpoint = *e;
  exo::Result<Handle> t = exo::sys::thread_create(&late_sender, nullptr, g_late_sender_stack,
                                                  sizeof(g_late_sender_stack));
  IpcMessage m;
  int64_t s = exo::sys::ipc_recv(*e, m, EXO_IPC_DEADLINE, now_ns() + 10'000'000'000ull);
  expect_true("a message before the deadline ends a timed receive",
              s == 0 && m.label == 77 && m.words[0] == 0x1234);
  if (t.ok()) (void)exo::sys::handle_close(*t);
  (void)exo::sys::handle_close(*e);
}

// Senders queue by priority, FIFO within one: three senders queue in rising order of arrival
// and falling urgency is how they must be served.
constexpr int kPrioritySenders = 3;
constexpr uint32_t kSenderPriorities[kPrioritySenders] = {4, 12, 20};  // the order they queue in
Handle g_priority_endpoint = 0;
volatile uint32_t g_priority_ready = 0;
alignas(16) uint8_t g_priority_stacks[kPrioritySenders][16 * 1024];
void priority_sender(void* argument) {
  auto priority = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(argument));
  (void)exo::sys::thread_set_priority(priority);
  __atomic_add_fetch(&g_priority_ready, 1, __ATOMIC_ACQ_REL);
  IpcMessage m;
  m.label = priority;
  (void)exo::sys::ipc_send(g_priority_endpoint, m);
}

void test_priority_order() {
  exo::Result<Handle> e = exo::sys::endpoint_create();
  if (!e.ok()) return;
  g_priority_endpoint = *e;
  for (int i = 0; i < kPrioritySenders; ++i) {
    uint32_t before = __atomic_load_n(&g_priority_ready, __ATOMIC_ACQUIRE);
    exo::Result<Handle> t = exo::sys::thread_create(
        &priority_sender, reinterpret_cast<void*>(uintptr_t(kSenderPriorities[i])), g_priority_stacks[i],
        sizeof(g_priority_stacks[i]));
    if (!t.ok()) return;
    (void)exo::sys::handle_close(*t);
    // One at a time, so they queue in the order started.
    while (__atomic_load_n(&g_priority_ready, __ATOMIC_ACQUIRE) == before) (void)exo::sys::sleep(1'000'000);
    (void)exo::sys::sleep(20'000'000);
  }
  uint32_t order[kPrioritySenders] = {};
  for (int i = 0; i < kPrioritySenders; ++i) {
    IpcMessage m;
    if (exo::sys::ipc_recv(*e, m) == 0) order[i] = m.label;
  }
  print("ipc_test: senders served in the order of priorities {} {} {}\n", order[0], order[1], order[2]);
  expect_true("queued senders are served most urgent first", order[0] == 20 && order[1] == 12 && order[2] == 4);
  (void)exo::sys::handle_close(*e);
}

// Several threads call the server at once; each checks every reply is its own.
constexpr int kClients = 4;
constexpr int kCallsEach = 300;
volatile uint32_t g_clients_done = 0;
volatile uint32_t g_clients_ok = 0;
Handle g_endpoint = 0;
alignas(16) uint8_t g_stacks[kClients][16 * 1024];

void client(void* argument) {
  auto id = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(argument));
  bool ok = true;
  for (int i = 0; ok && i < kCallsEach; ++i) {
    IpcMessage m;
    m.label = 3;
    m.word_count = 2;
    m.words[0] = id << 32;
    m.words[1] = static_cast<uint64_t>(i);
    ok = exo::sys::ipc_call(g_endpoint, m) == 0 && m.words[0] == ((id << 32) + i);
  }
  if (ok) __atomic_add_fetch(&g_clients_ok, 1, __ATOMIC_ACQ_REL);
  __atomic_add_fetch(&g_clients_done, 1, __ATOMIC_ACQ_REL);
}

void test_concurrent_clients(Handle endpoint) {
  g_endpoint = endpoint;
  for (int c = 0; c < kClients; ++c) {
    exo::Result<Handle> t = exo::sys::thread_create(&client, reinterpret_cast<void*>(uintptr_t(c + 1)),
                                                    g_stacks[c], sizeof(g_stacks[c]));
    if (!t.ok()) {
      __atomic_add_fetch(&g_clients_done, 1, __ATOMIC_ACQ_REL);
    } else {
      (void)exo::sys::handle_close(*t);
    }
  }
  while (__atomic_load_n(&g_clients_done, __ATOMIC_ACQUIRE) < kClients) (void)exo::sys::sleep(1000000);
  expect_true("several clients at once, every reply to its own caller",
              __atomic_load_n(&g_clients_ok, __ATOMIC_ACQUIRE) == kClients);
}

// A notification: bits from another thread wake a waiter; wait takes them all and clears.
Handle g_notification = 0;
alignas(16) uint8_t g_signaller_stack[16 * 1024];
void signaller(void*) {
  (void)exo::sys::sleep(2000000);
  (void)exo::sys::notification_signal(g_notification, 0x5);
  (void)exo::sys::notification_signal(g_notification, 0x100);
}

void test_notifications() {
  exo::Result<Handle> n = exo::sys::notification_create();
  expect_true("notification_create", n.ok());
  if (!n.ok()) return;
  g_notification = *n;
  exo::Result<uint64_t> none = exo::sys::notification_wait(*n, EXO_IPC_NONBLOCK);
  expect_true("non-blocking wait on no bits", !none.ok() && none.error() == exo::Error::kWouldBlock);
  exo::Result<Handle> t = exo::sys::thread_create(&signaller, nullptr, g_signaller_stack,
                                                  sizeof(g_signaller_stack));
  exo::Result<uint64_t> bits = exo::sys::notification_wait(*n);
  uint64_t seen = bits.ok() ? *bits : 0;
  if (bits.ok() && seen != 0x105) {
    exo::Result<uint64_t> more = exo::sys::notification_wait(*n);  // the second signal came later
    if (more.ok()) seen |= *more;
  }
  expect_true("a signal from another thread wakes the waiter with its bits", seen == 0x105);
  (void)exo::sys::notification_signal(*n, 0x8000000000000000ull);
  exo::Result<uint64_t> top = exo::sys::notification_wait(*n);
  expect_true("bit 63 arrives (bits come back in rdx, not the status)",
              top.ok() && *top == 0x8000000000000000ull);
  exo::Result<Handle> wait_only = exo::sys::handle_duplicate(*n, EXO_RIGHT_WAIT);
  expect_true("signal needs the signal right",
              wait_only.ok() && !exo::sys::notification_signal(*wait_only, 1).ok());
  expect_status("notification_wait on an endpoint", exo::sys::raw::notification_wait(g_endpoint, 0, 0).status,
                EXO_ERR_WRONG_TYPE);
  if (t.ok()) (void)exo::sys::handle_close(*t);
  if (wait_only.ok()) (void)exo::sys::handle_close(*wait_only);
  (void)exo::sys::handle_close(*n);
}

// An IPC call with a raw tag: options and tail pinned to 0, so only the tag can be refused.
int64_t call_with_tag(Handle endpoint, uint64_t tag) {
  exo::sys::IpcRegisters r;
  r.tag = tag;
  return exo::sys::ipc_raw_registers(64, endpoint, 0, nullptr, r);
}

// The argument checks of the handle, notification, endpoint and device syscalls: each bad
// value is refused with its own status and changes nothing.
void test_bad_arguments(Handle endpoint) {
  namespace raw = exo::sys::raw;
  expect_status("a tag with a reserved bit", call_with_tag(endpoint, EXO_IPC_TAG(1, 0, 0) | (1ull << 60)),
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("endpoint_create with an option", raw::endpoint_create(1).status, EXO_ERR_INVALID_ARGUMENT);
  expect_status("notification_create with an option", raw::notification_create(1).status,
                EXO_ERR_INVALID_ARGUMENT);
  exo::Result<Handle> n = exo::sys::notification_create();
  if (!n.ok()) return;
  expect_status("notification_wait with an unknown option", raw::notification_wait(*n, 0x4, 0).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("notification_wait with both a deadline and no wait",
                raw::notification_wait(*n, EXO_IPC_NONBLOCK | EXO_IPC_DEADLINE, 0).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("thread_set_priority 0 (the idle level)", raw::thread_set_priority(0).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("thread_set_priority above the user range",
                raw::thread_set_priority(EXO_PRIORITY_MAX_USER + 1).status, EXO_ERR_INVALID_ARGUMENT);
  expect_status("handle_duplicate with an undefined right", raw::handle_duplicate(*n, 1u << 20).status,
                EXO_ERR_INVALID_ARGUMENT);
  expect_status("handle_duplicate of a forged handle", raw::handle_duplicate(0x12345, EXO_RIGHT_WAIT).status,
                EXO_ERR_BAD_HANDLE);
  expect_status("handle_info of a forged handle", raw::handle_info(0x12345).status, EXO_ERR_BAD_HANDLE);
  raw::Return info = raw::handle_info(*n);
  expect_true("handle_info names a notification and its rights",
              info.status >= 0 && (static_cast<uint64_t>(info.status) >> 32) == EXO_OBJECT_NOTIFICATION &&
                  (static_cast<uint64_t>(info.status) & (EXO_RIGHT_SIGNAL | EXO_RIGHT_WAIT)) ==
                      (EXO_RIGHT_SIGNAL | EXO_RIGHT_WAIT));
  expect_status("ioport_enable of a forged handle", raw::ioport_enable(0x12345).status, EXO_ERR_BAD_HANDLE);
  expect_status("ioport_enable of a notification", raw::ioport_enable(*n).status, EXO_ERR_WRONG_TYPE);
  expect_status("ioport_create from a notification", raw::ioport_create(*n, 0x3f8, 8).status,
                EXO_ERR_WRONG_TYPE);
  expect_status("irq_bind of a notification as the line", raw::irq_bind(*n, *n, 1).status,
                EXO_ERR_WRONG_TYPE);
  expect_status("irq_ack of a forged handle", raw::irq_ack(0x12345).status, EXO_ERR_BAD_HANDLE);
  expect_status("a handle argument with high bits", raw::handle_info(1ull << 40).status,
                EXO_ERR_INVALID_ARGUMENT);
  (void)exo::sys::handle_close(*n);
}

void test_server_dies(Server& server) {
  IpcMessage m;
  m.label = 2;  // the server exits without replying
  expect_status("a call whose server exits gets an error", exo::sys::ipc_call(server.endpoint, m),
                EXO_ERR_PEER_CLOSED);
  exo::Result<int64_t> status = exo::sys::process_wait(server.process);
  expect_true("the server exited with 5", status.ok() && *status == 5);
  m = IpcMessage{};
  m.label = 1;
  expect_status("a call to a dead server's endpoint", exo::sys::ipc_call(server.endpoint, m),
                EXO_ERR_PEER_CLOSED);
}

// Round trips, one sample per `per_sample`: median and 99th percentile per round trip. Both
// sides use the register-only wrappers (the server's echo_registers), so the figure is the
// kernel's path plus the least user code a call and a reply need.
void bench(Handle endpoint, int per_sample) {
  Samples<100> samples;
  samples.run(per_sample, [&](int i) {
    exo::sys::IpcRegisters r;
    r.tag = EXO_IPC_TAG(1, 2, 0);
    r.words[0] = static_cast<uint64_t>(i);
    r.words[1] = 0;
    (void)exo::sys::ipc_call_registers(endpoint, r, 2);
  });
  print("bench ipc_call_reply: median {} cycles, p99 {} cycles per round trip ({} round "
        "trips, 2 words, echo_server)\n", samples.median(), samples.p99(), 100 * per_sample);
}

// Notification ping-pong between two threads: A signals `ping` and waits on `pong`, B the
// other way round. Half a round trip is one signal-to-wake latency.
Handle g_ping = 0, g_pong = 0;
alignas(16) uint8_t g_ponger_stack[16 * 1024];
constexpr int kPings = 20000;
void ponger(void*) {
  for (int i = 0; i < kPings; ++i) {
    (void)exo::sys::notification_wait(g_ping);
    (void)exo::sys::notification_signal(g_pong, 1);
  }
}

void bench_notifications() {
  g_ping = exo::sys::notification_create().value_or(0);
  g_pong = exo::sys::notification_create().value_or(0);
  if (!exo::sys::thread_create(&ponger, nullptr, g_ponger_stack, sizeof(g_ponger_stack)).ok()) return;
  Samples<100> samples;
  samples.run(kPings / 100, [](int) {
    (void)exo::sys::notification_signal(g_ping, 1);
    (void)exo::sys::notification_wait(g_pong);
  });
  print("bench notification_signal_to_wake: median {} cycles, p99 {} cycles ({} signals, two "
        "threads of one process)\n", samples.median() / 2, samples.p99() / 2, 2 * kPings);
}

// The generated layer's cost: serial.get_config() through the generated client, the kernel
// IPC transport and the serial server's generated dispatcher, next to the raw round trip.
void bench_typed_call() {
  Handle console = exo::sys::start_handle(EXO_START_HANDLE_CONSOLE);
  if (console == exo::sys::kInvalidHandle) return;
  static exo::proto::IpcTransport transport(console);
  static exo::protocols::serial::SerialClient client(transport);
  Samples<100> samples;
  samples.run(1000, [](int) { (void)client.get_config(); });
  print("bench typed_call_get_config: median {} cycles, p99 {} cycles per round trip (100000 "
        "calls, generated serial client to the serial server)\n", samples.median(), samples.p99());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "kill_child") == 0) kill_child();
  Server server = start_server();
  if (server.endpoint == 0) {
    print("ipc_test: no server\n0 passed, 1 failed\n");
    return 1;
  }
  if (argc > 1 && strcmp(argv[1], "bench") == 0) {
    // `bench N`: N round trips per sample (1,000 by default), e.g. fewer for a profile run.
    int per_sample = 1000;
    if (argc > 2) per_sample = exo::max(1, static_cast<int>(exo::user_test::parse_count(argv[2])));
    bench(server.endpoint, per_sample);
    if (argc > 2) {
      IpcMessage stop;
      stop.label = 2;
      (void)exo::sys::ipc_call(server.endpoint, stop);
      return 0;
    }
    bench_typed_call();
    bench_notifications();
    IpcMessage stop;
    stop.label = 2;
    (void)exo::sys::ipc_call(server.endpoint, stop);
    return 0;
  }
  test_every_size(server.endpoint);
  test_every_size_raw(server.endpoint);
  test_closed_handle_after_fast_calls(server.endpoint);
  test_queued_behind_fast_call(server.endpoint);
  test_kill_during_call(server.endpoint);
  test_slow_reply_to_parked_caller(server.endpoint);
  test_tails(server.endpoint);
  test_handle_transfer(server.endpoint);
  test_bad_input(server.endpoint);
  test_nonblocking();
  test_concurrent_clients(server.endpoint);
  test_notifications();
  test_bad_arguments(server.endpoint);
  test_timeouts(server);
  test_woken_before_deadline();
  test_priority_order();
  test_server_dies(server);
  return exo::user_test::finish();
}
