// irq_bench: IRQ-to-user-driver latency (docs/benchmarks.md, "IPC"). A real device interrupt,
// timed from the moment a thread makes the device raise it to the moment the driver thread,
// blocked on the notification bound to the line, runs again in ring 3.
//   irq_bench [cross|same] [N]     (N samples, 100,000 by default; cross by default)
// The device is COM2's 16550 UART (ports 0x2f8..0x2ff, ISA IRQ 3), which init hands to this
// program as it hands COM1 to the serial server (servers/init/main.cc, kDrivers); QEMU has a
// COM2 only with a second -serial. Setting IER bit 1 (transmitter holding register empty)
// while the holding register is empty raises the interrupt at once; reading IIR, which then
// reports that source, clears it (PC16550D data sheet, "Interrupt Enable Register" and table
// "Interrupt Control Functions"; QEMU's hw/char/serial.c behaves the same).
//
// The driver (main thread) is pinned to CPU 0, where the kernel routes ISA interrupts
// (kernel/arch/x86_64/irq.cc). The trigger thread runs on CPU 1 (cross) or also on CPU 0
// (same). Each sample: the driver signals `go` and blocks in notification_wait on the IRQ's
// notification; the trigger, woken by `go`, sleeps kSettleNs so that the driver is blocked for
// certain, reads the TSC and writes IER; the driver reads the TSC when it runs, then serves the
// device (IIR, IER = 0) and acknowledges the line (irq_ack unmasks it).
#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "libsys/src/arch/x86_64/cpu.h"
#include "tests/user/user_test.h"

