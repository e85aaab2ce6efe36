// The serial server's messages, hand-encoded in IPC registers until the generated protocol
// (protocols/serial.exo) has a kernel IPC transport (docs/ipc.md, "The serial server").
#pragma once

#include <stdint.h>

#include "kernel/lib/types.h"

namespace exo::serial_wire {

// words[0] = byte count (1..kMaxBytes), words[1..5] the bytes, little-endian.
// Reply: words[0] = bytes written.
inline constexpr uint32_t kWrite = 1;
// words[0] = the most bytes wanted (1..kMaxBytes). Never waits. Reply: words[0] = count,
// words[1..5] the bytes (0 when nothing has arrived).
inline constexpr uint32_t kRead = 2;
// One handle: a notification (with the signal right). Whenever input arrives the server
// signals kInputBit on it, so a reader waits for that and then reads.
inline constexpr uint32_t kSubscribe = 3;
// Reply label for a request the server does not understand.
inline constexpr uint32_t kBadRequest = 0xffffffff;

inline constexpr usize kMaxBytes = 40;
inline constexpr uint64_t kInputBit = 1;

inline void pack(const char* bytes, usize count, uint64_t* words) {
  for (usize i = 0; i < 5; ++i) words[i] = 0;
  for (usize i = 0; i < count && i < kMaxBytes; ++i) {
    words[i / 8] |= uint64_t{static_cast<uint8_t>(bytes[i])} << (8 * (i % 8));
  }
}

inline void unpack(const uint64_t* words, usize count, char* bytes) {
  for (usize i = 0; i < count && i < kMaxBytes; ++i) {
    bytes[i] = static_cast<char>((words[i / 8] >> (8 * (i % 8))) & 0xff);
  }
}

}  // namespace exo::serial_wire
