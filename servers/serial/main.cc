// serial: the ring-3 driver of the 16550 UART on COM1 (docs/ipc.md, "The serial server"). It
// speaks the generated `serial` protocol (protocols/serial.exo) over kernel IPC and owns only
// what init gave it: COM1's eight ports and interrupt line 4. Output is written for any client;
// input arrives by interrupt into a ring buffer and subscribers are signalled to come and read
// it. Start handles (roles):
//   EXO_START_HANDLE_USER + 0   the ports (0x3f8, 8)
//   EXO_START_HANDLE_USER + 1   interrupt line 4
//   EXO_START_HANDLE_USER + 2   an endpoint of init's, to send ours to (write-only copy)
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/proto/ipc_transport.h"
#include "exo/protocols/serial.h"
#include "exo/syscall.h"

namespace {

using exo::usize;
using exo::sys::Handle;
namespace proto = exo::proto;
namespace serial = exo::protocols::serial;

constexpr uint16_t kCom1 = 0x3f8;
// 16550 registers (offsets from the base) and bits (National PC16550D data sheet).
constexpr uint16_t kData = 0, kInterruptEnable = 1, kFifoControl = 2, kLineControl = 3,
                   kModemControl = 4, kLineStatus = 5;
constexpr uint8_t kDataReady = 0x01, kTransmitEmpty = 0x20, kDivisorLatch = 0x80;
constexpr uint32_t kUartClock = 115200;  // the divisor is kUartClock / baud

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
  uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

// A lock between the interrupt thread and the serving thread.
class Lock {
 public:
  void lock() {
    while (__atomic_exchange_n(&held_, true, __ATOMIC_ACQUIRE)) exo::sys::yield();
  }
  void unlock() { __atomic_store_n(&held_, false, __ATOMIC_RELEASE); }

 private:
  bool held_ = false;
};

// Received bytes, oldest first; the oldest are dropped when it is full.
constexpr usize kBufferSize = 4096;
char g_buffer[kBufferSize];
usize g_head = 0, g_count = 0;
constexpr usize kMaxSubscribers = 16;
Handle g_subscribers[kMaxSubscribers];
usize g_subscriber_count = 0;
Lock g_lock;
Handle g_interrupt = 0;
Handle g_notification = 0;

void write_byte(uint8_t c) {
  while ((inb(kCom1 + kLineStatus) & kTransmitEmpty) == 0) {
  }
  outb(kCom1 + kData, c);
}

// The interrupt thread: each signal means the line fired (and is masked until we ack).
void interrupt_thread(void*) {
  for (;;) {
    if (!exo::sys::notification_wait(g_notification).ok()) continue;
    bool got = false;
    g_lock.lock();
    while ((inb(kCom1 + kLineStatus) & kDataReady) != 0) {
      char c = static_cast<char>(inb(kCom1 + kData));
      if (g_count == kBufferSize) {
        g_head = (g_head + 1) % kBufferSize;
        --g_count;
      }
      g_buffer[(g_head + g_count) % kBufferSize] = c;
      ++g_count;
      got = true;
    }
    Handle subscribers[kMaxSubscribers];
    usize n = g_subscriber_count;
    for (usize i = 0; i < n; ++i) subscribers[i] = g_subscribers[i];
    g_lock.unlock();
    (void)exo::sys::irq_ack(g_interrupt);
    if (got) {
      for (usize i = 0; i < n; ++i) (void)exo::sys::notification_signal(subscribers[i], 1);
    }
  }
}

class Uart final : public serial::SerialServer {
 public:
  proto::Outcome<serial::SerialError> write(proto::BytesView data,
                                            serial::Serial::WriteResponse* response) override {
    for (usize i = 0; i < data.size; ++i) write_byte(data.data[i]);
    response->written = static_cast<uint32_t>(data.size);
    return {};
  }

  // Never waits: the serving thread must not stall other clients. A reader that wants to wait
  // subscribes and waits on its own notification (timeout_us is accepted and not used).
  proto::Outcome<serial::SerialError> read(uint16_t max, uint32_t,
                                           serial::Serial::ReadResponse* response) override {
    usize n = 0;
    g_lock.lock();
    while (n < max && n < sizeof(out_) && g_count != 0) {
      out_[n++] = static_cast<uint8_t>(g_buffer[g_head]);
      g_head = (g_head + 1) % kBufferSize;
      --g_count;
    }
    g_lock.unlock();
    response->data = proto::BytesView(out_, n);
    return {};
  }

