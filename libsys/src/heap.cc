// malloc/free/calloc/realloc and operator new/delete: HeapCore over anonymous pages, one lock.
#include "exo/heap.h"

#include "exo/print.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "libsys/src/heap_core.h"

namespace exo::sys {
namespace {

void* map_pages(void*, usize bytes) {
  Result<void*> memory = vm_map_anonymous(nullptr, bytes, kProtRead | kProtWrite);
  return memory.ok() ? memory.value() : nullptr;
}

void unmap_pages(void*, void* address, usize bytes) {
  (void)vm_unmap(address, bytes);
}

constinit HeapCore heap{PageSource{&map_pages, &unmap_pages, nullptr}};

// A test-and-set lock that yields while it waits: heap sections are short, and yielding lets a
// preempted holder on the same CPU finish.
constinit bool heap_locked = false;

class HeapLock {
 public:
  HeapLock() {
    while (__atomic_test_and_set(&heap_locked, __ATOMIC_ACQUIRE)) yield();
  }
  ~HeapLock() { __atomic_clear(&heap_locked, __ATOMIC_RELEASE); }
};

[[noreturn]] void heap_abort(const char* what, void* pointer) {
  print("heap: {} of {}\n", what, pointer);
  process_exit(EXO_EXIT_ABORT);
}

}  // namespace

HeapStats heap_stats() {
  HeapLock lock;
  return HeapStats{heap.bytes_in_use(), heap.live_blocks(), heap.mapped_bytes()};
}

}  // namespace exo::sys

using exo::sys::heap;
using exo::sys::HeapFailure;
using exo::sys::HeapLock;

extern "C" {

void* malloc(size_t size) {
  HeapLock lock;
  return heap.allocate(size);
}

void free(void* pointer) {
  if (pointer == nullptr) return;
  HeapFailure failure;
  {
    HeapLock lock;
    failure = heap.release(pointer);
  }
  if (failure == HeapFailure::kDoubleFree) exo::sys::heap_abort("double free", pointer);
  if (failure == HeapFailure::kInvalidFree) {
    exo::sys::heap_abort("free of a pointer the heap never gave out (or freed twice)", pointer);
  }
}

void* calloc(size_t count, size_t size) {
  size_t total = 0;
  if (__builtin_mul_overflow(count, size, &total)) return nullptr;
  void* memory = malloc(total);
  if (memory != nullptr) memset(memory, 0, total);
  return memory;
}

void* realloc(void* pointer, size_t size) {
  if (pointer == nullptr) return malloc(size);
  if (size == 0) {
    free(pointer);
    return nullptr;
  }
  size_t old_size;
  {
    HeapLock lock;
    old_size = heap.size_of(pointer);
  }
  void* moved = malloc(size);
  if (moved == nullptr) return nullptr;
  memcpy(moved, pointer, old_size < size ? old_size : size);
  free(pointer);
  return moved;
}

}  // extern "C"

// C++ allocation. Without exceptions a failed `new` cannot throw, so it ends the process: code
// that can cope with failure calls malloc or `new (std::nothrow)`-style helpers instead.
namespace {
void* must_allocate(size_t size) {
  void* memory = malloc(size);
  if (memory == nullptr) {
    exo::sys::print("heap: out of memory allocating {} bytes\n", size);
    exo::sys::process_exit(EXO_EXIT_ABORT);
  }
  return memory;
}
}  // namespace

void* operator new(size_t size) {
  return must_allocate(size);
}
void* operator new[](size_t size) {
  return must_allocate(size);
}
void operator delete(void* pointer) noexcept {
  free(pointer);
}
void operator delete[](void* pointer) noexcept {
  free(pointer);
}
void operator delete(void* pointer, size_t) noexcept {
  free(pointer);
}
void operator delete[](void* pointer, size_t) noexcept {
  free(pointer);
}
