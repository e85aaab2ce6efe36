// Layout of the kernel symbol table (.ksyms) and its lookup; shared by the kernel and the host
// test of scripts/gen_ksyms.py's output.
#pragma once

#include "kernel/lib/span.h"
#include "kernel/lib/types.h"

namespace exo::ksyms {

// Table: Header, then `count` Entry records sorted by address, then NUL-terminated names.
// Each entry covers [address, next entry's address); the last one ends at `end_address`.
inline constexpr uint64_t kMagic = 0x314d5953534b4f58;  // "XOKSSYM1"
struct Header {
  uint64_t magic;
  uint64_t count;
  uint64_t end_address;
};
struct Entry {
  uint64_t address;
  uint64_t name_offset;  // from the start of the table
};

// Looks `address` up; false for an empty, malformed or non-matching table.
inline bool find(ByteSpan table, uint64_t address, const char** name, uint64_t* start) {
  if (table.size() < sizeof(Header)) return false;
  const auto* header = reinterpret_cast<const Header*>(table.data());
  if (header->magic != kMagic) return false;
  usize count = header->count;
  if (count == 0 || count > (table.size() - sizeof(Header)) / sizeof(Entry)) return false;
  const auto* entries = reinterpret_cast<const Entry*>(table.data() + sizeof(Header));
  if (address < entries[0].address || address >= header->end_address) return false;
  usize lo = 0, hi = count;  // invariant: entries[lo].address <= address
  while (hi - lo > 1) {
    usize mid = lo + (hi - lo) / 2;
    if (entries[mid].address <= address) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  uint64_t offset = entries[lo].name_offset;
  if (offset >= table.size()) return false;
  *name = reinterpret_cast<const char*>(table.data() + offset);
  *start = entries[lo].address;
  return true;
}

}  // namespace exo::ksyms
