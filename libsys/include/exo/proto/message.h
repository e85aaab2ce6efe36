// Message: what every protocol transport moves — a label word, head+tail body bytes, handles.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "handle.h"

namespace exo::proto {

// The kernel IPC model: a 64-bit label and six 64-bit words travel in registers (the head);
// anything longer spills into the calling thread's 4 KiB IPC buffer (the tail); up to four
// handles move with the message.
inline constexpr size_t kHeadBytes = 48;
inline constexpr size_t kTailBytes = 4096;
inline constexpr size_t kMaxBodyBytes = kHeadBytes + kTailBytes;
inline constexpr size_t kMaxHandles = 4;

// Flags in the label. A request carries none (call) or kFlagOneWay (send).
inline constexpr uint8_t kFlagReply = 1u << 0;          // this is the answer to a call
inline constexpr uint8_t kFlagAppError = 1u << 1;       // body is the method's error enum
inline constexpr uint8_t kFlagProtocolError = 1u << 2;  // body is a u32 exo::Error code
inline constexpr uint8_t kFlagOneWay = 1u << 3;         // no reply expected
inline constexpr uint8_t kKnownFlags =
    kFlagReply | kFlagAppError | kFlagProtocolError | kFlagOneWay;

// Label layout, one word like seL4's MessageInfo so the kernel can copy without parsing:
//   bits  0..31  method ordinal
//   bits 32..39  flags
//   bits 40..42  handle count (0..4)
//   bits 43..55  body size in bytes (0..4144)
//   bits 56..63  reserved, zero
constexpr uint64_t make_label(uint32_t ordinal, uint8_t flags, size_t handles, size_t size) {
  return uint64_t{ordinal} | (uint64_t{flags} << 32) | (uint64_t(handles & 7) << 40) |
         (uint64_t(size & 0x1fff) << 43);
}
constexpr uint32_t label_ordinal(uint64_t label) {
  return uint32_t(label);
}
constexpr uint8_t label_flags(uint64_t label) {
  return uint8_t(label >> 32);
}
constexpr size_t label_handles(uint64_t label) {
  return size_t((label >> 40) & 7);
}
constexpr size_t label_size(uint64_t label) {
  return size_t((label >> 43) & 0x1fff);
}
// True when every field of the label is within its domain.
constexpr bool label_valid(uint64_t label) {
  return (label >> 56) == 0 && (label_flags(label) & ~kKnownFlags) == 0 &&
         label_handles(label) <= kMaxHandles && label_size(label) <= kMaxBodyBytes;
}

// A whole message. `label` sits directly before `bytes` so that label+body is one contiguous
// run of 8 + size bytes: the one-way ring copies exactly that. About 4.2 KiB: clients and
// servers keep one per thread rather than one per call.
struct Message {
  uint64_t label = 0;
  alignas(8) uint8_t bytes[kMaxBodyBytes];
  HandleSlot handles[kMaxHandles];

  uint32_t ordinal() const { return label_ordinal(label); }
  uint8_t flags() const { return label_flags(label); }
  size_t size() const { return label_size(label); }
  size_t handle_count() const { return label_handles(label); }
  // Bytes of label+body a byte-copying transport must move.
  size_t wire_bytes() const { return sizeof(uint64_t) + size(); }
};
static_assert(__builtin_offsetof(Message, bytes) == sizeof(uint64_t));

// A received message as the decoder sees it: body and handles through pointers, so a test can
// hand in a buffer of exactly `size` bytes and let AddressSanitizer watch every read.
struct MessageView {
  uint64_t label = 0;
  const uint8_t* bytes = nullptr;
  size_t size = 0;
  const HandleSlot* handles = nullptr;
  size_t handle_count = 0;
};

// Fills `view` from `message`; false when the label is malformed (the view is then unusable).
inline bool view_of(const Message& message, MessageView* view) {
  if (!label_valid(message.label)) return false;
  *view = MessageView{message.label, message.bytes, message.size(), message.handles,
                      message.handle_count()};
  return true;
}

}  // namespace exo::proto
