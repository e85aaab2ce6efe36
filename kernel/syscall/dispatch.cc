// The dispatch table: one entry per syscall number, generated from kernel/abi/syscalls.h.
// syscall_entry.S calls entry[number] with the six argument registers as the six C++
// arguments (r10 moved to rcx); each entry returns the status and the value rdx goes back to
// user space with (the second result, or the caller's own rdx, which is argument 2).
#include "kernel/syscall/syscall.h"

namespace exo::syscall {
namespace {

// Two 64-bit words: returned in rax and rdx by the x86-64 System V ABI (3.2.3).
struct EntryReturn {
  int64_t status;
  uint64_t rdx;
};
using Entry = EntryReturn (*)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

#define EXO_SYSCALL_ENTRY(number, name, argc)                                                  \
  EntryReturn entry_##name(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,  \
                           uint64_t a5) {                                                    \
    [[maybe_unused]] const uint64_t arguments[6] = {a0, a1, a2, a3, a4, a5};                 \
    SyscallResult r = sys_##name(EXO_SYSCALL_ARGS(argc, arguments));                         \
    return {r.status, r.has_second ? r.second : a2};                                         \
  }
EXO_SYSCALLS(EXO_SYSCALL_ENTRY)
#undef EXO_SYSCALL_ENTRY

EntryReturn entry_unassigned(uint64_t, uint64_t, uint64_t rdx, uint64_t, uint64_t, uint64_t) {
  return {EXO_ERR_BAD_SYSCALL, rdx};
}

struct Table {
  Entry entries[EXO_SYSCALL_COUNT];
};
constexpr Table make_table() {
  Table t{};
  for (Entry& e : t.entries) e = &entry_unassigned;
#define EXO_SYSCALL_SLOT(number, name, argc) t.entries[number] = &entry_##name;
  EXO_SYSCALLS(EXO_SYSCALL_SLOT)
#undef EXO_SYSCALL_SLOT
  return t;
}

}  // namespace
}  // namespace exo::syscall

// Read by syscall_entry.S, which has checked number < EXO_SYSCALL_COUNT.
extern "C" constinit const exo::syscall::Table exo_syscall_table = exo::syscall::make_table();
