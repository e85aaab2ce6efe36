/* The one syscall table: numbers, names and argument counts for the kernel and libsys. */
#ifndef EXO_ABI_SYSCALLS_H
#define EXO_ABI_SYSCALLS_H

#ifndef __ASSEMBLER__  /* the entry stub reads EXO_SYSCALL_COUNT */
#include <stdint.h>
#endif

/*
 * Calling convention (docs/syscalls.md): `syscall` with the number in rax and up to six
 * arguments in rdi, rsi, rdx, r10, r8, r9 (r10 replaces rcx, which `syscall` overwrites with
 * the return address; Intel SDM vol. 2B, SYSCALL). The kernel returns a status in rax: >= 0 is
 * success (a value, a handle or an address), < 0 is an EXO_ERR_* code from kernel/abi/status.h.
 * A call that returns two values puts the second in rdx. rcx and r11 are clobbered by the
 * instruction; every other register, including the SSE state, is preserved.
 *
 * EXO_SYSCALLS(X) expands X(number, name, argument_count) once per syscall. The kernel's
 * dispatcher and libsys's raw stubs are both expansions of this list, so a syscall cannot
 * exist on one side only or disagree in arity (tests/host/abi checks the rest, including
 * docs/syscalls.md). Numbers are ABI: never renumber, never reuse a retired number.
 * Number 0 is deliberately unassigned, so a zeroed rax is an unknown syscall.
 *
 * Argument order, per syscall (types as user space writes them; every argument is one
 * 64-bit register):
 */
#define EXO_SYSCALLS(X)                                                                       \
  /* (text, length) -> 0. Writes bytes to the kernel console for bring-up. */                 \
  X(1, debug_log, 2)                                                                          \
  /* (status) -> does not return. Ends the calling process with `status`. */                 \
  X(2, process_exit, 1)                                                                       \
  /* (entry, stack_top, argument) -> thread handle. New thread in the caller's process. */   \
  X(3, thread_create, 3)                                                                      \
  /* () -> does not return. Ends the calling thread (the process when it is the last). */    \
  X(4, thread_exit, 0)                                                                        \
  /* () -> 0. Gives up the rest of the time slice. */                                         \
  X(5, yield, 0)                                                                              \
  /* (nanoseconds) -> 0. Sleeps at least that long. */                                        \
  X(6, sleep, 1)                                                                              \
  /* (clock_id) -> nanoseconds. EXO_CLOCK_MONOTONIC: since boot. */                           \
  X(7, clock_get, 1)                                                                          \
  /* (address, length, protection, flags) -> address. Fresh zeroed pages in the caller. */   \
  X(8, vm_map_anonymous, 4)                                                                   \
  /* (address, length) -> 0. Unmaps whole pages of the caller. */                             \
  X(9, vm_unmap, 2)                                                                           \
  /* (address, length, protection) -> 0. Changes protection; W|X is refused. */               \
  X(10, vm_protect, 3)                                                                        \
  /* (size, options) -> memory object handle. Zeroed, size rounded up to pages. */            \
  X(11, memory_object_create, 2)                                                              \
  /* (process, memory_object, offset, address, length, protection_and_flags) -> address. */   \
  X(12, memory_object_map, 6)                                                                 \
  /* (name, name_length, options) -> process handle. Empty address space, no thread yet. */  \
  X(13, process_create, 3)                                                                    \
  /* (process, entry, stack_top, argument) -> 0. Starts the process's first thread. */       \
  X(14, process_start, 4)                                                                     \
  /* (process, deadline_ns) -> 0, exit status in rdx. Waits for the process to exit. */      \
  X(15, process_wait, 2)                                                                      \
  /* (process, handle) -> the handle's value in `process`. Moves a handle into it. */        \
  X(16, handle_transfer, 2)                                                                   \
  /* (handle) -> 0. Closes a handle of the caller. */                                         \
  X(17, handle_close, 1)                                                                      \
  /* (status) -> does not return. Powers the machine off (isa-debug-exit); init only. */      \
  X(18, debug_shutdown, 1)                                                                    \
  /* (handle, rights) -> a new handle to the same object with `rights` (a subset). */         \
  X(19, handle_duplicate, 2)                                                                  \
  /* (options) -> endpoint handle. A new IPC endpoint owned by the caller (docs/ipc.md). */   \
  X(20, endpoint_create, 1)                                                                   \
  /* (options) -> notification handle. A word of signal bits (docs/ipc.md). */                 \
  X(21, notification_create, 1)                                                               \
  /* (notification, bits) -> 0. ORs bits into the word and wakes a waiter. */                  \
  X(22, notification_signal, 2)                                                               \
  /* (notification, options, deadline) -> 0, the bits in rdx (cleared). Waits while they are  \
     0: options EXO_IPC_NONBLOCK, or EXO_IPC_DEADLINE with an absolute monotonic deadline. */  \
  X(23, notification_wait, 3)                                                                 \
  /* (io_ports) -> 0. Opens the handle's ports to the calling process's ring-3 code. */          \
  X(24, ioport_enable, 1)                                                                     \
  /* (io_ports, base, count) -> handle to a sub-range (the source needs MANAGE). */              \
  X(25, ioport_create, 3)                                                                     \
  /* (interrupt, notification, bits) -> 0. Each interrupt signals bits, line masked till ack. */ \
  X(26, irq_bind, 3)                                                                          \
  /* (interrupt) -> 0. Unmasks the line after the driver served its device. */                  \
  X(27, irq_ack, 1)                                                                           \
  /* (handle) -> the rights in bits 0..31, the object type (EXO_OBJECT_*) in bits 32..47,    \
     EXO_HANDLE_INFO_PEER_CLOSED for an endpoint whose owner (its server) is gone. */          \
  X(28, handle_info, 1)                                                                       \
  /* (priority) -> 0. The calling thread's priority, 1..EXO_PRIORITY_MAX_USER (default 16). */ \
  X(29, thread_set_priority, 1)                                                               \
  /* (cpu_mask) -> 0. Pins the calling thread to the CPUs in the mask and moves it there. */    \
  X(30, thread_set_affinity, 1)