  proto::Outcome<serial::SerialError> configure(const serial::LineConfig& config,
                                                serial::Serial::ConfigureResponse*) override {
    if (config.baud == 0 || config.baud > kUartClock || kUartClock % config.baud != 0 ||
        config.data_bits < 5 || config.data_bits > 8 || config.flow_control) {
      return serial::SerialError::kUnsupported;
    }
    uint8_t parity = config.parity == serial::Parity::kNone ? 0x00
                     : config.parity == serial::Parity::kOdd ? 0x08
                                                             : 0x18;
    uint8_t line = static_cast<uint8_t>((config.data_bits - 5) |
                                        (config.stop_bits == serial::StopBits::kTwo ? 0x04 : 0) | parity);
    // Takes effect after the transmitter drains.
    while ((inb(kCom1 + kLineStatus) & 0x40) == 0) {
    }
    uint16_t divisor = static_cast<uint16_t>(kUartClock / config.baud);
    outb(kCom1 + kLineControl, kDivisorLatch);
    outb(kCom1 + kData, static_cast<uint8_t>(divisor & 0xff));
    outb(kCom1 + kInterruptEnable, static_cast<uint8_t>(divisor >> 8));
    outb(kCom1 + kLineControl, line);
    outb(kCom1 + kInterruptEnable, 0x01);  // the divisor latch shared this register
    config_ = config;
    return {};
  }

  void get_config(serial::Serial::GetConfigResponse* response) override { response->config = config_; }

  void write_async(proto::StringView text) override {
    for (usize i = 0; i < text.size; ++i) write_byte(static_cast<uint8_t>(text.data[i]));
  }

  proto::Outcome<serial::SerialError> subscribe(proto::Handle input,
                                                serial::Serial::SubscribeResponse*) override {
    g_lock.lock();
    bool room = g_subscriber_count < kMaxSubscribers;
    if (room) g_subscribers[g_subscriber_count++] = input.value;
    g_lock.unlock();
    if (!room) {
      (void)exo::sys::handle_close(input.value);
      return serial::SerialError::kUnsupported;
    }
    return {};
  }

 private:
  uint8_t out_[4096];
  // What the kernel's console set-up programs (kernel/arch/x86_64/uart16550.cc): 115200 8N1.
  serial::LineConfig config_{115200, 8, serial::Parity::kNone, serial::StopBits::kOne, false};
};

alignas(16) uint8_t g_interrupt_stack[16 * 1024];
Uart g_uart;
proto::Message g_request, g_reply;

}  // namespace

int main(int, char**) {
  using namespace exo::sys;
  Handle ports = start_handle(EXO_START_HANDLE_USER + 0);
  g_interrupt = start_handle(EXO_START_HANDLE_USER + 1);
  Handle init_endpoint = start_handle(EXO_START_HANDLE_USER + 2);
  exo::Result<Handle> notification = notification_create();
  exo::Result<Handle> endpoint = endpoint_create();
  if (!ioport_enable(ports).ok() || !notification.ok() || !endpoint.ok()) {
    puts("serial: missing ports or out of handles\n");
    return 1;
  }
  g_notification = *notification;
  // Receive interrupts: FIFO on with a one-byte trigger, OUT2 (the PC's IRQ gate), RX enable.
  outb(kCom1 + kFifoControl, 0x07);
  outb(kCom1 + kModemControl, 0x0b);
  outb(kCom1 + kInterruptEnable, 0x01);
  if (!irq_bind(g_interrupt, g_notification, 1).ok()) {
    puts("serial: cannot bind interrupt line 4\n");
    return 2;
  }
  if (!thread_create(&interrupt_thread, nullptr, g_interrupt_stack, sizeof(g_interrupt_stack)).ok()) {
    return 3;
  }
  // Tell init where we are: a write-only copy of our endpoint.
  IpcMessage hello;
  hello.label = 1;
  hello.word_count = 1;
  hello.handle_count = 1;
  hello.words[0] = handle_duplicate(*endpoint, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER | EXO_RIGHT_DUPLICATE)
                       .value_or(0);
  if (ipc_send(init_endpoint, hello) < 0) return 4;
  proto::IpcServerTransport transport(*endpoint);
  // write_async and any other one-way method travel over a ring sized by `queue` in serial.exo.
  if (exo::Status ring = transport.open_ring<serial::Serial>(); !ring.ok()) {
    print("serial: no one-way ring ({}); one-way sends come over IPC\n", ring.error());
  }
  proto::ServeStats stats;
  for (;;) {
    // serve() returns only on a transport error (a malformed sender); keep serving.
    (void)proto::serve(transport, g_uart, g_request, g_reply, &stats);
  }
}
