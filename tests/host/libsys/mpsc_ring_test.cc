// Host tests for MpscRing on one thread: FIFO semantics, full/empty/oversize, wrap-around, header
// validation on attach, the sleep and wait flags, and robustness against a hostile producer.
#include "libsys/include/exo/channel/mpsc_ring.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

namespace exo::channel {
namespace {

namespace layout = ring_layout;

// A 64-byte-aligned region of exactly `bytes` (ASan then flags any access past its end).
struct Region {
  explicit Region(usize bytes) : size(bytes) {
    mem = static_cast<uint8_t*>(std::aligned_alloc(64, align_up<usize>(bytes, 64)));
    std::memset(mem, 0xA5, bytes);
  }
  ~Region() { std::free(mem); }
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  layout::Header* header() { return reinterpret_cast<layout::Header*>(mem); }
  layout::SlotHeader* slot(uint32_t i, uint32_t slot_bytes) {
    return reinterpret_cast<layout::SlotHeader*>(mem + sizeof(layout::Header) +
                                                 usize{i} * layout::slot_stride(slot_bytes));
  }
  uint8_t* mem;
  usize size;
};

Status send_u32(MpscRing& ring, uint32_t value, bool* wake = nullptr) {
  bool ignored;
  return ring.try_send(&value, sizeof(value), wake != nullptr ? wake : &ignored);
}

Result<uint32_t> recv_u32(MpscRing& ring) {
  uint32_t value = 0;
  usize len = EXO_TRY(ring.try_recv(&value, sizeof(value)));
  if (len != sizeof(value)) return Error::kMalformed;
  return value;
}

TEST(MpscRing, BytesFor) {
  EXPECT_EQ(MpscRing::bytes_for(8, 16), sizeof(layout::Header) + 8 * 64);
  EXPECT_EQ(MpscRing::bytes_for(4, 48), sizeof(layout::Header) + 4 * 64);
  EXPECT_EQ(MpscRing::bytes_for(4, 49), sizeof(layout::Header) + 4 * 128);
  EXPECT_EQ(MpscRing::bytes_for(0, 16), 0u);
  EXPECT_EQ(MpscRing::bytes_for(1, 16), 0u);
  EXPECT_EQ(MpscRing::bytes_for(6, 16), 0u);
  EXPECT_EQ(MpscRing::bytes_for(8, 0), 0u);
  EXPECT_EQ(MpscRing::bytes_for(8, layout::kMaxSlotBytes + 1), 0u);
  EXPECT_EQ(MpscRing::bytes_for(layout::kMaxCapacity * 2, 16), 0u);
}

TEST(MpscRing, CreateRejectsBadArguments) {
  Region r(MpscRing::bytes_for(8, 16));
  EXPECT_EQ(MpscRing::create(nullptr, r.size, 8, 16).error(), Error::kInvalidArgument);
  EXPECT_EQ(MpscRing::create(r.mem, r.size, 6, 16).error(), Error::kInvalidArgument);
  EXPECT_EQ(MpscRing::create(r.mem, r.size, 8, 0).error(), Error::kInvalidArgument);
  EXPECT_EQ(MpscRing::create(r.mem, r.size - 1, 8, 16).error(), Error::kOutOfRange);
  EXPECT_EQ(MpscRing::create(r.mem + 8, r.size - 8, 4, 16).error(), Error::kNotAligned);
  EXPECT_TRUE(MpscRing::create(r.mem, r.size, 8, 16).ok());
}

TEST(MpscRing, FifoFullEmptyOversize) {
  Region r(MpscRing::bytes_for(4, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 4, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  EXPECT_EQ(producer.capacity(), 4u);
  EXPECT_EQ(producer.max_payload(), 16u);
  EXPECT_FALSE(producer.is_consumer());

  EXPECT_EQ(recv_u32(consumer).error(), Error::kWouldBlock);
  for (uint32_t i = 0; i < 4; ++i) EXPECT_TRUE(send_u32(producer, 100 + i).ok());
  EXPECT_EQ(send_u32(producer, 999).error(), Error::kWouldBlock);
  EXPECT_TRUE(consumer.readable());
  for (uint32_t i = 0; i < 4; ++i) EXPECT_EQ(*recv_u32(consumer), 100 + i);
  EXPECT_EQ(recv_u32(consumer).error(), Error::kWouldBlock);
  EXPECT_FALSE(consumer.readable());

  uint8_t big[17] = {};
  bool wake = true;
  EXPECT_EQ(producer.try_send(big, 17, &wake).error(), Error::kInvalidArgument);
  EXPECT_FALSE(wake);
  EXPECT_TRUE(producer.try_send(big, 16, &wake).ok());
  EXPECT_TRUE(producer.try_send(nullptr, 0, &wake).ok());
  uint8_t out[16];
  EXPECT_EQ(*consumer.try_recv(out, sizeof(out)), 16u);
  EXPECT_EQ(*consumer.try_recv(out, sizeof(out)), 0u);
}

TEST(MpscRing, ProducerHandleCannotReceive) {
  Region r(MpscRing::bytes_for(4, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 4, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  ASSERT_TRUE(send_u32(producer, 1).ok());
  EXPECT_EQ(recv_u32(producer).error(), Error::kAccessDenied);
  EXPECT_FALSE(producer.prepare_sleep());
  EXPECT_EQ(*recv_u32(consumer), 1u);
}

TEST(MpscRing, ShortBufferKeepsTheMessage) {
  Region r(MpscRing::bytes_for(4, 32));
  MpscRing ring = MpscRing::create(r.mem, r.size, 4, 32).release_value();
  char msg[20] = "hello, ring";
  bool wake;
  ASSERT_TRUE(ring.try_send(msg, sizeof(msg), &wake).ok());
  char small[8];
  EXPECT_EQ(ring.try_recv(small, sizeof(small)).error(), Error::kOutOfRange);
  char out[32];
  ASSERT_EQ(*ring.try_recv(out, sizeof(out)), sizeof(msg));
  EXPECT_STREQ(out, "hello, ring");
}

TEST(MpscRing, WrapsAroundManyTimes) {
  constexpr uint32_t kCap = 8;
  constexpr uint32_t kSlot = 40;
  Region r(MpscRing::bytes_for(kCap, kSlot));
  MpscRing consumer = MpscRing::create(r.mem, r.size, kCap, kSlot).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  uint64_t sent = 0;
  uint64_t received = 0;
  std::mt19937 rng(7);
  uint8_t msg[kSlot];
  uint8_t out[kSlot];
  // Mixed batch sizes so head and tail meet at every slot index, with varying lengths.
  while (received < 100000) {
    uint32_t batch = rng() % (kCap + 1);
    for (uint32_t i = 0; i < batch; ++i) {
      usize len = 8 + (sent % (kSlot - 7));
      std::memset(msg, static_cast<int>(sent & 0xff), len);
      std::memcpy(msg, &sent, sizeof(sent));
      bool wake;
      Status st = producer.try_send(msg, len, &wake);
      if (!st.ok()) {
        ASSERT_EQ(st.error(), Error::kWouldBlock);
        ASSERT_EQ(sent - received, kCap);
        break;
      }
      ++sent;
    }
    uint32_t take = rng() % (kCap + 1);
    for (uint32_t i = 0; i < take; ++i) {
      Result<usize> len = consumer.try_recv(out, sizeof(out));
      if (!len.ok()) {
        ASSERT_EQ(len.error(), Error::kWouldBlock);
        ASSERT_EQ(sent, received);
        break;
      }
      uint64_t id;
      std::memcpy(&id, out, sizeof(id));
      ASSERT_EQ(id, received);
      ASSERT_EQ(*len, 8 + (received % (kSlot - 7)));
      for (usize b = 8; b < *len; ++b) ASSERT_EQ(out[b], received & 0xff);
      ++received;
    }
  }
  EXPECT_GT(sent / kCap, 10000u);
}

// --- Header validation on attach -----------------------------------------------------------

class AttachValidation : public ::testing::Test {
 protected:
  static constexpr uint32_t kCap = 16;
  static constexpr uint32_t kSlot = 48;
  AttachValidation() : region_(MpscRing::bytes_for(kCap, kSlot)) {
    EXPECT_TRUE(MpscRing::create(region_.mem, region_.size, kCap, kSlot).ok());
  }
  Error attach_error() {
    Result<MpscRing> r = MpscRing::attach(region_.mem, region_.size);
    return r.ok() ? Error{} : r.error();
  }
  Region region_;
};

TEST_F(AttachValidation, GoodHeaderAttaches) {
  EXPECT_TRUE(MpscRing::attach(region_.mem, region_.size).ok());
}

TEST_F(AttachValidation, BadMagicOrVersion) {
  region_.header()->magic ^= 1;
  EXPECT_EQ(attach_error(), Error::kMalformed);
  region_.header()->magic ^= 1;
  region_.header()->version = 2;
  EXPECT_EQ(attach_error(), Error::kUnsupported);
}

TEST_F(AttachValidation, CorruptCapacity) {
  for (uint32_t bad : {0u, 1u, 3u, 17u, kCap * 2, 0x80000000u, 0xffffffffu}) {
    region_.header()->capacity = bad;
    EXPECT_EQ(attach_error(), Error::kMalformed) << bad;
  }
}

TEST_F(AttachValidation, CorruptSlotGeometry) {
  for (uint32_t bad : {0u, kSlot + 1, kSlot + 64, layout::kMaxSlotBytes + 1, 0xffffffffu}) {
    region_.header()->slot_bytes = bad;
    EXPECT_EQ(attach_error(), Error::kMalformed) << bad;
  }
  region_.header()->slot_bytes = kSlot;
  region_.header()->slot_stride = 16;
  EXPECT_EQ(attach_error(), Error::kMalformed);
  region_.header()->slot_stride = layout::slot_stride(kSlot);
  region_.header()->header_bytes = 0;
  EXPECT_EQ(attach_error(), Error::kMalformed);
  region_.header()->header_bytes = sizeof(layout::Header);
  region_.header()->region_bytes = ~uint64_t{0};
  EXPECT_EQ(attach_error(), Error::kMalformed);
}

TEST_F(AttachValidation, ConsistentButLargerThanTheMapping) {
  // A self-consistent header describing a bigger ring than the mapping the client holds.
  layout::Header* h = region_.header();
  h->capacity = kCap * 4;
  h->region_bytes = MpscRing::bytes_for(kCap * 4, kSlot);
  EXPECT_EQ(attach_error(), Error::kOutOfRange);
}

TEST_F(AttachValidation, MappingTooSmallOrMisaligned) {
  EXPECT_EQ(MpscRing::attach(region_.mem, region_.size - 1).error(), Error::kOutOfRange);
  EXPECT_EQ(MpscRing::attach(region_.mem, 16).error(), Error::kOutOfRange);
  EXPECT_EQ(MpscRing::attach(region_.mem + 8, region_.size - 8).error(), Error::kNotAligned);
  EXPECT_EQ(MpscRing::attach(nullptr, region_.size).error(), Error::kInvalidArgument);
}

TEST_F(AttachValidation, RandomHeaderGarbageNeverAttachesOutOfBounds) {
  std::mt19937 rng(1234);
  auto* words = reinterpret_cast<uint32_t*>(region_.mem);
  for (int round = 0; round < 20000; ++round) {
    ASSERT_TRUE(MpscRing::create(region_.mem, region_.size, kCap, kSlot).ok());
    int flips = 1 + rng() % 4;
    for (int i = 0; i < flips; ++i) words[rng() % 8] = rng() % 3 == 0 ? rng() % 256 : rng();
    Result<MpscRing> r = MpscRing::attach(region_.mem, region_.size);
    if (r.ok()) {
      // Whatever attached must describe a ring that fits the mapping.
      EXPECT_LE(MpscRing::bytes_for(r->capacity(), r->max_payload()), region_.size);
      bool wake;
      uint8_t msg[layout::kMaxSlotBytes] = {};
      Status st = r->try_send(msg, r->max_payload(), &wake);
      (void)st;
    }
  }
}

// --- Sleep and wait flags, single-threaded --------------------------------------------------

TEST(MpscRing, ConsumerSleepFlagSuppressesRedundantWakes) {
  Region r(MpscRing::bytes_for(8, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 8, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  bool wake = true;
  ASSERT_TRUE(send_u32(producer, 1, &wake).ok());
  EXPECT_FALSE(wake);                      // consumer awake: nobody signals
  EXPECT_FALSE(consumer.prepare_sleep());  // non-empty: do not sleep
  ASSERT_TRUE(recv_u32(consumer).ok());
  EXPECT_TRUE(consumer.prepare_sleep());
  ASSERT_TRUE(send_u32(producer, 2, &wake).ok());
  EXPECT_TRUE(wake);  // first send after the announcement signals
  ASSERT_TRUE(send_u32(producer, 3, &wake).ok());
  EXPECT_FALSE(wake);  // and only the first
  consumer.cancel_sleep();
  EXPECT_EQ(*recv_u32(consumer), 2u);
  EXPECT_EQ(*recv_u32(consumer), 3u);
  // A cancelled sleep is not signalled.
  EXPECT_TRUE(consumer.prepare_sleep());
  consumer.cancel_sleep();
  ASSERT_TRUE(send_u32(producer, 4, &wake).ok());
  EXPECT_FALSE(wake);
  // A producer that cannot signal leaves the announcement for one that can.
  ASSERT_TRUE(recv_u32(consumer).ok());
  EXPECT_TRUE(consumer.prepare_sleep());
  uint32_t v = 5;
  ASSERT_TRUE(producer.try_send(&v, sizeof(v), nullptr).ok());
  ASSERT_TRUE(send_u32(producer, 6, &wake).ok());
  EXPECT_TRUE(wake);
}

TEST(MpscRing, ProducersWaitingFlagReportsOnce) {
  Region r(MpscRing::bytes_for(4, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 4, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(send_u32(producer, i).ok());
  ASSERT_EQ(send_u32(producer, 4).error(), Error::kWouldBlock);
  EXPECT_FALSE(consumer.take_wake_producers());
  EXPECT_TRUE(producer.prepare_wait_space());  // still full: sleep
  EXPECT_TRUE(producer.prepare_wait_space());  // a second waiter
  uint32_t out;
  bool wake = false;
  ASSERT_TRUE(consumer.try_recv(&out, sizeof(out), &wake).ok());
  EXPECT_TRUE(wake);  // one report covers every producer that announced before the free
  ASSERT_TRUE(consumer.try_recv(&out, sizeof(out), &wake).ok());
  EXPECT_FALSE(wake);
  // Space exists: a producer about to wait is told not to.
  EXPECT_FALSE(producer.prepare_wait_space());
  ASSERT_TRUE(send_u32(producer, 4).ok());
}

TEST(MpscRing, ProducerWakesAreBatchedButNeverOwedAcrossASleep) {
  Region r(MpscRing::bytes_for(16, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 16, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  EXPECT_EQ(consumer.wake_batch(), 4u);
  for (uint32_t i = 0; i < 16; ++i) ASSERT_TRUE(send_u32(producer, i).ok());
  EXPECT_TRUE(producer.prepare_wait_space());
  uint32_t out;
  bool wake = false;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(consumer.try_recv(&out, sizeof(out), &wake).ok());
    EXPECT_FALSE(wake) << i;
  }
  ASSERT_TRUE(consumer.try_recv(&out, sizeof(out), &wake).ok());
  EXPECT_TRUE(wake);  // the fourth free pays the wake-up

  // A debt is paid early by an explicit flush...
  EXPECT_TRUE(producer.prepare_wait_space() == false);  // 4 slots free now: no need to wait
  for (uint32_t i = 0; i < 4; ++i) ASSERT_TRUE(send_u32(producer, i).ok());
  EXPECT_TRUE(producer.prepare_wait_space());
  ASSERT_TRUE(consumer.try_recv(&out, sizeof(out), &wake).ok());
  EXPECT_FALSE(wake);
  consumer.flush_wake_producers();
  EXPECT_TRUE(consumer.take_wake_producers());

  // ...and always by the kWouldBlock that precedes any sleep.
  EXPECT_FALSE(producer.prepare_wait_space());  // one slot free, but the announcement stands
  consumer.set_wake_batch(1000);
  EXPECT_EQ(consumer.wake_batch(), 16u);
  for (;;) {
    Result<usize> got = consumer.try_recv(&out, sizeof(out), &wake);
    if (!got.ok()) {
      EXPECT_EQ(got.error(), Error::kWouldBlock);
      EXPECT_TRUE(wake);
      break;
    }
    EXPECT_FALSE(wake);
  }
  EXPECT_TRUE(consumer.prepare_sleep());
  consumer.cancel_sleep();
  EXPECT_FALSE(consumer.take_wake_producers());
}

// The four wake-up cases of docs/channels.md, each with its race replayed step by step in the
// losing order (the threaded tests in mpsc_ring_threads_test.cc hit them by chance; here every
// interleaving that matters is forced).
TEST(MpscRingRaces, ConsumerEmptyThenProducerSendsBeforeTheAnnouncement) {
  Region r(MpscRing::bytes_for(4, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 4, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  EXPECT_EQ(recv_u32(consumer).error(), Error::kWouldBlock);  // consumer decides to sleep
  bool wake = true;
  ASSERT_TRUE(send_u32(producer, 1, &wake).ok());  // publish lands before the announcement
  EXPECT_FALSE(wake);                              // so the producer sees nobody asleep
  EXPECT_FALSE(consumer.prepare_sleep());          // and the consumer's re-check sees the message
  EXPECT_EQ(*recv_u32(consumer), 1u);
}

TEST(MpscRingRaces, ConsumerAnnouncedThenProducerSends) {
  Region r(MpscRing::bytes_for(4, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 4, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  EXPECT_EQ(recv_u32(consumer).error(), Error::kWouldBlock);
  ASSERT_TRUE(consumer.prepare_sleep());
  bool wake = false;
  ASSERT_TRUE(send_u32(producer, 1, &wake).ok());
  EXPECT_TRUE(wake);  // the announcement is seen: the producer must signal
}

TEST(MpscRingRaces, ProducerFullThenConsumerFreesBeforeTheAnnouncement) {
  Region r(MpscRing::bytes_for(2, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 2, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  ASSERT_TRUE(send_u32(producer, 1).ok());
  ASSERT_TRUE(send_u32(producer, 2).ok());
  EXPECT_EQ(send_u32(producer, 3).error(), Error::kWouldBlock);  // producer decides to wait
  bool wake = true;
  uint32_t out;
  ASSERT_TRUE(consumer.try_recv(&out, sizeof(out), &wake).ok());  // free lands first
  EXPECT_FALSE(wake);                                             // nobody announced yet
  EXPECT_FALSE(producer.prepare_wait_space());  // so the producer's re-check sees the space
  ASSERT_TRUE(send_u32(producer, 3).ok());
}

TEST(MpscRingRaces, ProducerAnnouncedThenConsumerFrees) {
  Region r(MpscRing::bytes_for(2, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 2, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  ASSERT_TRUE(send_u32(producer, 1).ok());
  ASSERT_TRUE(send_u32(producer, 2).ok());
  EXPECT_EQ(send_u32(producer, 3).error(), Error::kWouldBlock);
  ASSERT_TRUE(producer.prepare_wait_space());
  uint32_t out;
  bool wake = false;
  ASSERT_TRUE(consumer.try_recv(&out, sizeof(out), &wake).ok());
  EXPECT_TRUE(wake);  // the announcement is seen: the consumer must signal
}

// --- A hostile producer ---------------------------------------------------------------------

// Scribbles random words over the whole region (header and slots) between consumer calls. The
// consumer must stay inside the region (ASan checks the exact-size allocation and the exact-size
// receive buffer), return from every call, and never report a length beyond its buffer.
TEST(MpscRingHostile, ConsumerSurvivesGarbageEverywhere) {
  constexpr uint32_t kCap = 8;
  constexpr uint32_t kSlot = 24;
  Region r(MpscRing::bytes_for(kCap, kSlot));
  MpscRing consumer = MpscRing::create(r.mem, r.size, kCap, kSlot).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  auto buf = std::make_unique<uint8_t[]>(kSlot);
  std::mt19937_64 rng(99);
  uint64_t malformed = 0;
  uint64_t delivered = 0;
  for (int round = 0; round < 20000; ++round) {
    bool wake;
    uint8_t msg[kSlot] = {};
    for (int i = 0; i < 3; ++i) (void)producer.try_send(msg, rng() % (kSlot + 1), &wake);
    int scribbles = rng() % 6;
    for (int i = 0; i < scribbles; ++i) {
      uint32_t which = rng() % kCap;
      layout::SlotHeader* s = r.slot(which, kSlot);
      switch (rng() % 6) {
        case 0:
          s->seq = rng();
          break;
        case 1:  // "publish" an unclaimed slot
          s->seq = s->seq + 1;
          break;
        case 2:
          s->seq = s->seq - kCap;
          break;
        case 3:
          s->len = static_cast<uint32_t>(rng());
          break;
        case 4:
          s->len = 0xffffffffu;
          break;
        default: {
          usize off = rng() % (r.size - 8);
          uint64_t v = rng();
          std::memcpy(r.mem + off, &v, 8);
        }
      }
    }
    for (uint32_t i = 0; i < 2 * kCap; ++i) {
      Result<usize> got = consumer.try_recv(buf.get(), kSlot);
      if (got.ok()) {
        ASSERT_LE(*got, kSlot);
        ++delivered;
      } else if (got.error() == Error::kMalformed) {
        ++malformed;
      } else {
        ASSERT_TRUE(got.error() == Error::kWouldBlock || got.error() == Error::kOutOfRange)
            << error_name(got.error());
        break;
      }
    }
    (void)consumer.prepare_sleep();
    consumer.cancel_sleep();
    (void)consumer.take_wake_producers();
  }
  EXPECT_GT(malformed, 0u);
  EXPECT_GT(delivered, 0u);
}

// Static corruption (a scribble that then stops) is always drained within one lap: every corrupt
// slot is dropped once and left clean, so the consumer reaches kWouldBlock and can sleep.
TEST(MpscRingHostile, CorruptLapDrainsWithinCapacityCalls) {
  constexpr uint32_t kCap = 16;
  constexpr uint32_t kSlot = 16;
  Region r(MpscRing::bytes_for(kCap, kSlot));
  MpscRing consumer = MpscRing::create(r.mem, r.size, kCap, kSlot).release_value();
  std::mt19937_64 rng(5);
  uint8_t buf[kSlot];
  for (int round = 0; round < 2000; ++round) {
    for (uint32_t i = 0; i < kCap; ++i) {
      r.slot(i, kSlot)->seq = rng();
      r.slot(i, kSlot)->len = static_cast<uint32_t>(rng());
    }
    uint32_t calls = 0;
    for (;;) {
      Result<usize> got = consumer.try_recv(buf, sizeof(buf));
      ++calls;
      if (!got.ok() && got.error() == Error::kWouldBlock) break;
      ASSERT_LE(calls, kCap + 1) << "consumer did not drain a corrupt lap";
      if (!got.ok() && got.error() == Error::kOutOfRange) FAIL() << "len above max passed";
    }
    EXPECT_TRUE(consumer.prepare_sleep());
    consumer.cancel_sleep();
  }
}

TEST(MpscRingHostile, ProducerDetectsStuckCorruptionInsteadOfSpinning) {
  Region r(MpscRing::bytes_for(4, 16));
  MpscRing consumer = MpscRing::create(r.mem, r.size, 4, 16).release_value();
  MpscRing producer = MpscRing::attach(r.mem, r.size).release_value();
  // The slot at tail claims to be a lap ahead while tail does not move.
  r.slot(0, 16)->seq = 4;
  bool wake;
  uint32_t v = 1;
  EXPECT_EQ(producer.try_send(&v, sizeof(v), &wake).error(), Error::kMalformed);
  // Header geometry scribbled after attach changes nothing: both sides kept private copies.
  r.header()->capacity = 0xffffffffu;
  r.header()->slot_bytes = 0xffffffffu;
  r.slot(0, 16)->seq = 0;
  ASSERT_TRUE(producer.try_send(&v, sizeof(v), &wake).ok());
  uint8_t big[64] = {};
  EXPECT_EQ(producer.try_send(big, sizeof(big), &wake).error(), Error::kInvalidArgument);
  EXPECT_EQ(*recv_u32(consumer), 1u);
  // A tail thrown far away only makes the consumer see nothing: it keeps its own head.
  r.header()->tail = 0x123456789abcdefull;
  EXPECT_EQ(recv_u32(consumer).error(), Error::kWouldBlock);
}

}  // namespace
}  // namespace exo::channel
