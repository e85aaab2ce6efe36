// latency_bench: one latency per operation, as median and 99th percentile (docs/benchmarks.md,
// "IPC"): the IPC call+reply round trip with client and echo_server on one CPU or on two, and
// notification signal to wake with the waiter on the signaller's CPU or another.
//   latency_bench [ipc_same|ipc_cross|notify_same|notify_cross|same|cross|all] [N]
// N samples per figure (100,000 by default); `same` is both one-CPU figures, `cross` both
// two-CPU ones. It checks its own work (every reply, the CPU each side ran on) and ends with
// "N passed, N failed"; the cross modes need two CPUs (-smp 2). The one-CPU figures are taken
// with -smp 1: under -icount a second, idle vCPU adds its own work to the count
// (docs/benchmarks.md).
#include "exo/initrd.h"
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "libsys/src/arch/x86_64/cpu.h"
#include "tests/user/user_test.h"

namespace {

using exo::sys::Handle;
using exo::sys::IpcMessage;
using exo::sys::print;
using exo::user_test::expect_true;

constexpr int kMaxSamples = 100000;
exo::user_test::LatencySamples<kMaxSamples> g_samples;

uint64_t mask_of(uint32_t cpu) {
  return uint64_t{1} << cpu;
}

uint32_t current_cpu() {
  uint32_t cpu = 0;
  (void)exo::sys::arch::rdtscp(cpu);
  return cpu;
}

// Prints the distribution in g_samples (sorted here) and the TSC rate over the run, so the
// cycles convert to nanoseconds in wall-clock runs (under -icount a cycle is an instruction).
void report(const char* name, const char* what, uint64_t start_ns, uint64_t start_tsc) {
  uint64_t ns = exo::sys::clock_get().value_or(start_ns) - start_ns;
  uint64_t cycles = exo::user_test::rdtsc() - start_tsc;
  uint64_t khz = ns != 0 ? cycles * 1000000 / ns : 0;
  g_samples.sort();
  auto to_ns = [khz](uint64_t c) { return khz != 0 ? c * 1000000 / khz : 0; };
  print(
      "bench {}: median {} cycles, p99 {} cycles, min {}, max {} ({} samples; {}) "
      "= median {} ns, p99 {} ns at {} kHz\n",
      name, g_samples.median(), g_samples.p99(), g_samples.min(), g_samples.max(), g_samples.count,
      what, to_ns(g_samples.median()), to_ns(g_samples.p99()), khz);
}

// ---- IPC call + reply -----------------------------------------------------------------------

using Server = exo::user_test::EchoServer;

// Starts echo_server pinned to `cpu`.
Server start_server(uint32_t cpu) {
  char pin[16] = "cpu=";
  pin[4] = static_cast<char>('0' + cpu);  // CPUs 0..9 are enough here
  const char* argv[] = {"echo_server", pin};
  return exo::user_test::start_echo_server(argv, 2);
}

// Round trips of a 2-word echo, client on CPU 0 and server on `server_cpu`, each timed alone.
void bench_ipc(const char* name, uint32_t server_cpu, int samples) {
  Server server = start_server(server_cpu);
  expect_true("echo_server started and announced its endpoint", server.endpoint != 0);
  if (server.endpoint == 0) return;
  IpcMessage where;
  where.label = 6;
  bool placed = exo::sys::ipc_call(server.endpoint, where) == 0 && where.words[0] == server_cpu;
  expect_true("echo_server runs on the CPU it pinned itself to", placed);
  g_samples.count = 0;
  uint64_t wrong_replies = 0, moved = 0;
  uint64_t start_ns = exo::sys::clock_get().value_or(0);
  uint64_t start_tsc = exo::user_test::rdtsc();
  for (int i = -100; i < samples; ++i) {  // 100 unrecorded round trips warm the caches first
    IpcMessage m;
    m.label = 1;
    m.word_count = 2;
    m.words[0] = static_cast<uint64_t>(i);
    m.words[1] = ~static_cast<uint64_t>(i);
    uint32_t cpu_before, cpu_after;
    uint64_t t0 = exo::sys::arch::rdtscp(cpu_before);
    int64_t status = exo::sys::ipc_call(server.endpoint, m);
    uint64_t t1 = exo::sys::arch::rdtscp(cpu_after);
    if (status != 0 || m.words[0] != static_cast<uint64_t>(i) ||
        m.words[1] != ~static_cast<uint64_t>(i))
      ++wrong_replies;
    if (cpu_before != 0 || cpu_after != 0) ++moved;
    if (i >= 0) g_samples.add(t1 - t0);
  }
  expect_true("every echo came back intact", wrong_replies == 0);
  expect_true("the client stayed on CPU 0", moved == 0);
  report(name,
         server_cpu == 0 ? "call+reply round trips, 2 words, client and echo_server on CPU 0"
                         : "call+reply round trips, 2 words, client on CPU 0, echo_server on CPU 1",
         start_ns, start_tsc);
  IpcMessage stop;
  stop.label = 2;  // echo_server exits with 5 without replying
  (void)exo::sys::ipc_call(server.endpoint, stop);
  exo::Result<int64_t> status = exo::sys::process_wait(server.process);
  expect_true("echo_server exited with 5", status.ok() && *status == 5);
  (void)exo::sys::handle_close(server.process);
  (void)exo::sys::handle_close(server.endpoint);
}

// ---- Notification signal to wake ------------------------------------------------------------

// The signaller (main thread, CPU 0) stores the TSC in g_signalled_at and signals `ping`; the
// waiter, blocked in notification_wait(ping), reads the TSC as soon as it runs again and
// answers on `pong`, on which the signaller waits before the next sample.
Handle g_ping = 0, g_pong = 0;
uint64_t g_signalled_at = 0;
uint32_t g_waiter_cpu = 0;
int g_rounds = 0;
uint64_t g_waiter_misplaced = 0;
alignas(16) uint8_t g_waiter_stack[16 * 1024];

void waiter(void*) {
  bool pinned = exo::sys::thread_set_affinity(mask_of(g_waiter_cpu)).ok();
  (void)exo::sys::notification_signal(g_pong, pinned ? 1 : 2);  // ready (2: could not pin)
  if (!pinned) return;
  for (int i = 0; i < g_rounds; ++i) {
    (void)exo::sys::notification_wait(g_ping);
    uint32_t cpu;
    uint64_t woke = exo::sys::arch::rdtscp(cpu);
    if (cpu != g_waiter_cpu) ++g_waiter_misplaced;
    if (i >= 100) g_samples.add(woke - __atomic_load_n(&g_signalled_at, __ATOMIC_ACQUIRE));
    (void)exo::sys::notification_signal(g_pong, 1);
  }
}

void bench_notify(const char* name, uint32_t waiter_cpu, int samples) {
  g_ping = exo::sys::notification_create().value_or(0);
  g_pong = exo::sys::notification_create().value_or(0);
  g_waiter_cpu = waiter_cpu;
  g_rounds = samples + 100;  // the first 100 are not recorded
  g_waiter_misplaced = 0;
  g_samples.count = 0;
  exo::Result<Handle> thread =
      exo::sys::thread_create(&waiter, nullptr, g_waiter_stack, sizeof(g_waiter_stack));
  expect_true("the waiter thread started", thread.ok());
  if (!thread.ok()) return;
  exo::Result<uint64_t> ready = exo::sys::notification_wait(g_pong);
  expect_true("the waiter pinned itself", ready.ok() && *ready == 1);
  if (!ready.ok() || *ready != 1) return;
  uint64_t moved = 0;
  uint64_t start_ns = exo::sys::clock_get().value_or(0);
  uint64_t start_tsc = exo::user_test::rdtsc();
  for (int i = 0; i < g_rounds; ++i) {
    uint32_t cpu;
    __atomic_store_n(&g_signalled_at, exo::sys::arch::rdtscp(cpu), __ATOMIC_RELEASE);
    if (cpu != 0) ++moved;
    (void)exo::sys::notification_signal(g_ping, 1);
    // Ends this vCPU's turn under -icount's round robin (a wake IPI does not), so a cross-CPU
    // sample does not also count this thread blocking on `pong` and its CPU idling into hlt
    // before the waiter's CPU runs (docs/benchmarks.md). On one CPU it changes nothing.
    exo::sys::arch::pause();
    (void)exo::sys::notification_wait(g_pong);
  }
  expect_true("the signaller stayed on CPU 0", moved == 0);
  expect_true("the waiter always woke on its CPU", g_waiter_misplaced == 0);
  expect_true("one sample per signal", g_samples.count == samples);
  report(name,
         waiter_cpu == 0 ? "signaller and waiter on CPU 0, two threads of one process"
                         : "signaller on CPU 0, waiter on CPU 1, two threads of one process",
         start_ns, start_tsc);
  (void)exo::sys::handle_close(*thread);
  (void)exo::sys::handle_close(g_ping);
  (void)exo::sys::handle_close(g_pong);
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "all";
  int samples = argc > 2 ? static_cast<int>(exo::user_test::parse_count(argv[2])) : kMaxSamples;
  if (samples <= 0 || samples > kMaxSamples) {
    print("latency_bench: N must be 1..{}\n", kMaxSamples);
    return 2;
  }
  bool all = strcmp(mode, "all") == 0;
  bool same = all || strcmp(mode, "same") == 0;
  bool cross = all || strcmp(mode, "cross") == 0;
  bool known = same || cross;
  expect_true("the main thread pins itself to CPU 0",
              exo::sys::thread_set_affinity(mask_of(0)).ok() && current_cpu() == 0);
  if (same || strcmp(mode, "ipc_same") == 0) {
    known = true;
    bench_ipc("ipc_call_reply_same_cpu", 0, samples);
  }
  if (cross || strcmp(mode, "ipc_cross") == 0) {
    known = true;
    bench_ipc("ipc_call_reply_cross_cpu", 1, samples);
  }
  if (same || strcmp(mode, "notify_same") == 0) {
    known = true;
    bench_notify("notification_signal_to_wake_same_cpu", 0, samples);
  }
  if (cross || strcmp(mode, "notify_cross") == 0) {
    known = true;
    bench_notify("notification_signal_to_wake_cross_cpu", 1, samples);
  }
  if (!known) {
    print("latency_bench: unknown mode '{}'\n", mode);
    return 2;
  }
  return exo::user_test::finish();
}