/* One more than the highest number in the table; dispatch tables are this long. */
#define EXO_SYSCALL_COUNT 31
#define EXO_SYSCALL_MAX_ARGUMENTS 6

#ifndef __ASSEMBLER__
/* EXO_SYS_<name>: the number of each syscall, for C and C++. */
#define EXO_ABI_SYSCALL_ENUMERATOR(number, name, argc) EXO_SYS_##name = (number),
enum ExoSyscallNumber { EXO_SYSCALLS(EXO_ABI_SYSCALL_ENUMERATOR) };
#undef EXO_ABI_SYSCALL_ENUMERATOR
#endif

/*
 * Helpers for expansions that need the argument list of a given arity: EXO_SYSCALL_PARAMS(n)
 * declares `uint64_t a0, ..., a(n-1)` and EXO_SYSCALL_ARGS(n, r) passes r[0], ..., r[n-1].
 */
#define EXO_SYSCALL_PARAMS_0 void
#define EXO_SYSCALL_PARAMS_1 uint64_t a0
#define EXO_SYSCALL_PARAMS_2 uint64_t a0, uint64_t a1
#define EXO_SYSCALL_PARAMS_3 uint64_t a0, uint64_t a1, uint64_t a2
#define EXO_SYSCALL_PARAMS_4 uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3
#define EXO_SYSCALL_PARAMS_5 uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4
#define EXO_SYSCALL_PARAMS_6 \
  uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5
#define EXO_SYSCALL_PARAMS(n) EXO_SYSCALL_PARAMS_##n

#define EXO_SYSCALL_ARGS_0(r)
#define EXO_SYSCALL_ARGS_1(r) (r)[0]
#define EXO_SYSCALL_ARGS_2(r) (r)[0], (r)[1]
#define EXO_SYSCALL_ARGS_3(r) (r)[0], (r)[1], (r)[2]
#define EXO_SYSCALL_ARGS_4(r) (r)[0], (r)[1], (r)[2], (r)[3]
#define EXO_SYSCALL_ARGS_5(r) (r)[0], (r)[1], (r)[2], (r)[3], (r)[4]
#define EXO_SYSCALL_ARGS_6(r) (r)[0], (r)[1], (r)[2], (r)[3], (r)[4], (r)[5]
#define EXO_SYSCALL_ARGS(n, r) EXO_SYSCALL_ARGS_##n(r)

/* ---- Argument values ---------------------------------------------------------------------- */

/* Protection bits (vm_map_anonymous, vm_protect, memory_object_map). WRITE together with
 * EXECUTE is refused with EXO_ERR_ACCESS_DENIED (W^X). 0 maps inaccessible pages. */
#define EXO_PROT_READ 0x1u
#define EXO_PROT_WRITE 0x2u
#define EXO_PROT_EXECUTE 0x4u
#define EXO_PROT_MASK 0x7u

