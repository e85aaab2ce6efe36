// Polled driver for a 16550-compatible UART, used as the kernel's boot console.
#pragma once

#include "kernel/lib/types.h"

namespace exo::arch {

class Uart16550 {
 public:
  static constexpr uint16_t kCom1 = 0x3f8;

  constexpr explicit Uart16550(uint16_t base) : base_(base) {}
  // 115200 8N1, FIFOs enabled, interrupts off (the ring-3 serial server owns interrupts).
  void init() const;
  // Blocks until each byte is accepted by the transmitter; "\n" is sent as "\r\n".
  void write(const char* text, usize length) const;

 private:
  // Register offsets (PC16550D data sheet, table 2).
  static constexpr uint16_t kData = 0, kInterruptEnable = 1, kFifoControl = 2, kLineControl = 3,
                            kModemControl = 4, kLineStatus = 5;
  static constexpr uint8_t kLineStatusTransmitEmpty = 1 << 5;
  void put(char c) const;
  uint16_t base_;
};

}  // namespace exo::arch
