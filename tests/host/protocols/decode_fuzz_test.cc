// Fuzz test of generated decoders: random and mutated bodies, labels and handles, each in an
// exact-size heap buffer (ASan catches any overread). A decode that succeeds must re-encode
// to the same bytes: every value has exactly one encoding. EXO_FUZZ_SEED/ITERATIONS override.
#include <stdlib.h>
#include <string.h>

#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "exo/protocols/block.h"
#include "exo/protocols/pci.h"
#include "exo/protocols/serial.h"
#include "test_types.h"

namespace exo::proto {
namespace {

using testing::Wire;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* value = getenv(name);
  return value != nullptr ? strtoull(value, nullptr, 0) : fallback;
}

// Decodes `wire` as T; on success checks the canonical-encoding property. Returns success.
template <typename T>
bool decode_and_check(const Wire& wire) {
  T value{};
  if (!wire.decode(&value)) return false;
  auto message = std::make_unique<Message>();
  EXPECT_TRUE(encode_message(*message, 1, 0, value).ok());
  EXPECT_EQ(message->size(), wire.body.size());
  EXPECT_EQ(message->handle_count(), wire.handles.size());
  if (message->size() == wire.body.size() && !wire.body.empty()) {
    EXPECT_EQ(memcmp(message->bytes, wire.body.data(), wire.body.size()), 0);
  }
  return true;
}

// Every message type the tree defines, as one decoder table.
using DecodeFn = bool (*)(const Wire&);
const std::vector<DecodeFn>& all_decoders() {
  namespace tt = protocols::test_types;
  namespace se = protocols::serial;
  namespace pc = protocols::pci;
  namespace bl = protocols::block;
  static const std::vector<DecodeFn> kDecoders = {
      decode_and_check<tt::Everything>,
      decode_and_check<tt::Ints>,
      decode_and_check<tt::Inner>,
      decode_and_check<tt::Big>,
      decode_and_check<tt::Tester::NotifyRequest>,
      decode_and_check<tt::Tester::AddRequest>,
      decode_and_check<se::Serial::WriteRequest>,
      decode_and_check<se::Serial::ReadRequest>,
      decode_and_check<se::Serial::ConfigureRequest>,
      decode_and_check<se::Serial::WriteAsyncRequest>,
      decode_and_check<se::Serial::GetConfigResponse>,
      decode_and_check<pc::Pci::ListDevicesResponse>,
      decode_and_check<pc::Pci::ClaimResponse>,
      decode_and_check<pc::Pci::GetBarResponse>,
      decode_and_check<pc::Pci::WriteConfigRequest>,
      decode_and_check<bl::Block::WriteRequest>,
      decode_and_check<bl::Block::SubmitRequest>,
      decode_and_check<bl::Block::WaitCompletionsResponse>,
      decode_and_check<bl::Block::AttachBufferRequest>,
  };
  return kDecoders;
}

HandleSlot random_handle(std::mt19937_64& rng) {
  static const ObjectType kTypes[] = {ObjectType::kAny, ObjectType::kVmo, ObjectType::kInterrupt,
                                      ObjectType::kIoPorts, ObjectType::kThread};
  return HandleSlot{uint32_t(rng() % 4), kTypes[rng() % 5], uint32_t(rng())};
}

TEST(DecodeFuzz, RandomBodies) {
  std::mt19937_64 rng(env_or("EXO_FUZZ_SEED", 11));
  uint64_t iterations = env_or("EXO_FUZZ_ITERATIONS", 20000);
  uint64_t accepted = 0;
  for (uint64_t i = 0; i < iterations; ++i) {
    Wire wire;
    // Mostly short bodies (where the structure is), sometimes up to the limit.
    size_t size = rng() % 8 == 0 ? rng() % (kMaxBodyBytes + 1) : rng() % 128;
    wire.body.resize(size);
    // Bias toward small bytes so presence flags, bools and lengths are often plausible.
    for (uint8_t& b : wire.body) b = rng() % 2 ? uint8_t(rng() % 3) : uint8_t(rng());
    size_t handles = rng() % (kMaxHandles + 1);
    for (size_t h = 0; h < handles; ++h) wire.handles.push_back(random_handle(rng));
    wire.label = testing::label_for(size, handles);
    for (DecodeFn decode : all_decoders()) accepted += decode(wire);
  }
  RecordProperty("accepted", std::to_string(accepted));
}

TEST(DecodeFuzz, MutatedValidMessages) {
  namespace tt = protocols::test_types;
  std::mt19937_64 rng(env_or("EXO_FUZZ_SEED", 12));
  uint64_t iterations = env_or("EXO_FUZZ_ITERATIONS", 20000);

  tt::Everything value;
  value.signed_value = tt::Signed::kNegative;
  value.wide = tt::Wide::kTiny;
  value.inners[0].label = StringView("abc");
  value.inners[1].data = BytesView("\x01\x02\x03", 3);
  value.maybe_inner.emplace().small = tt::Small::kMax;
  value.nested.emplace() = 7;
  value.text = StringView("text");
  value.blob = BytesView("blob", 4);
  value.vmo = Handle{1};
  value.maybe_irq = Handle{2};
  value.any = Handle{3};
  Wire seed =
      testing::encode_wire(value, {ObjectType::kVmo, ObjectType::kInterrupt, ObjectType::kAny});
  ASSERT_TRUE(decode_and_check<tt::Everything>(seed));

  uint64_t accepted = 0;
  for (uint64_t i = 0; i < iterations; ++i) {
    Wire wire = seed;
    int mutations = 1 + int(rng() % 3);
    for (int m = 0; m < mutations; ++m) {
      switch (rng() % 6) {
        case 0:
          if (!wire.body.empty()) wire.body[rng() % wire.body.size()] ^= uint8_t(1u << (rng() % 8));
          break;
        case 1:
          if (!wire.body.empty()) wire.body[rng() % wire.body.size()] = uint8_t(rng());
          break;
        case 2:
          wire.body.resize(rng() % (wire.body.size() + 1));
          break;
        case 3:
          wire.body.resize(wire.body.size() + rng() % 16, uint8_t(rng()));
          break;
        case 4:
          if (!wire.handles.empty()) wire.handles[rng() % wire.handles.size()] = random_handle(rng);
          break;
        case 5:
          if (!wire.handles.empty() && rng() % 2) {
            wire.handles.pop_back();
          } else if (wire.handles.size() < kMaxHandles) {
            wire.handles.push_back(random_handle(rng));
          }
          break;
      }
    }
    wire.label = testing::label_for(wire.body.size(), wire.handles.size());
    accepted += decode_and_check<tt::Everything>(wire);
  }
  RecordProperty("accepted", std::to_string(accepted));
}

}  // namespace
}  // namespace exo::proto
