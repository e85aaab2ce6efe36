// Host tests of the kernel IPC transport's packing (exo/proto/ipc_transport.h): a protocol
// message to IPC registers and back, the register fast path's masking of stale bytes, and the
// rejection of register contents that no protocol sender produces. The syscalls themselves are
// not called here (ring 3 only); the kernel's part is played by hand.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "exo/proto/ipc_transport.h"

namespace exo::proto {
namespace {

void fill(Message& m, size_t size, uint8_t stale) {
  std::memset(m.bytes, stale, sizeof(m.bytes));
  for (size_t i = 0; i < size; ++i) m.bytes[i] = static_cast<uint8_t>(i * 7 + 1);
}

// What the kernel does with the words: those past the count arrive as zero.
sys::IpcRegisters deliver(const sys::IpcRegisters& sent) {
  sys::IpcRegisters got = sent;
  for (unsigned i = EXO_IPC_TAG_WORDS(sent.tag); i < EXO_IPC_MAX_WORDS; ++i) got.words[i] = 0;
  return got;
}

TEST(IpcRegisters, EveryRegisterSizeRoundTripsAndStaleBytesNeverTravel) {
  for (size_t size = 0; size <= 40; ++size) {
    Message out;
    fill(out, size, 0xAA);
    out.label = make_label(9, kFlagReply, 0, size);
    sys::IpcRegisters r;
    ASSERT_TRUE(to_registers(out, &r)) << size;
    EXPECT_EQ(EXO_IPC_TAG_LABEL(r.tag), 9u);
    EXPECT_EQ(EXO_IPC_TAG_FLAGS(r.tag), kFlagReply);
    EXPECT_EQ(EXO_IPC_TAG_WORDS(r.tag), 1 + (size + 7) / 8);
    EXPECT_EQ(EXO_IPC_TAG_HANDLES(r.tag), 0u);
    EXPECT_EQ(EXO_IPC_TAG_TAIL(r.tag), 0u);
    EXPECT_EQ(r.words[0], size);
    // No byte of the 0xAA filler past the body is in any word.
    uint8_t sent[40];
    std::memcpy(sent, &r.words[1], sizeof(sent));
    for (size_t i = size; i < sizeof(sent); ++i) ASSERT_EQ(sent[i], 0) << size << " " << i;
    Message in;
    std::memset(in.bytes, 0x55, sizeof(in.bytes));
    ASSERT_TRUE(from_registers(deliver(r), &in).ok()) << size;
    EXPECT_EQ(in.label, out.label);
    EXPECT_EQ(std::memcmp(in.bytes, out.bytes, size), 0);
  }
}

TEST(IpcRegisters, HandlesOrLongBodiesTakeTheGeneralPath) {
  Message m;
  fill(m, 41, 0);
  m.label = make_label(1, 0, 0, 41);
  sys::IpcRegisters r;
  EXPECT_FALSE(to_registers(m, &r));
  m.label = make_label(1, 0, 1, 8);
  m.handles[0] = HandleSlot{5, ObjectType::kAny, 0};
  EXPECT_FALSE(to_registers(m, &r));
  m.label = uint64_t{1} << 60;  // reserved bits: not a label the protocol layer makes
  EXPECT_FALSE(to_registers(m, &r));
}

TEST(IpcRegisters, RegistersNoProtocolSenderProducesAreMalformed) {
  Message in;
  sys::IpcRegisters r;
  r.tag = EXO_IPC_TAG_FULL(3, 2, 0, 0, 0);
  r.words[0] = 9;  // 9 body bytes need two body words, the count gives one
  EXPECT_EQ(from_registers(r, &in).error(), Error::kMalformed);
  r.words[0] = 41;  // longer than the words, and no tail
  r.tag = EXO_IPC_TAG_FULL(3, 6, 0, 0, 0);
  EXPECT_EQ(from_registers(r, &in).error(), Error::kMalformed);
  r.tag = EXO_IPC_TAG_FULL(3, 0, 0, 0, 0);
  r.words[0] = 0;  // not even the size word
  EXPECT_EQ(from_registers(r, &in).error(), Error::kMalformed);
  r.tag = EXO_IPC_TAG_FULL(3, 6, 0, 100, 0);
  r.words[0] = 41;  // a tail that disagrees with the size
  EXPECT_EQ(from_registers(r, &in).error(), Error::kMalformed);
}

// The general path with a tail: to_ipc points the tail into the message, the kernel copies it
// to the receiver's buffer at kIpcTailOffset, and from_ipc puts everything back in place.
TEST(IpcRegisters, TailsRoundTripThroughTheGeneralPath) {
  std::mt19937 rng(7);
  for (size_t size : {41u, 48u, 100u, 4144u}) {
    Message out;
    for (size_t i = 0; i < size; ++i) out.bytes[i] = static_cast<uint8_t>(rng());
    out.label = make_label(2, 0, 0, size);
    sys::IpcMessage ipc;
    ASSERT_TRUE(to_ipc(out, &ipc).ok());
    ASSERT_EQ(ipc.tail_length, size - 40);
    Message in;
    std::memcpy(in.bytes + kIpcTailOffset, ipc.tail, ipc.tail_length);
    for (unsigned i = ipc.word_count; i < EXO_IPC_MAX_WORDS; ++i) ipc.words[i] = 0;
    ASSERT_TRUE(from_ipc(ipc, &in).ok());
    EXPECT_EQ(in.label, out.label);
    EXPECT_EQ(std::memcmp(in.bytes, out.bytes, size), 0) << size;
  }
}

}  // namespace
}  // namespace exo::proto
