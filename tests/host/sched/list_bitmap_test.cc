// Host tests for the intrusive list and the bitmap the scheduler is built on.
#include "kernel/lib/bitmap.h"
#include "kernel/lib/intrusive_list.h"

#include <gtest/gtest.h>

#include <vector>

namespace exo {
namespace {

struct OtherTag;
struct Item : ListNode<>, ListNode<OtherTag> {
  explicit Item(int v) : value(v) {}
  int value;
};

std::vector<int> values(const IntrusiveList<Item>& list) {
  std::vector<int> out;
  for (const Item& item : list) out.push_back(item.value);
  return out;
}

TEST(IntrusiveList, PushPopOrder) {
  Item a(1), b(2), c(3);
  IntrusiveList<Item> list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), nullptr);
  EXPECT_EQ(list.pop_front(), nullptr);
  list.push_back(a);
  list.push_back(b);
  list.push_front(c);
  EXPECT_EQ(values(list), (std::vector<int>{3, 1, 2}));
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.pop_front(), &c);
  EXPECT_EQ(list.pop_back(), &b);
  EXPECT_EQ(list.pop_back(), &a);
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(a.ListNode<>::in_list());
}

TEST(IntrusiveList, RemoveMiddleAndInsertBefore) {
  Item a(1), b(2), c(3), d(4);
  IntrusiveList<Item> list;
  list.push_back(a);
  list.push_back(b);
  list.push_back(c);
  list.remove(b);
  EXPECT_EQ(values(list), (std::vector<int>{1, 3}));
  EXPECT_FALSE(list.contains(b));
  list.insert_before(c, d);
  EXPECT_EQ(values(list), (std::vector<int>{1, 4, 3}));
  EXPECT_EQ(list.next(a), &d);
  EXPECT_EQ(list.prev(a), nullptr);
  EXPECT_EQ(list.next(c), nullptr);
  while (list.pop_front() != nullptr) {
  }
}

TEST(IntrusiveList, TwoTagsTwoLists) {
  Item a(1);
  IntrusiveList<Item> first;
  IntrusiveList<Item, OtherTag> second;
  first.push_back(a);
  second.push_back(a);
  EXPECT_TRUE(first.contains(a));
  EXPECT_TRUE(second.contains(a));
  first.remove(a);
  second.remove(a);
}

TEST(IntrusiveList, Splice) {
  Item a(1), b(2), c(3);
  IntrusiveList<Item> x, y;
  x.push_back(a);
  y.push_back(b);
  y.push_back(c);
  x.splice_back(y);
  EXPECT_TRUE(y.empty());
  EXPECT_EQ(values(x), (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(x.contains(c));
  while (x.pop_front() != nullptr) {
  }
}

TEST(IntrusiveList, ExchangeFrontRotates) {
  Item a(1), b(2), c(3), d(4);
  IntrusiveList<Item> one;
  one.push_back(a);
  EXPECT_EQ(one.exchange_front(b), &a);  // a single element is replaced
  EXPECT_EQ(values(one), (std::vector<int>{2}));
  EXPECT_FALSE(a.ListNode<>::in_list());
  EXPECT_TRUE(one.contains(b));
  IntrusiveList<Item> three;
  three.push_back(c);
  three.push_back(d);
  three.push_back(a);
  Item* back = three.pop_back();            // a; three is {3, 4}
  EXPECT_EQ(one.exchange_front(*back), &b);  // one is {1}
  EXPECT_EQ(three.exchange_front(b), &c);    // the head leaves, b joins at the tail
  EXPECT_EQ(values(three), (std::vector<int>{4, 2}));
  EXPECT_EQ(values(one), (std::vector<int>{1}));
  EXPECT_EQ(three.size(), 2u);
  EXPECT_EQ(three.exchange_front(c), &d);
  EXPECT_EQ(values(three), (std::vector<int>{2, 3}));
  EXPECT_EQ(three.prev(c), &b);
  EXPECT_EQ(three.next(c), nullptr);
  while (one.pop_front() != nullptr) {
  }
  while (three.pop_front() != nullptr) {
  }
}

void exchange_on_empty_list() {
  Item a(1);
  IntrusiveList<Item> x;
  x.exchange_front(a);
}

void exchange_in_linked_node() {
  Item a(1), b(2);
  IntrusiveList<Item> x;
  IntrusiveList<Item> y;
  x.push_back(a);
  y.push_back(b);
  x.exchange_front(b);
}

TEST(IntrusiveListDeathTest, ExchangeMisuseTraps) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(exchange_on_empty_list(), "");
  EXPECT_DEATH(exchange_in_linked_node(), "");
}

void link_on_two_lists() {
  Item a(1);
  IntrusiveList<Item> x;
  IntrusiveList<Item> y;
  x.push_back(a);
  y.push_back(a);
}

void remove_from_wrong_list() {
  Item a(1);
  IntrusiveList<Item> x;
  IntrusiveList<Item> y;
  x.push_back(a);
  y.remove(a);
}

TEST(IntrusiveListDeathTest, NodeOnTwoListsTraps) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(link_on_two_lists(), "");
}

TEST(IntrusiveListDeathTest, RemoveFromWrongListTraps) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(remove_from_wrong_list(), "");
}

TEST(Bitmap, SetClearFind) {
  Bitmap<130> b;
  EXPECT_TRUE(b.none());
  EXPECT_EQ(b.find_first_set(), Bitmap<130>::kNone);
  EXPECT_EQ(b.find_last_set(), Bitmap<130>::kNone);
  b.set(5);
  b.set(64);
  b.set(129);
  b.set(130);  // out of range: ignored
  EXPECT_EQ(b.count(), 3u);
  EXPECT_EQ(b.find_first_set(), 5u);
  EXPECT_EQ(b.find_next_set(6), 64u);
  EXPECT_EQ(b.find_next_set(65), 129u);
  EXPECT_EQ(b.find_next_set(130), Bitmap<130>::kNone);
  EXPECT_EQ(b.find_last_set(), 129u);
  EXPECT_FALSE(b.test(130));
  b.clear(129);
  EXPECT_EQ(b.find_last_set(), 64u);
  EXPECT_EQ(b.find_first_clear(), 0u);
}

TEST(Bitmap, AllAndOps) {
  auto all = Bitmap<70>::all();
  EXPECT_EQ(all.count(), 70u);
  EXPECT_EQ(all.find_first_clear(), Bitmap<70>::kNone);
  auto some = Bitmap<70>::first_n(3) | Bitmap<70>::single(69);
  EXPECT_EQ((all & some).count(), 4u);
  EXPECT_TRUE((all & some) == some);
  Bitmap<70> w;
  w.set_word(1, ~uint64_t{0});
  EXPECT_EQ(w.count(), 6u);  // bits 64..69 only
}

TEST(Bitmap, MatchesNaiveModel) {
  uint64_t state = 12345;
  auto rnd = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  Bitmap<200> b;
  bool model[200] = {};
  for (int step = 0; step < 20000; ++step) {
    usize i = rnd() % 200;
    bool v = rnd() % 2;
    b.assign(i, v);
    model[i] = v;
    usize from = rnd() % 210;
    usize expect = Bitmap<200>::kNone;
    for (usize j = from; j < 200; ++j) {
      if (model[j]) {
        expect = j;
        break;
      }
    }
    ASSERT_EQ(b.find_next_set(from), expect);
    usize last = Bitmap<200>::kNone;
    for (usize j = 0; j < 200; ++j) {
      if (model[j]) last = j;
    }
    ASSERT_EQ(b.find_last_set(), last);
  }
}

}  // namespace
}  // namespace exo
