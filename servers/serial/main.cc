// serial: the ring-3 driver of the 16550 UART on COM1 (docs/ipc.md, "The serial server").
// It owns only what init gave it: COM1's eight ports and interrupt line 4. Output is written
// for any client (kWrite); input arrives by interrupt into a ring buffer, and subscribers are
// signalled to come and read it (kRead). Start handles (roles):
//   EXO_START_HANDLE_USER + 0   the ports (0x3f8, 8)
//   EXO_START_HANDLE_USER + 1   interrupt line 4
//   EXO_START_HANDLE_USER + 2   an endpoint of init's, to send ours to (write-only copy)
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/serial_wire.h"
#include "exo/syscall.h"

namespace {

using exo::usize;
using exo::sys::Handle;
using exo::sys::IpcMessage;
namespace wire = exo::serial_wire;

constexpr uint16_t kCom1 = 0x3f8;
// 16550 registers (offsets from the base) and bits (National PC16550D data sheet).
constexpr uint16_t kData = 0, kInterruptEnable = 1, kFifoControl = 2, kModemControl = 4,
                   kLineStatus = 5;
constexpr uint8_t kDataReady = 0x01, kTransmitEmpty = 0x20;

inline void outb(uint16_t port, uint8_t value) { asm volatile("outb %0, %1" ::"a"(value), "Nd"(port)); }
inline uint8_t inb(uint16_t port) {
  uint8_t value;
  asm volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
  return value;
}

// A lock between the two threads (the interrupt thread and the request thread).
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
constexpr usize kBufferSize = 1024;
char g_buffer[kBufferSize];
usize g_head = 0, g_count = 0;
constexpr usize kMaxSubscribers = 8;
Handle g_subscribers[kMaxSubscribers];
usize g_subscriber_count = 0;
Lock g_lock;
Handle g_interrupt = 0;
Handle g_notification = 0;

void write_byte(char c) {
  while ((inb(kCom1 + kLineStatus) & kTransmitEmpty) == 0) {
  }
  outb(kCom1 + kData, static_cast<uint8_t>(c));
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
      for (usize i = 0; i < n; ++i) (void)exo::sys::notification_signal(subscribers[i], wire::kInputBit);
    }
  }
}

void serve(IpcMessage& m) {
  switch (m.label) {
    case wire::kWrite: {
      usize count = m.word_count >= 1 && m.words[0] <= wire::kMaxBytes ? m.words[0] : 0;
      char bytes[wire::kMaxBytes];
      wire::unpack(&m.words[1], count, bytes);
      for (usize i = 0; i < count; ++i) write_byte(bytes[i]);
      m = IpcMessage{};
      m.label = wire::kWrite;
      m.word_count = 1;
      m.words[0] = count;
      return;
    }
    case wire::kRead: {
      usize max = m.word_count >= 1 && m.words[0] <= wire::kMaxBytes ? m.words[0] : wire::kMaxBytes;
      char bytes[wire::kMaxBytes];
      usize n = 0;
      g_lock.lock();
      while (n < max && g_count != 0) {
        bytes[n++] = g_buffer[g_head];
        g_head = (g_head + 1) % kBufferSize;
        --g_count;
      }
      g_lock.unlock();
      m = IpcMessage{};
      m.label = wire::kRead;
      m.word_count = 6;
      m.words[0] = n;
      wire::pack(bytes, n, &m.words[1]);
      return;
    }
    case wire::kSubscribe: {
      bool ok = false;
      if (m.handle_count == 1) {
        g_lock.lock();
        if (g_subscriber_count < kMaxSubscribers) {
          g_subscribers[g_subscriber_count++] = static_cast<Handle>(m.words[m.word_count - 1]);
          ok = true;
        }
        g_lock.unlock();
        if (!ok) (void)exo::sys::handle_close(static_cast<Handle>(m.words[m.word_count - 1]));
      }
      m = IpcMessage{};
      m.label = ok ? wire::kSubscribe : wire::kBadRequest;
      return;
    }
    default:
      for (usize i = 0; i < m.handle_count; ++i) {
        (void)exo::sys::handle_close(static_cast<Handle>(m.words[m.word_count - 1 - i]));
      }
      m = IpcMessage{};
      m.label = wire::kBadRequest;
      return;
  }
}

alignas(16) uint8_t g_interrupt_stack[16 * 1024];

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
  IpcMessage m;
  int64_t status = ipc_recv(*endpoint, m);
  for (;;) {
    if (status < 0) {
      status = ipc_recv(*endpoint, m);
      continue;
    }
    serve(m);
    status = ipc_reply_recv(*endpoint, m);
  }
}