/* Mapping flags, or'ed into the same register as the protection for memory_object_map and
 * passed separately to vm_map_anonymous. Without EXO_MAP_FIXED the address is only a hint
 * (0: anywhere); with it the range must be free and page-aligned (nothing is replaced). */
#define EXO_MAP_FIXED 0x100u
#define EXO_MAP_FLAGS_MASK 0x100u

/* process arguments: 0 names the calling process (handles are never 0). */
#define EXO_PROCESS_SELF 0u

/* clock_get clock ids. */
#define EXO_CLOCK_MONOTONIC 0u

/* Thread priorities a user thread may take (thread_set_priority): higher is more urgent. The
 * levels above are the kernel's; level 0 is the idle threads'. */
#define EXO_PRIORITY_DEFAULT 16u
#define EXO_PRIORITY_MAX_USER 24u

/* process_wait deadline meaning "wait forever" (an absolute monotonic time otherwise; 0 polls). */
#define EXO_DEADLINE_INFINITE 0xffffffffffffffffull

/* User pages are 4 KiB; addresses and lengths of vm_* calls are multiples of this. */
#define EXO_PAGE_SIZE 4096u

/* Object types as handle_info reports them, mirroring kernel/object/kernel_object.h. */
#define EXO_OBJECT_PROCESS 1u
#define EXO_OBJECT_THREAD 2u
#define EXO_OBJECT_ADDRESS_SPACE 3u
#define EXO_OBJECT_MEMORY 4u
#define EXO_OBJECT_ENDPOINT 5u
#define EXO_OBJECT_NOTIFICATION 6u
#define EXO_OBJECT_INTERRUPT 7u
#define EXO_OBJECT_IO_PORTS 8u

/* handle_info's bit 48: the endpoint is closed (its owner process is gone); calls and sends
 * to it fail with EXO_ERR_PEER_CLOSED. Lets a ring producer (docs/channels.md) see a dead
 * server it cannot otherwise notice. */
#define EXO_HANDLE_INFO_PEER_CLOSED (1ull << 48)

/* Handle rights, mirroring kernel/object/rights.h bit for bit (host-tested). */
#define EXO_RIGHT_READ (1u << 0)
#define EXO_RIGHT_WRITE (1u << 1)
#define EXO_RIGHT_EXECUTE (1u << 2)
#define EXO_RIGHT_MAP (1u << 3)
#define EXO_RIGHT_TRANSFER (1u << 4)
#define EXO_RIGHT_DUPLICATE (1u << 5)
#define EXO_RIGHT_SIGNAL (1u << 6)
#define EXO_RIGHT_WAIT (1u << 7)
#define EXO_RIGHT_GET_PROPERTY (1u << 8)
#define EXO_RIGHT_SET_PROPERTY (1u << 9)
#define EXO_RIGHT_MANAGE (1u << 10)

#if defined(__cplusplus) && !defined(__ASSEMBLER__)
namespace exo::abi {

struct SyscallInfo {
  unsigned number;
  const char* name;
  unsigned argument_count;
};

// The table as data, for the kernel's tracing and the host tests.
#define EXO_ABI_SYSCALL_INFO(number, name, argc) SyscallInfo{number, #name, argc},
inline constexpr SyscallInfo kSyscalls[] = {EXO_SYSCALLS(EXO_ABI_SYSCALL_INFO)};
#undef EXO_ABI_SYSCALL_INFO

// The argument count of `number`, or -1 when no syscall has that number.
constexpr int syscall_argument_count(unsigned number) {
  for (const SyscallInfo& info : kSyscalls) {
    if (info.number == number) return static_cast<int>(info.argument_count);
  }
  return -1;
}

namespace table_check {
constexpr bool numbers_valid() {
  for (unsigned i = 0; i < sizeof(kSyscalls) / sizeof(kSyscalls[0]); ++i) {
    if (kSyscalls[i].number == 0 || kSyscalls[i].number >= EXO_SYSCALL_COUNT) return false;
    if (kSyscalls[i].argument_count > EXO_SYSCALL_MAX_ARGUMENTS) return false;
    for (unsigned j = 0; j < i; ++j) {
      if (kSyscalls[j].number == kSyscalls[i].number) return false;
    }
  }
  return true;
}
}  // namespace table_check
static_assert(table_check::numbers_valid(),
              "syscall numbers must be unique, in [1, EXO_SYSCALL_COUNT), with <= 6 arguments");

}  // namespace exo::abi
#endif

#endif /* EXO_ABI_SYSCALLS_H */
