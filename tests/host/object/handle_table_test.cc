// Host tests for Rights, RefPtr and HandleTable (forged/stale handles, rights, transfer).
#include "kernel/object/handle_table.h"
#include "kernel/object/kernel_object.h"
#include "kernel/object/ref_counted.h"
#include "kernel/object/rights.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <vector>

namespace exo::object {
namespace {

class Endpoint final : public KernelObject {
 public:
  static constexpr ObjectType kType = ObjectType::kEndpoint;
  static RefPtr<Endpoint> create(int* destroyed) { return adopt_ref(new Endpoint(destroyed)); }
  void destroy() override {
    ++*destroyed_;
    delete this;
  }
  int tag = 0;

 private:
  explicit Endpoint(int* destroyed) : KernelObject(kType), destroyed_(destroyed) {}
  int* destroyed_;
};

class Memory final : public KernelObject {
 public:
  static constexpr ObjectType kType = ObjectType::kMemoryObject;
  static RefPtr<Memory> create(int* destroyed) { return adopt_ref(new Memory(destroyed)); }
  void destroy() override {
    ++*destroyed_;
    delete this;
  }

 private:
  explicit Memory(int* destroyed) : KernelObject(kType), destroyed_(destroyed) {}
  int* destroyed_;
};

constexpr Rights kRw = Rights::kRead | Rights::kWrite;
constexpr Rights kRwDup = kRw | Rights::kDuplicate;

TEST(Rights, BitOperations) {
  EXPECT_TRUE(has_rights(kRwDup, Rights::kRead));
  EXPECT_TRUE(has_rights(kRwDup, kRw));
  EXPECT_TRUE(has_rights(Rights::kNone, Rights::kNone));
  EXPECT_FALSE(has_rights(kRw, Rights::kDuplicate));
  EXPECT_EQ(rights_bits(~kAllRights), 0u);
  EXPECT_EQ(~Rights::kNone, kAllRights);
  Rights r = Rights::kRead;
  r |= Rights::kMap;
  r &= Rights::kMap;
  EXPECT_EQ(r, Rights::kMap);
  EXPECT_EQ(*rights_from_user(rights_bits(kRw)), kRw);
  EXPECT_EQ(rights_from_user(1u << 31).error(), Error::kInvalidArgument);
  EXPECT_EQ(rights_from_user(kAllRightsBits + 1).error(), Error::kInvalidArgument);
}

TEST(RefPtr, CountsAndDestroysOnce) {
  int destroyed = 0;
  {
    RefPtr<Endpoint> a = Endpoint::create(&destroyed);
    EXPECT_EQ(a->ref_count(), 1u);
    RefPtr<Endpoint> b = a;
    EXPECT_EQ(a->ref_count(), 2u);
    RefPtr<KernelObject> base = b;  // upcast copy
    EXPECT_EQ(a->ref_count(), 3u);
    RefPtr<Endpoint> c = move(b);
    EXPECT_FALSE(b);
    EXPECT_EQ(a->ref_count(), 3u);
    RefPtr<Endpoint> back = static_ref_cast<Endpoint>(move(base));
    EXPECT_EQ(back, a);
    EXPECT_EQ(a->ref_count(), 3u);
    back = nullptr;
    c.reset();
    EXPECT_EQ(a->ref_count(), 1u);
    Endpoint* raw = a.leak_ref();
    EXPECT_FALSE(a);
    RefPtr<Endpoint> readopted = adopt_ref(raw);
    RefPtr<Endpoint> retained = retain_ref(raw);
    EXPECT_EQ(raw->ref_count(), 2u);
    a = readopted;
    a = a;  // self-assignment keeps the count
    EXPECT_EQ(raw->ref_count(), 3u);
    EXPECT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, 1);
}

TEST(HandleTable, AddGetRoundTrip) {
  int destroyed = 0;
  InlineHandleTable<8> table;
  EXPECT_EQ(table.capacity(), 8u);
  RefPtr<Endpoint> ep = Endpoint::create(&destroyed);
  ep->tag = 42;
  Handle h = *table.add(ep, kRw);
  EXPECT_NE(h, kInvalidHandle);
  EXPECT_EQ(table.count(), 1u);
  EXPECT_EQ(ep->ref_count(), 2u);  // the table holds one
  auto got = table.get<Endpoint>(h, Rights::kRead);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->tag, 42);
  EXPECT_EQ(*table.rights_of(h), kRw);
  EXPECT_TRUE(table.get(h, ObjectType::kNone, Rights::kNone).ok());
  EXPECT_EQ(table.get(kInvalidHandle, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
}

TEST(HandleTable, RejectsNullAndUndefinedRights) {
  InlineHandleTable<2> table;
  int destroyed = 0;
  EXPECT_EQ(table.add(RefPtr<KernelObject>(), kRw).error(), Error::kInvalidArgument);
  EXPECT_EQ(table.add(Endpoint::create(&destroyed), static_cast<Rights>(1u << 30)).error(),
            Error::kInvalidArgument);
  EXPECT_EQ(destroyed, 1);  // the refused reference was dropped, not leaked
  EXPECT_EQ(table.count(), 0u);
}

TEST(HandleTable, WrongTypeThenRights) {
  int destroyed = 0;
  InlineHandleTable<4> table;
  Handle h = *table.add(Endpoint::create(&destroyed), Rights::kRead);
  EXPECT_EQ(table.get<Memory>(h, Rights::kNone).error(), Error::kWrongType);
  EXPECT_EQ(table.get<Memory>(h, Rights::kWrite).error(), Error::kWrongType);
  EXPECT_EQ(table.get<Endpoint>(h, Rights::kWrite).error(), Error::kAccessDenied);
  EXPECT_EQ(table.get<Endpoint>(h, kRw).error(), Error::kAccessDenied);
  EXPECT_TRUE(table.get<Endpoint>(h, Rights::kRead).ok());
}

TEST(HandleTable, ForgedValuesAreBadHandles) {
  int destroyed = 0;
  for (uint32_t salt : {0u, 0x9e3779b9u}) {
    InlineHandleTable<64> table(salt);
    std::set<Handle> live;
    for (int i = 0; i < 40; ++i) live.insert(*table.add(Endpoint::create(&destroyed), kAllRights));
    std::mt19937 rng(salt + 5);
    int checked = 0;
    for (int i = 0; i < 200000; ++i) {
      Handle forged = rng();
      if (live.count(forged) != 0) continue;
      ++checked;
      ASSERT_EQ(table.get(forged, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle)
          << forged;
      ASSERT_EQ(table.close(forged).error(), Error::kBadHandle);
      ASSERT_EQ(table.duplicate(forged, Rights::kNone).error(), Error::kBadHandle);
      ASSERT_EQ(table.remove_for_transfer(forged).error(), Error::kBadHandle);
    }
    EXPECT_GT(checked, 199000);
    // Neighbours of live values (index +- 1, generation +- 1, tag bit flipped) are refused too.
    for (Handle h : live) {
      for (Handle near : {h ^ 1u, h + 2, h - 2, h + (1u << 17), h - (1u << 17)}) {
        if (live.count(near) == 0) {
          EXPECT_EQ(table.get(near, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
        }
      }
    }
    EXPECT_EQ(table.count(), 40u);
  }
}

TEST(HandleTable, StaleAfterCloseAndAfterReuse) {
  int destroyed = 0;
  InlineHandleTable<1> table;
  Handle first = *table.add(Endpoint::create(&destroyed), kRw);
  EXPECT_TRUE(table.close(first).ok());
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(table.close(first).error(), Error::kBadHandle);
  EXPECT_EQ(table.get(first, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
  // The one slot is reused: the old value must not reach the new object.
  Handle second = *table.add(Endpoint::create(&destroyed), kRw);
  EXPECT_NE(second, first);
  EXPECT_EQ(table.get(first, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
  EXPECT_TRUE(table.get(second, ObjectType::kNone, Rights::kNone).ok());
  // Every reuse of the slot yields a fresh value until the generation wraps.
  std::set<Handle> seen = {first, second};
  Handle h = second;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(table.close(h).ok());
    h = *table.add(Endpoint::create(&destroyed), kRw);
    ASSERT_TRUE(seen.insert(h).second);
  }
}

TEST(HandleTable, ReuseIsOldestFreedFirst) {
  int destroyed = 0;
  InlineHandleTable<3> table;
  Handle a = *table.add(Endpoint::create(&destroyed), kRw);
  Handle b = *table.add(Endpoint::create(&destroyed), kRw);
  ASSERT_TRUE(table.close(a).ok());
  ASSERT_TRUE(table.close(b).ok());
  // Slot 2 was never used, so it comes first, then a's slot, then b's.
  Handle c = *table.add(Endpoint::create(&destroyed), kRw);
  Handle d = *table.add(Endpoint::create(&destroyed), kRw);
  EXPECT_EQ((c >> 1) & 0xffff, 2u);
  EXPECT_EQ((d >> 1) & 0xffff, (a >> 1) & 0xffff);
}

TEST(HandleTable, DuplicateAttenuatesAndRefusesEscalation) {
  int destroyed = 0;
  InlineHandleTable<8> table;
  RefPtr<Endpoint> ep = Endpoint::create(&destroyed);
  Handle full = *table.add(ep, kRwDup);
  Handle read_only = *table.duplicate(full, Rights::kRead);
  EXPECT_EQ(*table.rights_of(read_only), Rights::kRead);
  EXPECT_EQ(table.get(read_only, ObjectType::kNone, Rights::kWrite).error(), Error::kAccessDenied);
  EXPECT_EQ(ep->ref_count(), 3u);
  // More than held: refused.
  EXPECT_EQ(table.duplicate(full, kRwDup | Rights::kTransfer).error(), Error::kAccessDenied);
  // The read-only copy has no kDuplicate, so it cannot be copied at all.
  EXPECT_EQ(table.duplicate(read_only, Rights::kRead).error(), Error::kAccessDenied);
  EXPECT_EQ(table.duplicate(read_only, Rights::kNone).error(), Error::kAccessDenied);
  EXPECT_EQ(table.duplicate(full, static_cast<Rights>(1u << 29)).error(), Error::kInvalidArgument);
  // Same rights is allowed, and closing one leaves the other working.
  Handle twin = *table.duplicate(full, kRwDup);
  ASSERT_TRUE(table.close(full).ok());
  EXPECT_TRUE(table.get<Endpoint>(twin, kRw).ok());
  EXPECT_EQ(table.count(), 2u);
}

TEST(HandleTable, CapacityFull) {
  int destroyed = 0;
  InlineHandleTable<4> table;
  std::vector<Handle> handles;
  for (int i = 0; i < 4; ++i) handles.push_back(*table.add(Endpoint::create(&destroyed), kRwDup));
  EXPECT_EQ(table.add(Endpoint::create(&destroyed), kRw).error(), Error::kNoMemory);
  EXPECT_EQ(destroyed, 1);  // the reference that found no slot was dropped
  EXPECT_EQ(table.duplicate(handles[0], kRw).error(), Error::kNoMemory);
  ASSERT_TRUE(table.close(handles[2]).ok());
  EXPECT_TRUE(table.add(Endpoint::create(&destroyed), kRw).ok());
  EXPECT_EQ(table.count(), 4u);
}

TEST(HandleTable, ZeroCapacityStorage) {
  int destroyed = 0;
  HandleTable table{Span<HandleSlot>()};
  EXPECT_EQ(table.add(Endpoint::create(&destroyed), kRw).error(), Error::kNoMemory);
  EXPECT_EQ(table.get(1, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
}

TEST(HandleTable, TransferCommitMovesTheReference) {
  int destroyed = 0;
  InlineHandleTable<4> sender(0x1234);
  InlineHandleTable<4> receiver(0xabcd0);
  RefPtr<Endpoint> ep = Endpoint::create(&destroyed);
  Handle h = *sender.add(ep, kRw | Rights::kTransfer);
  Handle no_transfer = *sender.add(ep, kRw);
  EXPECT_EQ(sender.remove_for_transfer(no_transfer).error(), Error::kAccessDenied);

  auto entry = sender.remove_for_transfer(h);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->rights_, kRw | Rights::kTransfer);
  // While in flight the value is unusable, and cannot be taken twice.
  EXPECT_EQ(sender.get(h, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
  EXPECT_EQ(sender.close(h).error(), Error::kBadHandle);
  EXPECT_EQ(sender.remove_for_transfer(h).error(), Error::kBadHandle);
  EXPECT_EQ(sender.count(), 1u);

  Handle delivered = *receiver.add(move(entry->object_), entry->rights_ & ~Rights::kTransfer);
  ASSERT_TRUE(sender.commit_transfer(h).ok());
  EXPECT_EQ(sender.commit_transfer(h).error(), Error::kBadHandle);
  EXPECT_EQ(sender.get(h, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
  EXPECT_EQ(receiver.get<Endpoint>(delivered, kRw)->get(), ep.get());
  EXPECT_EQ(ep->ref_count(), 3u);  // ep, sender's no_transfer, receiver
}

TEST(HandleTable, TransferRestoredWhenReceiverIsFull) {
  int destroyed = 0;
  InlineHandleTable<2> sender;
  InlineHandleTable<1> receiver;
  Handle filler = *receiver.add(Memory::create(&destroyed), kRw);
  Handle h = *sender.add(Endpoint::create(&destroyed), kRw | Rights::kTransfer);
  auto entry = sender.remove_for_transfer(h);
  ASSERT_TRUE(entry.ok());
  // Install a second reference so the failed add cannot be the one to destroy the object.
  auto result = receiver.add(entry->object_, entry->rights_);
  EXPECT_EQ(result.error(), Error::kNoMemory);
  // Another handle added meanwhile cannot steal the reserved slot.
  Handle other = *sender.add(Memory::create(&destroyed), kRw);
  EXPECT_EQ(sender.add(Memory::create(&destroyed), kRw).error(), Error::kNoMemory);
  ASSERT_TRUE(sender.restore(h, move(*entry)).ok());
  EXPECT_EQ(sender.get<Endpoint>(h, kRw)->get()->ref_count(), 2u);  // table + this temporary
  EXPECT_EQ(sender.count(), 2u);
  // Restoring a value that is not in transit is refused and drops the entry's reference.
  int extra_destroyed = 0;
  HandleEntry bogus{Endpoint::create(&extra_destroyed), kRw};
  EXPECT_EQ(sender.restore(other, move(bogus)).error(), Error::kBadHandle);
  EXPECT_EQ(extra_destroyed, 1);
  EXPECT_EQ(destroyed, 1);  // only the refused Memory
  (void)filler;
}

TEST(HandleTable, RestoringAnEmptyEntryFreesTheReservation) {
  int destroyed = 0;
  InlineHandleTable<1> table;
  Handle h = *table.add(Endpoint::create(&destroyed), Rights::kTransfer);
  auto entry = table.remove_for_transfer(h);
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(table.restore(h, HandleEntry{}).error(), Error::kInvalidArgument);
  EXPECT_EQ(table.restore(h, HandleEntry{}).error(), Error::kBadHandle);
  EXPECT_TRUE(table.add(Endpoint::create(&destroyed), Rights::kRead).ok());  // slot is free again
}

TEST(HandleTable, TakeHandsTheReferenceOut) {
  int destroyed = 0;
  InlineHandleTable<2> table;
  Handle h = *table.add(Endpoint::create(&destroyed), kRw);
  {
    auto entry = table.take(h);
    ASSERT_TRUE(entry.ok());
    EXPECT_EQ(destroyed, 0);  // still held by the entry
    EXPECT_EQ(table.get(h, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
  }
  EXPECT_EQ(destroyed, 1);
}

TEST(HandleTable, DestructionAndClearReleaseEveryReference) {
  int destroyed = 0;
  RefPtr<Endpoint> kept = Endpoint::create(&destroyed);
  {
    InlineHandleTable<16> table;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(table.add(Endpoint::create(&destroyed), kRw).ok());
    ASSERT_TRUE(table.add(kept, kRw).ok());
    ASSERT_TRUE(table.add(kept, kRw).ok());
    EXPECT_EQ(kept->ref_count(), 3u);
  }
  EXPECT_EQ(destroyed, 10);
  EXPECT_EQ(kept->ref_count(), 1u);

  HandleSlot storage[5];
  HandleTable table{Span<HandleSlot>(storage)};
  EXPECT_EQ(table.capacity(), 5u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(table.add(Endpoint::create(&destroyed), kRw).ok());
  table.clear();
  EXPECT_EQ(destroyed, 15);
  EXPECT_EQ(table.count(), 0u);
  EXPECT_TRUE(table.add(Endpoint::create(&destroyed), kRw).ok());
}

// Random operations against a std::map model: every live handle resolves to its object with its
// rights, every retired value stays dead, and no reference leaks.
TEST(HandleTable, RandomisedAgainstModel) {
  int destroyed = 0;
  int created = 0;
  std::mt19937 rng(2024);
  {
    InlineHandleTable<32> table(0x5eed5eed);
    std::map<Handle, std::pair<Endpoint*, Rights>> live;
    std::vector<Handle> dead;
    for (int step = 0; step < 100000; ++step) {
      int op = static_cast<int>(rng() % 5);
      Handle pick =
          live.empty() ? kInvalidHandle : std::next(live.begin(), rng() % live.size())->first;
      if (op == 0 || live.empty()) {
        RefPtr<Endpoint> ep = Endpoint::create(&destroyed);
        ++created;
        Endpoint* raw = ep.get();
        Rights r = static_cast<Rights>(rng() & kAllRightsBits);
        auto h = table.add(move(ep), r);
        if (live.size() == 32) {
          ASSERT_EQ(h.error(), Error::kNoMemory);
        } else {
          ASSERT_TRUE(h.ok());
          ASSERT_EQ(live.count(*h), 0u);
          live[*h] = {raw, r};
        }
      } else if (op == 1) {
        ASSERT_TRUE(table.close(pick).ok());
        live.erase(pick);
        dead.push_back(pick);
      } else if (op == 2) {
        Rights want = static_cast<Rights>(rng() & kAllRightsBits);
        auto [obj, held] = live[pick];
        auto h = table.duplicate(pick, want);
        if (!has_rights(held, Rights::kDuplicate) || !has_rights(held, want)) {
          ASSERT_EQ(h.error(), Error::kAccessDenied);
        } else if (live.size() == 32) {
          ASSERT_EQ(h.error(), Error::kNoMemory);
        } else {
          ASSERT_TRUE(h.ok());
          live[*h] = {obj, want};
        }
      } else if (op == 3) {
        Rights want = static_cast<Rights>(rng() & kAllRightsBits);
        auto got = table.get<Endpoint>(pick, want);
        if (has_rights(live[pick].second, want)) {
          ASSERT_EQ(got->get(), live[pick].first);
        } else {
          ASSERT_EQ(got.error(), Error::kAccessDenied);
        }
      } else if (!dead.empty()) {
        Handle old = dead[rng() % dead.size()];
        if (live.count(old) == 0) {
          ASSERT_EQ(table.get(old, ObjectType::kNone, Rights::kNone).error(), Error::kBadHandle);
        }
      }
      ASSERT_EQ(table.count(), live.size());
    }
  }
  EXPECT_EQ(destroyed, created);
}

}  // namespace
}  // namespace exo::object

namespace exo::object {
namespace {

// removals() is what lets the IPC fast path trust a remembered lookup: it must move on every
// way a handle can stop naming its object, and on nothing else.
TEST(HandleTable, RemovalsMoveExactlyWhenAHandleStopsNamingItsObject) {
  int destroyed = 0;
  InlineHandleTable<8> table;
  uint64_t r = table.removals();
  Result<Handle> a = table.add(Endpoint::create(&destroyed), kRw | Rights::kTransfer | Rights::kDuplicate);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(table.removals(), r);  // adding removes nothing
  ASSERT_TRUE(table.get<Endpoint>(*a, Rights::kRead).ok());
  EXPECT_NE(table.peek(*a, ObjectType::kEndpoint, Rights::kWrite), nullptr);
  EXPECT_EQ(table.peek(*a, ObjectType::kEndpoint, Rights::kSignal), nullptr);
  EXPECT_EQ(table.peek(*a, ObjectType::kMemoryObject, Rights::kNone), nullptr);
  Result<Handle> b = table.duplicate(*a, Rights::kRead | Rights::kTransfer);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(table.removals(), r);  // nor do lookups and duplicates
  ASSERT_TRUE(table.close(*b).ok());
  EXPECT_GT(table.removals(), r);
  r = table.removals();
  Result<HandleEntry> moving = table.remove_for_transfer(*a);
  ASSERT_TRUE(moving.ok());
  EXPECT_GT(table.removals(), r);  // in transit: no longer usable
  r = table.removals();
  ASSERT_TRUE(table.restore(*a, move(*moving)).ok());
  EXPECT_EQ(table.removals(), r);
  Result<HandleEntry> taken = table.take(*a);
  ASSERT_TRUE(taken.ok());
  EXPECT_GT(table.removals(), r);
  r = table.removals();
  Result<Handle> c = table.add(move(taken->object_), kRw);
  ASSERT_TRUE(c.ok());
  table.clear();
  EXPECT_GT(table.removals(), r);
  EXPECT_EQ(destroyed, 1);
}

}  // namespace
}  // namespace exo::object
