// IntrusiveList<T, Tag>: doubly linked list with the node inside the element; linking cannot fail.
#pragma once

#include "kernel/lib/types.h"

// Misuse of a list (linking a node that is already on a list, unlinking it from a list it is not
// on) is a kernel bug, never a consequence of user input, so it stops the machine. The check is one
// pointer compare; define EXO_LIST_CHECKS=0 to drop it.
#ifndef EXO_LIST_CHECKS
#define EXO_LIST_CHECKS 1
#endif

#if EXO_LIST_CHECKS
#define EXO_LIST_CHECK(cond)       \
  do {                             \
    if (!(cond)) __builtin_trap(); \
  } while (0)
#else
#define EXO_LIST_CHECK(cond) \
  do {                       \
  } while (0)
#endif

namespace exo {

struct DefaultListTag;

// The link an element embeds, by deriving from it. One ListNode<Tag> lets an element be on at most
// one list of that tag at a time; an element that must sit on two lists at once (a thread on a
// wait queue and on the timer queue) derives from two nodes with different tags.
// The node is inert while unlinked; it must be unlinked when the element is destroyed.
template <typename Tag = DefaultListTag>
class ListNode {
 public:
  ListNode() = default;
  ListNode(const ListNode&) = delete;
  ListNode& operator=(const ListNode&) = delete;
  ~ListNode() { EXO_LIST_CHECK(owner_ == nullptr); }

  // True while the node is on some list of this tag. Reading it is only meaningful under the lock
  // of the list it may be on.
  bool in_list() const { return owner_ != nullptr; }
  // The list this node is on (an opaque identity), or null.
  const void* owner() const { return owner_; }

 private:
  template <typename, typename>
  friend class IntrusiveList;

  ListNode* prev_ = nullptr;
  ListNode* next_ = nullptr;
  const void* owner_ = nullptr;
};

// A list of T, where T derives (publicly) from ListNode<Tag>. The list does not own its elements:
// it never creates or destroys them, and it must be empty when it is destroyed.
// Not internally synchronised: the structure that embeds a list says which lock guards it.
template <typename T, typename Tag = DefaultListTag>
class IntrusiveList {
  using Node = ListNode<Tag>;

 public:
  class Iterator {
   public:
    explicit Iterator(Node* node) : node_(node) {}
    T& operator*() const { return *static_cast<T*>(node_); }
    T* operator->() const { return static_cast<T*>(node_); }
    Iterator& operator++() {
      node_ = node_->next_;
      return *this;
    }
    bool operator==(const Iterator& other) const { return node_ == other.node_; }
    bool operator!=(const Iterator& other) const { return node_ != other.node_; }

   private:
    Node* node_;
  };

  IntrusiveList() {
    head_.prev_ = &head_;
    head_.next_ = &head_;
    head_.owner_ = this;
  }
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;
  ~IntrusiveList() {
    EXO_LIST_CHECK(size_ == 0);
    // The sentinel is not a real element; detach it so ListNode's own check passes.
    head_.owner_ = nullptr;
  }

  bool empty() const { return size_ == 0; }
  usize size() const { return size_; }

  // True when `element` is on this very list; O(1).
  bool contains(const T& element) const { return as_node(element).owner_ == this; }

  // Precondition for all insertions: `element` is on no list of this tag.
  void push_back(T& element) { link_before(&head_, as_node(element)); }
  void push_front(T& element) { link_before(head_.next_, as_node(element)); }
  // Inserts `element` just before `position`. Precondition: contains(position).
  void insert_before(T& position, T& element) {
    EXO_LIST_CHECK(contains(position));
    link_before(&as_node(position), as_node(element));
  }

  // Precondition: contains(element).
  void remove(T& element) {
    Node& node = as_node(element);
    EXO_LIST_CHECK(node.owner_ == this);
    node.prev_->next_ = node.next_;
    node.next_->prev_ = node.prev_;
    node.prev_ = nullptr;
    node.next_ = nullptr;
    node.owner_ = nullptr;
    --size_;
  }

  // Null when empty.
  T* front() const { return empty() ? nullptr : static_cast<T*>(head_.next_); }
  T* back() const { return empty() ? nullptr : static_cast<T*>(head_.prev_); }
  // The element after / before `element` on this list, or null at the end.
  // Precondition: contains(element).
  T* next(const T& element) const {
    const Node* n = as_node(element).next_;
    return n == &head_ ? nullptr : static_cast<T*>(const_cast<Node*>(n));
  }
  T* prev(const T& element) const {
    const Node* n = as_node(element).prev_;
    return n == &head_ ? nullptr : static_cast<T*>(const_cast<Node*>(n));
  }

  // Unlink and return the first / last element; null when empty.
  T* pop_front() {
    T* element = front();
    if (element != nullptr) remove(*element);
    return element;
  }
  T* pop_back() {
    T* element = back();
    if (element != nullptr) remove(*element);
    return element;
  }

  // pop_front and push_back(in) in one step, for round robin: returns the old head and appends
  // `in`; the size is unchanged. Preconditions: !empty(); `in` is on no list of this tag.
  [[gnu::always_inline]] T* exchange_front(T& in) {
    Node& node = as_node(in);
    EXO_LIST_CHECK(size_ != 0 && node.owner_ == nullptr);
    Node* out = head_.next_;
    head_.next_ = out->next_;
    out->next_->prev_ = &head_;
    out->prev_ = nullptr;
    out->next_ = nullptr;
    out->owner_ = nullptr;
    node.prev_ = head_.prev_;
    node.next_ = &head_;
    head_.prev_->next_ = &node;
    head_.prev_ = &node;
    node.owner_ = this;
    return static_cast<T*>(out);
  }

  // Moves every element of `other` to the tail of this list, keeping their order. O(n): each
  // node's owner is rewritten so contains() stays O(1).
  void splice_back(IntrusiveList& other) {
    while (T* element = other.pop_front()) push_back(*element);
  }

  // Iteration must not unlink the current element; to remove while walking, fetch next() first.
  Iterator begin() const { return Iterator(head_.next_); }
  Iterator end() const { return Iterator(const_cast<Node*>(&head_)); }

 private:
  static Node& as_node(T& element) { return static_cast<Node&>(element); }
  static const Node& as_node(const T& element) { return static_cast<const Node&>(element); }

  void link_before(Node* position, Node& node) {
    EXO_LIST_CHECK(node.owner_ == nullptr);
    node.prev_ = position->prev_;
    node.next_ = position;
    position->prev_->next_ = &node;
    position->prev_ = &node;
    node.owner_ = this;
    ++size_;
  }

  // The sentinel: an empty list points at itself, so linking has no special cases.
  Node head_;
  usize size_ = 0;
};

}  // namespace exo