namespace {

using exo::sys::Handle;
using exo::sys::print;
using exo::user_test::expect_true;
namespace arch = exo::sys::arch;

// 16550 registers (offsets from the base) and bits (PC16550D data sheet, table 2).
constexpr uint16_t kCom2 = 0x2f8;
constexpr uint16_t kInterruptEnable = 1;  // IER (DLAB = 0)
constexpr uint16_t kInterruptId = 2;      // IIR on read, FCR on write
constexpr uint16_t kLineControl = 3;
constexpr uint16_t kModemControl = 4;
constexpr uint16_t kLineStatus = 5;
constexpr uint16_t kScratch = 7;
constexpr uint8_t kIerTransmitEmpty = 0x02;
constexpr uint8_t kIirSourceMask = 0x0f;
constexpr uint8_t kIirTransmitEmpty = 0x02;  // "THR empty" source, interrupt pending (bit 0 = 0)
constexpr uint8_t kLsrTransmitEmpty = 0x20;
constexpr uint8_t kMcrOut2 = 0x08;  // gates the UART's interrupt onto the ISA line on PCs
constexpr uint8_t kLcr8N1 = 0x03;

// Longer than the driver needs to block after signalling `go` (a few thousand instructions),
// so every sample times a wake-up of a blocked thread, not a wait that finds its bit set.
constexpr uint64_t kSettleNs = 100'000;

constexpr int kMaxSamples = 100000;
constexpr int kStatusNoUart = 3;
exo::user_test::LatencySamples<kMaxSamples> g_samples;

Handle g_go = 0, g_ready = 0;
uint32_t g_trigger_cpu = 1;
int g_rounds = 0;
uint64_t g_triggered_at = 0;
uint64_t g_trigger_misplaced = 0;
alignas(16) uint8_t g_trigger_stack[16 * 1024];

void trigger(void*) {
  bool pinned = exo::sys::thread_set_affinity(uint64_t{1} << g_trigger_cpu).ok();
  (void)exo::sys::notification_signal(g_ready, pinned ? 1 : 2);  // 2: could not pin
  if (!pinned) return;
  for (int i = 0; i < g_rounds; ++i) {
    (void)exo::sys::notification_wait(g_go);
    (void)exo::sys::sleep(kSettleNs);
    uint32_t cpu;
    __atomic_store_n(&g_triggered_at, arch::rdtscp(cpu), __ATOMIC_RELEASE);
    if (cpu != g_trigger_cpu) ++g_trigger_misplaced;
    arch::outb(kCom2 + kInterruptEnable, kIerTransmitEmpty);
    // Under -icount QEMU runs the vCPUs round robin and a raised interrupt does not end this
    // vCPU's turn: without the PAUSE, which does, the interval would also count this thread
    // blocking in notification_wait and its CPU idling into hlt before CPU 0 took the interrupt.
    arch::pause();
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace exo::sys;
  const char* mode = argc > 1 ? argv[1] : "cross";
  int samples = argc > 2 ? static_cast<int>(exo::user_test::parse_count(argv[2])) : kMaxSamples;
  bool cross = strcmp(mode, "cross") == 0;
  if ((!cross && strcmp(mode, "same") != 0) || samples <= 0 || samples > kMaxSamples) {
    print("irq_bench: usage: irq_bench [cross|same] [N], N in 1..{}\n", kMaxSamples);
    return 2;
  }
  Handle ports = start_handle(EXO_START_HANDLE_USER + 0);
  Handle line = start_handle(EXO_START_HANDLE_USER + 1);
  expect_true("init gave COM2's ports and IRQ 3",
              ports != kInvalidHandle && line != kInvalidHandle);
  if (ports == kInvalidHandle || line == kInvalidHandle) return exo::user_test::finish();
  expect_true("ioport_enable", ioport_enable(ports).ok());
  expect_true("the driver pins itself to CPU 0 (where ISA interrupts arrive)",
              thread_set_affinity(1).ok());

  // Is there a UART? Without one the ports read back 0xff. Not a failed check but a machine
  // this benchmark cannot run on: its own status, no "passed, failed" line.
  arch::outb(kCom2 + kScratch, 0x5a);
  if (arch::inb(kCom2 + kScratch) != 0x5a) {
    print(
        "irq_bench: no 16550 answers at 0x2f8 (QEMU needs a second -serial, e.g. -serial null)\n");
    return kStatusNoUart;
  }
  arch::outb(kCom2 + kInterruptEnable, 0);
  arch::outb(kCom2 + kLineControl, kLcr8N1);
  arch::outb(kCom2 + kInterruptId, 0);  // FCR: FIFOs off
  arch::outb(kCom2 + kModemControl, kMcrOut2);
  (void)arch::inb(kCom2 + kInterruptId);
  expect_true("its transmitter is empty",
              (arch::inb(kCom2 + kLineStatus) & kLsrTransmitEmpty) != 0);

  exo::Result<Handle> irq = notification_create();
  exo::Result<Handle> go = notification_create();
  exo::Result<Handle> ready = notification_create();
  expect_true("notifications", irq.ok() && go.ok() && ready.ok());
  if (!irq.ok() || !go.ok() || !ready.ok()) return exo::user_test::finish();
  g_go = *go;
  g_ready = *ready;
  expect_true("irq_bind IRQ 3", irq_bind(line, *irq, 1).ok());

  g_trigger_cpu = cross ? 1 : 0;
  g_rounds = samples + 100;  // the first 100 are not recorded
  exo::Result<Handle> thread =
      thread_create(&trigger, nullptr, g_trigger_stack, sizeof(g_trigger_stack));
  expect_true("the trigger thread started", thread.ok());
  if (!thread.ok()) return exo::user_test::finish();
  exo::Result<uint64_t> pinned = notification_wait(g_ready);
  expect_true("the trigger pinned itself (cross needs -smp 2)", pinned.ok() && *pinned == 1);
  if (!pinned.ok() || *pinned != 1) return exo::user_test::finish();

  uint64_t wrong_source = 0, misplaced = 0, timed_out = 0;
  uint64_t start_ns = clock_get().value_or(0);
  uint64_t start_tsc = exo::user_test::rdtsc();
  for (int i = 0; i < g_rounds; ++i) {
    (void)notification_signal(g_go, 1);
    exo::Result<uint64_t> bits = notification_wait(*irq);
    uint32_t cpu;
    uint64_t woke = arch::rdtscp(cpu);
    if (!bits.ok() || *bits != 1) ++timed_out;
    if (cpu != 0) ++misplaced;
    if (i >= 100) g_samples.add(woke - __atomic_load_n(&g_triggered_at, __ATOMIC_ACQUIRE));
    // Serve the device: the pending source must be "transmitter empty"; reading IIR clears it.
    if ((arch::inb(kCom2 + kInterruptId) & kIirSourceMask) != kIirTransmitEmpty) ++wrong_source;
    arch::outb(kCom2 + kInterruptEnable, 0);
    (void)irq_ack(line);
  }
  uint64_t ns = clock_get().value_or(start_ns) - start_ns;
  uint64_t cycles = exo::user_test::rdtsc() - start_tsc;
  expect_true("every wait returned the line's bit", timed_out == 0);
  expect_true("every interrupt was the UART's transmitter-empty one", wrong_source == 0);
  expect_true("the driver always ran on CPU 0", misplaced == 0);
  expect_true("the trigger always ran on its CPU", g_trigger_misplaced == 0);
  expect_true("one sample per interrupt", g_samples.count == samples);
  g_samples.sort();
  uint64_t khz = ns != 0 ? cycles * 1000000 / ns : 0;
  auto to_ns = [khz](uint64_t c) { return khz != 0 ? c * 1000000 / khz : 0; };
  print(
      "bench irq_to_user_driver_{}: median {} cycles, p99 {} cycles, min {}, max {} ({} "
      "samples; COM2 THR-empty interrupt on IRQ 3, trigger on CPU {}, driver on CPU 0) = "
      "median {} ns, p99 {} ns at {} kHz\n",
      mode, g_samples.median(), g_samples.p99(), g_samples.min(), g_samples.max(), g_samples.count,
      g_trigger_cpu, to_ns(g_samples.median()), to_ns(g_samples.p99()), khz);
  return exo::user_test::finish();
}
