// Typed syscall wrappers over the raw stubs expanded from kernel/abi/syscalls.h.
#include "exo/syscall.h"

#include "kernel/abi/status_map.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace exo::sys {
namespace {

template <typename T>
uint64_t arg(T* pointer) {
  return reinterpret_cast<uint64_t>(pointer);
}

Status to_status(raw::Return r) {
  if (r.status < 0) return abi::from_abi_status(r.status);
  return ok_status();
}

template <typename T>
Result<T> to_value(raw::Return r) {
  if (r.status < 0) return abi::from_abi_status(r.status);
  return static_cast<T>(r.status);
}

struct ThreadStart {
  void (*entry)(void*);
  void* argument;
};

}  // namespace

extern "C" void exo_thread_entry();

// Called by exo_thread_entry (arch/x86_64/entry.S) on the new thread's stack.
extern "C" [[noreturn]] void exo_thread_main(const ThreadStart* start) {
  start->entry(start->argument);
  thread_exit();
}

Status debug_log(const char* text, usize length) {
  return to_status(raw::debug_log(arg(text), length));
}

void process_exit(int64_t status) {
  (void)raw::process_exit(static_cast<uint64_t>(status));
  __builtin_trap();
}

Result<Handle> thread_create(void (*entry)(void*), void* argument, void* stack, usize size) {
  if (entry == nullptr || stack == nullptr || size < 2 * sizeof(ThreadStart)) {
    return Error::kInvalidArgument;
  }
  uptr top = align_down<uptr>(reinterpret_cast<uptr>(stack) + size, 16) - sizeof(ThreadStart);
  auto* start = reinterpret_cast<ThreadStart*>(top);
  start->entry = entry;
  start->argument = argument;
  return to_value<Handle>(
      raw::thread_create(reinterpret_cast<uint64_t>(&exo_thread_entry), top, arg(start)));
}

void thread_exit() {
  (void)raw::thread_exit();
  __builtin_trap();
}

Status thread_set_priority(uint32_t priority) {
  return to_status(raw::thread_set_priority(priority));
}

void yield() {
  (void)raw::yield();
}

Status thread_set_affinity(uint64_t cpu_mask) {
  return to_status(raw::thread_set_affinity(cpu_mask));
}

Status sleep(uint64_t nanoseconds) {
  return to_status(raw::sleep(nanoseconds));
}

Result<uint64_t> clock_get(uint32_t clock_id) {
  return to_value<uint64_t>(raw::clock_get(clock_id));
}

Result<void*> vm_map_anonymous(void* hint, usize length, uint32_t protection, uint32_t flags) {
  raw::Return r = raw::vm_map_anonymous(arg(hint), length, protection, flags);
  if (r.status < 0) return abi::from_abi_status(r.status);
  return reinterpret_cast<void*>(r.status);
}

Status vm_unmap(void* address, usize length) {
  return to_status(raw::vm_unmap(arg(address), length));
}

Status vm_protect(void* address, usize length, uint32_t protection) {
  return to_status(raw::vm_protect(arg(address), length, protection));
}

Result<Handle> memory_object_create(usize size, uint32_t options) {
  return to_value<Handle>(raw::memory_object_create(size, options));
}

Result<uint64_t> memory_object_map(Handle process, Handle memory_object, uint64_t offset,
                                   uint64_t address, usize length, uint32_t protection_and_flags) {
  return to_value<uint64_t>(raw::memory_object_map(process, memory_object, offset, address, length,
                                                   protection_and_flags));
}

Result<Handle> process_create(const char* name, usize name_length, uint32_t options) {
  return to_value<Handle>(raw::process_create(arg(name), name_length, options));
}

Status process_start(Handle process, uint64_t entry, uint64_t stack_top, uint64_t argument) {
  return to_status(raw::process_start(process, entry, stack_top, argument));
}

Result<int64_t> process_wait(Handle process, uint64_t deadline_ns) {
  raw::Return r = raw::process_wait(process, deadline_ns);
  if (r.status < 0) return abi::from_abi_status(r.status);
  return static_cast<int64_t>(r.second);
}

Result<Handle> handle_transfer(Handle process, Handle handle) {
  return to_value<Handle>(raw::handle_transfer(process, handle));
}

Status handle_close(Handle handle) {
  return to_status(raw::handle_close(handle));
}

Result<Handle> handle_duplicate(Handle handle, uint32_t rights) {
  return to_value<Handle>(raw::handle_duplicate(handle, rights));
}

Result<Handle> endpoint_create(uint32_t options) {
  return to_value<Handle>(raw::endpoint_create(options));
}

Result<Handle> notification_create(uint32_t options) {
  return to_value<Handle>(raw::notification_create(options));
}

Status notification_signal(Handle notification, uint64_t bits) {
  return to_status(raw::notification_signal(notification, bits));
}

Status ioport_enable(Handle io_ports) {
  return to_status(raw::ioport_enable(io_ports));
}

Result<Handle> ioport_create(Handle io_ports, uint32_t base, uint32_t count) {
  return to_value<Handle>(raw::ioport_create(io_ports, base, count));
}

Status irq_bind(Handle interrupt, Handle notification, uint64_t bits) {
  return to_status(raw::irq_bind(interrupt, notification, bits));
}

Status irq_ack(Handle interrupt) {
  return to_status(raw::irq_ack(interrupt));
}

Result<uint64_t> notification_wait(Handle notification, uint32_t options, uint64_t deadline_ns) {
  raw::Return r = raw::notification_wait(notification, options, deadline_ns);
  if (r.status < 0) return abi::from_abi_status(r.status);
  return r.second;
}

void debug_shutdown(int64_t status) {
  (void)raw::debug_shutdown(static_cast<uint64_t>(status));
  // Refused (not init): there is nothing better to do than to end this process.
  process_exit(status);
}

}  // namespace exo::sys
