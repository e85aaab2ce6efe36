// libsys_test: libsys's own ring-3 pieces (start-up, print, string, heap, new/delete) end to end.
#include "exo/heap.h"
#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"

namespace {

using exo::sys::print;

int passed = 0;
int failed = 0;

void check(const char* what, bool condition) {
  if (condition) {
    ++passed;
  } else {
    ++failed;
    print("FAIL {}\n", what);
  }
}

// A global with a constructor: start-up must have run .init_array before main.
struct Constructed {
  Constructed() : value_(0x5eed) {}
  int value_;
};
Constructed constructed;

struct Node {
  Node* next_;
  uint64_t payload_[5];
};

void test_start(int argc, char** argv) {
  check("global constructors ran", constructed.value_ == 0x5eed);
  const ExoStartBlock& block = exo::sys::start_block();
  check("start block magic", block.magic == EXO_START_MAGIC);
  check("argc matches the block", static_cast<uint64_t>(argc) == block.argc);
  check("argv is terminated", argv[argc] == nullptr);
  for (int i = 0; i < argc; ++i) print("libsys_test: argv[{}] = \"{}\"\n", i, argv[i]);
  const char* mode = exo::sys::getenv("LIBSYS_TEST");
  print("libsys_test: LIBSYS_TEST={}\n", mode != nullptr ? mode : "(unset)");
  uint64_t rsp = reinterpret_cast<uint64_t>(__builtin_frame_address(0));
  check("the stack is 16-byte aligned in main's callee", rsp % 16 == 0);
}

void test_strings() {
  char buffer[32];
  check("strlen", strlen("hello") == 5 && strlen("") == 0);
  check("strcmp", strcmp("abc", "abd") < 0 && strcmp("b", "a") > 0 && strcmp("x", "x") == 0);
  check("strncmp", strncmp("abcdef", "abcxyz", 3) == 0 && strncmp("a", "b", 0) == 0);
  check("strchr", strchr("hello", 'l') != nullptr && *strchr("hello", 'l') == 'l' &&
                      strchr("hello", 'z') == nullptr);
  check("strrchr", strrchr("a/b/c", '/') != nullptr && strrchr("a/b/c", '/')[1] == 'c');
  check("strlcpy truncates", strlcpy(buffer, "0123456789", 5) == 10 && strcmp(buffer, "0123") == 0);
  memset(buffer, 'x', sizeof(buffer));
  check("memset", buffer[0] == 'x' && buffer[31] == 'x');
  memcpy(buffer, "abcdefgh", 8);
  memmove(buffer + 2, buffer, 6);  // overlapping, forwards
  check("memmove overlap up", memcmp(buffer, "ababcdef", 8) == 0);
  memmove(buffer, buffer + 2, 6);  // overlapping, backwards
  check("memmove overlap down", memcmp(buffer, "abcdefef", 8) == 0);
  check("memchr", memchr(buffer, 'd', 8) == buffer + 3 && memchr(buffer, 'q', 8) == nullptr);
  char formatted[64];
  exo::format_to(formatted, sizeof(formatted), "{} {:#x} {:>4} {}", -42, 255u, "ab", true);
  check("format", strcmp(formatted, "-42 0xff   ab true") == 0);
}

void test_heap() {
  exo::sys::HeapStats before = exo::sys::heap_stats();
  void* blocks[200];
  for (int i = 0; i < 200; ++i) {
    blocks[i] = malloc(static_cast<size_t>(i * 37 + 1));
    if (blocks[i] != nullptr) memset(blocks[i], i, static_cast<size_t>(i * 37 + 1));
  }
  bool all = true, aligned = true, intact = true;
  for (int i = 0; i < 200; ++i) {
    all = all && blocks[i] != nullptr;
    aligned = aligned && reinterpret_cast<uintptr_t>(blocks[i]) % 16 == 0;
  }
  check("malloc 200 blocks", all);
  check("malloc alignment", aligned);
  for (int i = 0; i < 200 && all; ++i) {
    auto* bytes = static_cast<unsigned char*>(blocks[i]);
    for (int j = 0; j < i * 37 + 1; ++j)
      intact = intact && bytes[j] == static_cast<unsigned char>(i);
  }
  check("blocks do not overlap", intact);
  for (void* p : blocks) free(p);
  check("everything freed", exo::sys::heap_stats().live_blocks == before.live_blocks);

  auto* big = static_cast<unsigned char*>(malloc(1 << 20));
  check("1 MiB malloc", big != nullptr);
  if (big != nullptr) {
    big[0] = 1;
    big[(1 << 20) - 1] = 2;
    free(big);
  }
  auto* zeroed = static_cast<unsigned char*>(calloc(100, 10));
  bool zero = zeroed != nullptr;
  for (int i = 0; zero && i < 1000; ++i) zero = zeroed[i] == 0;
  check("calloc zeroes", zero);
  check("calloc overflow", calloc(~size_t{0} / 2, 4) == nullptr);
  auto* grown = static_cast<unsigned char*>(realloc(zeroed, 5000));
  check("realloc keeps the contents", grown != nullptr && grown[999] == 0);
  free(grown);

  Node* head = nullptr;
  for (int i = 0; i < 1000; ++i) head = new Node{head, {static_cast<uint64_t>(i)}};
  int count = 0;
  while (head != nullptr) {
    Node* next = head->next_;
    count += head->payload_[0] == static_cast<uint64_t>(999 - count);
    delete head;
    head = next;
  }
  check("new/delete a 1000-node list", count == 1000);
  int* array = new int[1000];
  array[999] = 7;
  check("new[]", array[999] == 7);
  delete[] array;
}

}  // namespace

// `libsys_test double_free` ends in the heap's double-free report (status EXO_EXIT_ABORT).
int main(int argc, char** argv) {
  test_start(argc, argv);
  test_strings();
  test_heap();
  print("{} passed, {} failed\n", passed, failed);
  if (argc > 1 && strcmp(argv[1], "double_free") == 0) {
    void* p = malloc(64);
    free(p);
    free(p);
    print("libsys_test: the double free was not caught\n");
    return 1;
  }
  return failed;
}
