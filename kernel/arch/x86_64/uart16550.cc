// 16550 UART: polled transmit for the kernel console.
#include "kernel/arch/x86_64/uart16550.h"

#include "kernel/arch/x86_64/cpu.h"

namespace exo::arch {

void Uart16550::init() const {
  outb(base_ + kInterruptEnable, 0x00);
  outb(base_ + kLineControl, 0x80);  // DLAB: the next two registers are the divisor
  outb(base_ + kData, 0x01);         // 115200 baud
  outb(base_ + kInterruptEnable, 0x00);
  outb(base_ + kLineControl, 0x03);  // 8 data bits, no parity, 1 stop bit
  outb(base_ + kFifoControl, 0xc7);  // enable and clear FIFOs, 14-byte threshold
  outb(base_ + kModemControl, 0x03); // DTR, RTS
}

void Uart16550::put(char c) const {
  while ((inb(base_ + kLineStatus) & kLineStatusTransmitEmpty) == 0) pause();
  outb(base_ + kData, static_cast<uint8_t>(c));
}

void Uart16550::write(const char* text, usize length) const {
  for (usize i = 0; i < length; ++i) {
    if (text[i] == '\n') put('\r');
    put(text[i]);
  }
}

}  // namespace exo::arch
