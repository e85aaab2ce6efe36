// PriorityLists: a FIFO per priority level plus a bitmap of non-empty levels (O(1) pick).
#pragma once

#include "kernel/lib/bitmap.h"
#include "kernel/lib/intrusive_list.h"
#include "kernel/sched/sched_entity.h"

namespace exo::sched {

// The shared core of RunQueue (through the run-queue link, SchedQueueTag) and PriorityWaitQueue
// (through the wait link, WaitQueueTag). An entity is filed under its priority_ at the time it is
// pushed; priority_ must not change while it is filed (change_priority does the remove/re-insert).
// Not synchronised: the owner's lock guards it.
template <typename Tag>
class BasicPriorityLists {
 public:
  using List = IntrusiveList<SchedEntity, Tag>;
  static constexpr usize kNone = Bitmap<kPriorityLevels>::kNone;

  BasicPriorityLists() = default;
  BasicPriorityLists(const BasicPriorityLists&) = delete;
  BasicPriorityLists& operator=(const BasicPriorityLists&) = delete;

  bool empty() const { return count_ == 0; }
  usize count() const { return count_; }
  bool contains(const SchedEntity& e) const {
    return static_cast<const ListNode<Tag>&>(e).owner() == &levels_[e.priority_ % kPriorityLevels];
  }

  // Preconditions: `e` is on no list of Tag; e.priority_ < kPriorityLevels.
  void push_back(SchedEntity& e) {
    EXO_SCHED_CHECK(e.priority_ < kPriorityLevels);
    levels_[e.priority_].push_back(e);
    filled(e.priority_);
  }
  void push_front(SchedEntity& e) {
    EXO_SCHED_CHECK(e.priority_ < kPriorityLevels);
    levels_[e.priority_].push_front(e);
    filled(e.priority_);
  }
  // Precondition: contains(e).
  void remove(SchedEntity& e) {
    levels_[e.priority_].remove(e);
    drained(e.priority_);
  }

  // The most urgent non-empty level, or kNone.
  usize highest_level() const { return nonempty_.find_last_set(); }
  // Head (oldest) of the most urgent level, without removing it; null when empty.
  SchedEntity* peek_highest() const {
    usize level = highest_level();
    return level == kNone ? nullptr : levels_[level].front();
  }
  SchedEntity* pop_highest() {
    SchedEntity* e = peek_highest();
    if (e != nullptr) remove(*e);
    return e;
  }
  // pop_highest and push_back(in) in one step (a yield): returns the oldest entity of `level`,
  // which must be highest_level() (the caller has it already), and files `in` at the tail of its
  // own level. Preconditions: !empty(); `in` is on no list; in.priority_ < kPriorityLevels.
  [[gnu::always_inline]] SchedEntity* exchange_highest(usize level, SchedEntity& in) {
    EXO_SCHED_CHECK(in.priority_ < kPriorityLevels);
    if (level == in.priority_) return levels_[level].exchange_front(in);
    SchedEntity* out = levels_[level].pop_front();
    drained(level);
    push_back(in);
    return out;
  }
  // The FIFO of one level, for scans that cannot use the O(1) path (stealing by affinity).
  // Precondition: level < kPriorityLevels.
  const List& level(usize level) const { return levels_[level]; }
  // The next non-empty level strictly below `level`, or kNone.
  usize next_lower_level(usize level) const {
    while (level-- > 0) {
      if (nonempty_.test(level)) return level;
    }
    return kNone;
  }

 private:
  void filled(usize level) {
    nonempty_.set(level);
    ++count_;
  }
  void drained(usize level) {
    if (levels_[level].empty()) nonempty_.clear(level);
    --count_;
  }

  List levels_[kPriorityLevels];
  Bitmap<kPriorityLevels> nonempty_;
  usize count_ = 0;
};

using PriorityLists = BasicPriorityLists<SchedQueueTag>;

}  // namespace exo::sched
