// TimerQueue<T>: sleepers by deadline in an intrusive pairing heap; no allocation.
#pragma once

#include "kernel/lib/types.h"

namespace exo::sched {

// "No deadline": what next_deadline() returns for an empty queue, so callers can min() it.
inline constexpr uint64_t kNever = ~uint64_t{0};

// The heap link an element embeds by deriving from it. Inert while not queued; must not be queued
// when the element is destroyed.
class TimerNode {
 public:
  TimerNode() = default;
  TimerNode(const TimerNode&) = delete;
  TimerNode& operator=(const TimerNode&) = delete;
  ~TimerNode() {
    if (owner_ != nullptr) __builtin_trap();
  }

  bool timer_queued() const { return owner_ != nullptr; }
  // Valid while timer_queued().
  uint64_t deadline_ns() const { return deadline_ns_; }

 private:
  template <typename>
  friend class TimerQueue;

  uint64_t deadline_ns_ = 0;
  // Insertion order; breaks deadline ties so equal deadlines expire first-in first-out.
  uint64_t sequence_ = 0;
  TimerNode* child_ = nullptr;
  TimerNode* sibling_ = nullptr;
  // The parent when this node is the first child, else the left sibling; null for the root.
  TimerNode* prev_ = nullptr;
  const void* owner_ = nullptr;
};

// A min-heap of T (deriving from TimerNode) keyed by absolute deadline in nanoseconds.
// Not synchronised: one per CPU, guarded by that CPU's scheduler lock (or interrupts off).
// The queue does not own its elements and must be empty when destroyed.
template <typename T>
class TimerQueue {
 public:
  TimerQueue() = default;
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;
  ~TimerQueue() {
    if (size_ != 0) __builtin_trap();
  }

  bool empty() const { return root_ == nullptr; }
  usize size() const { return size_; }
  bool contains(const T& element) const { return node(element).owner_ == this; }

  // Precondition: `element` is on no timer queue.
  void insert(T& element, uint64_t deadline_ns) {
    TimerNode& n = node(element);
    if (n.owner_ != nullptr) __builtin_trap();
    n.deadline_ns_ = deadline_ns;
    n.sequence_ = next_sequence_++;
    n.child_ = n.sibling_ = n.prev_ = nullptr;
    n.owner_ = this;
    root_ = root_ == nullptr ? &n : meld(root_, &n);
    ++size_;
  }

  // Removes `element` if it is on this queue; false when it is not (already expired and popped,
  // which is how a wake-up racing a timeout is told apart).
  bool cancel(T& element) {
    TimerNode& n = node(element);
    if (n.owner_ != this) return false;
    if (&n == root_) {
      pop_root();
      return true;
    }
    if (n.prev_->child_ == &n) {
      n.prev_->child_ = n.sibling_;
    } else {
      n.prev_->sibling_ = n.sibling_;
    }
    if (n.sibling_ != nullptr) n.sibling_->prev_ = n.prev_;
    n.sibling_ = n.prev_ = nullptr;
    TimerNode* rest = merge_pairs(n.child_);
    n.child_ = nullptr;
    if (rest != nullptr) root_ = meld(root_, rest);
    n.owner_ = nullptr;
    --size_;
    return true;
  }

  // The earliest deadline, or kNever when empty: what the one-shot timer should be armed for.
  uint64_t next_deadline() const { return root_ == nullptr ? kNever : root_->deadline_ns_; }
  // The element with the earliest deadline without removing it; null when empty.
  T* peek() const { return static_cast<T*>(root_); }

  // Removes and returns one element whose deadline is <= now_ns, earliest first; null when none
  // has expired. Call in a loop.
  T* pop_expired(uint64_t now_ns) {
    if (root_ == nullptr || root_->deadline_ns_ > now_ns) return nullptr;
    return pop_root();
  }

 private:
  static TimerNode& node(T& element) { return static_cast<TimerNode&>(element); }
  static const TimerNode& node(const T& element) { return static_cast<const TimerNode&>(element); }

  static bool before(const TimerNode* a, const TimerNode* b) {
    if (a->deadline_ns_ != b->deadline_ns_) return a->deadline_ns_ < b->deadline_ns_;
    return a->sequence_ < b->sequence_;
  }

  // Joins two roots (both with no sibling and no prev); returns the new root.
  static TimerNode* meld(TimerNode* a, TimerNode* b) {
    if (before(b, a)) {
      TimerNode* t = a;
      a = b;
      b = t;
    }
    b->sibling_ = a->child_;
    if (a->child_ != nullptr) a->child_->prev_ = b;
    b->prev_ = a;
    a->child_ = b;
    a->sibling_ = nullptr;
    a->prev_ = nullptr;
    return a;
  }

  // The standard two-pass combine of a sibling list, done iteratively: the kernel stack is small
  // and a sibling list can be as long as the queue.
  static TimerNode* merge_pairs(TimerNode* first) {
    if (first == nullptr) return nullptr;
    TimerNode* stack = nullptr;  // pass-one results, linked through sibling_, last pair on top
    TimerNode* a = first;
    while (a != nullptr) {
      TimerNode* b = a->sibling_;
      TimerNode* next = b != nullptr ? b->sibling_ : nullptr;
      a->sibling_ = a->prev_ = nullptr;
      if (b != nullptr) {
        b->sibling_ = b->prev_ = nullptr;
        a = meld(a, b);
      }
      a->sibling_ = stack;
      stack = a;
      a = next;
    }
    TimerNode* result = stack;
    stack = stack->sibling_;
    result->sibling_ = nullptr;
    while (stack != nullptr) {
      TimerNode* n = stack;
      stack = n->sibling_;
      n->sibling_ = nullptr;
      result = meld(result, n);
    }
    return result;
  }

  T* pop_root() {
    TimerNode* top = root_;
    root_ = merge_pairs(top->child_);
    if (root_ != nullptr) root_->prev_ = nullptr;
    top->child_ = top->sibling_ = top->prev_ = nullptr;
    top->owner_ = nullptr;
    --size_;
    return static_cast<T*>(top);
  }

  TimerNode* root_ = nullptr;
  usize size_ = 0;
  uint64_t next_sequence_ = 0;
};

}  // namespace exo::sched
