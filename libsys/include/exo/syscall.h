// Typed syscall wrappers for ring-3 programs (numbers and rules: docs/syscalls.md).
#pragma once

#include "kernel/abi/process_start.h"
#include "kernel/abi/status.h"
#include "kernel/abi/syscalls.h"
#include "kernel/lib/result.h"
#include "kernel/lib/types.h"

namespace exo::sys {

// A handle value as the kernel hands it out: 32 bits, never 0.
using Handle = uint32_t;
inline constexpr Handle kInvalidHandle = 0;
inline constexpr Handle kSelf = EXO_PROCESS_SELF;  // "the calling process" where a process is due
inline constexpr usize kPageSize = EXO_PAGE_SIZE;

// Protection bits and mapping flags (W and X together are always refused).
inline constexpr uint32_t kProtNone = 0;
inline constexpr uint32_t kProtRead = EXO_PROT_READ;
inline constexpr uint32_t kProtWrite = EXO_PROT_WRITE;
inline constexpr uint32_t kProtExecute = EXO_PROT_EXECUTE;
inline constexpr uint32_t kMapFixed = EXO_MAP_FIXED;

Status debug_log(const char* text, usize length);
[[noreturn]] void process_exit(int64_t status);

// Starts `entry(argument)` on a new thread of this process with the stack [stack, stack + size).
// The stack must stay mapped until the thread ends; `entry` returning ends the thread.
Result<Handle> thread_create(void (*entry)(void*), void* argument, void* stack, usize size);
[[noreturn]] void thread_exit();
void yield();
// Sets the calling thread's priority, 1..EXO_PRIORITY_MAX_USER (EXO_PRIORITY_DEFAULT at start);
// higher runs first, and IPC senders queue by it.
Status thread_set_priority(uint32_t priority);
Status sleep(uint64_t nanoseconds);
// Pins the calling thread to the CPUs in `cpu_mask` (bit n: CPU n, every bit an online CPU) and
// moves it onto one of them before returning.
Status thread_set_affinity(uint64_t cpu_mask);
// Nanoseconds since boot on the monotonic clock.
Result<uint64_t> clock_get(uint32_t clock_id = EXO_CLOCK_MONOTONIC);

// Maps `length` bytes (a multiple of kPageSize) of fresh zeroed memory; `hint` is where to put
// it (nullptr: anywhere; exactly there with kMapFixed in `flags`).
Result<void*> vm_map_anonymous(void* hint, usize length, uint32_t protection, uint32_t flags = 0);
Status vm_unmap(void* address, usize length);
Status vm_protect(void* address, usize length, uint32_t protection);

// A zeroed memory object of `size` bytes (rounded up to pages).
Result<Handle> memory_object_create(usize size, uint32_t options = 0);
// Maps [offset, offset + length) of `memory_object` into `process` (kSelf for the caller) at
// `address` (a hint, or exact with kMapFixed in protection_and_flags); returns the address.
Result<uint64_t> memory_object_map(Handle process, Handle memory_object, uint64_t offset,
                                   uint64_t address, usize length, uint32_t protection_and_flags);

// A new process named `name` with an empty address space and no thread.
Result<Handle> process_create(const char* name, usize name_length, uint32_t options = 0);
// Starts the process's first thread at `entry` with rsp = stack_top and rdi = argument.
Status process_start(Handle process, uint64_t entry, uint64_t stack_top, uint64_t argument);
// Waits until `process` exits or the monotonic clock passes `deadline_ns`; its exit status.
Result<int64_t> process_wait(Handle process, uint64_t deadline_ns = EXO_DEADLINE_INFINITE);
// Moves `handle` out of this process into `process`; its value there.
Result<Handle> handle_transfer(Handle process, Handle handle);
Status handle_close(Handle handle);
// A second handle to the same object with `rights` (EXO_RIGHT_*, a subset of the source's).
Result<Handle> handle_duplicate(Handle handle, uint32_t rights);
// A new IPC endpoint owned by this process (docs/ipc.md); IPC itself is in exo/ipc.h.
Result<Handle> endpoint_create(uint32_t options = 0);
// Notifications (docs/ipc.md): a word of bits; wait returns and clears them.
Result<Handle> notification_create(uint32_t options = 0);
Status notification_signal(Handle notification, uint64_t bits);
// Waits while the bits are 0: options 0 waits for ever, EXO_IPC_NONBLOCK not at all
// (kWouldBlock), EXO_IPC_DEADLINE until the monotonic clock passes deadline_ns (kTimedOut).
Result<uint64_t> notification_wait(Handle notification, uint32_t options = 0, uint64_t deadline_ns = 0);
// Devices (user-space drivers): open an I/O-port handle's ports to this process; bind an
// interrupt line to a notification.
Status ioport_enable(Handle io_ports);
Result<Handle> ioport_create(Handle io_ports, uint32_t base, uint32_t count);
Status irq_bind(Handle interrupt, Handle notification, uint64_t bits);
Status irq_ack(Handle interrupt);
// Powers the machine off with `status` as QEMU's isa-debug-exit code; only init may.
[[noreturn]] void debug_shutdown(int64_t status);

// The start block this process was given (valid for the life of the process).
const ExoStartBlock& start_block();
// The value of `key` in the start block's environment ("key=value"), or nullptr.
const char* getenv(const char* key);
// The first start-up handle with `role` (EXO_START_HANDLE_*), or kInvalidHandle.
Handle start_handle(uint32_t role);

}  // namespace exo::sys
