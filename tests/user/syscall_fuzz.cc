// syscall_fuzz [seed=N] [count=N]: seeded random syscalls; the kernel must answer every one.
#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "kernel/abi/ipc.h"
#include "kernel/abi/status.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace {

using exo::sys::print;
namespace raw = exo::sys::raw;

constexpr uint64_t kDefaultCount = 20000;
constexpr uint64_t kPage = EXO_PAGE_SIZE;
constexpr uint64_t kArenaPages = 16;

// xorshift64* (Vigna): small, fast, and the same sequence for the same seed everywhere.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed != 0 ? seed : 0x9e3779b97f4a7c15ull) {}
  uint64_t next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dull;
  }
  uint64_t below(uint64_t n) { return next() % n; }

 private:
  uint64_t state_;
};

uint64_t parse_number(const char* text) {
  uint64_t value = 0;
  unsigned base = 10;
  if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text += 2;
  }
  for (; *text != '\0'; ++text) {
    char c = *text;
    unsigned digit = c >= '0' && c <= '9'   ? c - '0'
                     : c >= 'a' && c <= 'f' ? c - 'a' + 10
                     : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                            : 99;
    if (digit >= base) break;
    value = value * base + digit;
  }
  return value;
}

uint8_t* arena = nullptr;  // a scratch mapping the fuzzer may unmap, protect and point into

// An argument drawn from the values most likely to find bugs: small numbers, page sizes,
// pointers into the arena, kernel and non-canonical addresses, handles, and raw noise.
uint64_t random_argument(Random& random) {
  switch (random.below(10)) {
    case 0:
      return 0;
    case 1:
      return random.below(16);
    case 2:
      return kPage * random.below(8);
    case 3:
      return reinterpret_cast<uint64_t>(arena) + random.below(kArenaPages * kPage);
    case 4:
      return 0xffff800000000000ull + random.below(1ull << 40);
    case 5:
      return 0x0000800000000000ull + random.below(1ull << 40);
    case 6:
      return random.next() & 0xffffffffull;  // a forged handle
    case 7:
      return ~0ull - random.below(16);
    case 8:
      return random.next() & 0x00007fffffffffffull;
    default:
      return random.next();
  }
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 0;
  uint64_t count = kDefaultCount;
  bool seeded = false;
  for (int i = 1; i < argc; ++i) {
    if (strncmp(argv[i], "seed=", 5) == 0) {
      seed = parse_number(argv[i] + 5);
      seeded = true;
    } else if (strncmp(argv[i], "count=", 6) == 0) {
      count = parse_number(argv[i] + 6);
    }
  }
  if (!seeded) seed = exo::sys::clock_get().value_or(1);
  print("syscall_fuzz: seed {:#x} count {} (rerun with seed={:#x})\n", seed, count, seed);

  exo::Result<void*> mapped = exo::sys::vm_map_anonymous(
      nullptr, kArenaPages * kPage, exo::sys::kProtRead | exo::sys::kProtWrite);
  if (!mapped.ok()) {
    print("syscall_fuzz: no arena: {}\n0 passed, 1 failed\n", mapped.error());
    return 1;
  }
  arena = static_cast<uint8_t*>(*mapped);

  Random random(seed);
  uint64_t passed = 0, failed = 0, made = 0;
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t number = random.below(8) == 0 ? random.next() : random.below(EXO_SYSCALL_COUNT + 4);
    uint64_t a[6];
    for (uint64_t& x : a) x = random_argument(random);
    // Calls that would end or stall the fuzzer, or rewrite its own code and stack, get
    // arguments that keep it alive; everything else is left as drawn.
    switch (number) {
      case EXO_SYS_process_exit:
      case EXO_SYS_thread_exit:
        continue;
      case EXO_SYS_sleep:
        a[0] %= 100000;
        break;  // at most 100 us
      case EXO_SYS_debug_log:
        // Bad pointers with any length; readable memory only with length 0, so the console
        // stays readable.
        if (a[0] >= reinterpret_cast<uint64_t>(arena) &&
            a[0] < reinterpret_cast<uint64_t>(arena) + kArenaPages * kPage) {
          a[1] = 0;
        }
        break;
      case EXO_SYS_process_wait:
        a[1] = 0;
        break;  // poll, never wait
      case EXO_SYS_notification_wait:
        // Unknown option bits stay (refused); the defined ones wait 100 us at most.
        if ((a[1] & ~uint64_t{EXO_IPC_NONBLOCK | EXO_IPC_DEADLINE}) == 0) {
          a[1] = random.below(2) == 0 ? EXO_IPC_NONBLOCK : EXO_IPC_DEADLINE;
          a[2] = static_cast<uint64_t>(raw::clock_get(EXO_CLOCK_MONOTONIC).status) + a[2] % 100000;
        }
        break;
      case EXO_SYS_thread_create:
        continue;  // a random entry would fault the process
      case EXO_SYS_process_start:
        continue;  // would run noise as code (not in us, but slow)
      case EXO_SYS_vm_unmap:
      case EXO_SYS_vm_protect:
        // Only the arena, or addresses no user program owns.
        if (random.below(2) == 0) {
          a[0] = reinterpret_cast<uint64_t>(arena) + kPage * random.below(kArenaPages);
          a[1] = kPage * (1 + random.below(4));
          if (a[0] + a[1] > reinterpret_cast<uint64_t>(arena) + kArenaPages * kPage) a[1] = kPage;
        } else {
          a[0] |= 0xffff800000000000ull;
        }
        break;
      case EXO_SYS_memory_object_create:
      case EXO_SYS_vm_map_anonymous:
        // Sizes up to 32 KiB: thousands of successful calls are never freed, and a run must
        // not end by exhausting the machine (which would be a correct answer, but a dull one).
        a[number == EXO_SYS_vm_map_anonymous ? 1 : 0] &= 0x7fff;
        break;
      default:
        break;
    }
    raw::Return r = raw::syscall6(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    ++made;
    bool known = number > 0 && number < EXO_SYSCALL_COUNT;
    // Known calls: success or a defined error code. Unknown: exactly EXO_ERR_BAD_SYSCALL.
    bool good = known ? r.status >= EXO_STATUS_MIN : r.status == EXO_ERR_BAD_SYSCALL;
    if (good) {
      ++passed;
    } else {
      ++failed;
      print("FAIL call {}: syscall {:#x}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x}) -> {}\n", i,
            number, a[0], a[1], a[2], a[3], a[4], a[5], r.status);
    }
  }
  print("syscall_fuzz: seed {:#x}: {} of {} drawn calls made, all survived\n", seed, made, count);
  print("{} passed, {} failed\n", passed, failed);
  return failed > 0 ? 1 : 0;
}
