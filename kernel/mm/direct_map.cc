// The direct map's runs of equal cache mode.
#include "kernel/mm/direct_map.h"

#include "kernel/lib/utility.h"

namespace exo::mm {
namespace {

// The chunks a usable range touches: [align_down(base), align_up(end)) in 2 MiB.
struct Chunks {
  PhysAddr lo, hi;
};
Chunks chunks_of(const PhysRange& r) {
  return {align_down(r.base, PhysAddr{kLargePageSize}),
          align_up(r.base + r.size, PhysAddr{kLargePageSize})};
}

}  // namespace

CacheRun direct_map_run(Span<const PhysRange> ram, PhysAddr from, PhysAddr top) {
  // A RAM run extends while some range's chunks continue it; every pass that extends it
  // moves `end` forward, so this ends after at most one pass per range.
  PhysAddr end = from;
  bool is_ram = false;
  for (bool extended = true; extended;) {
    extended = false;
    for (const PhysRange& r : ram) {
      if (r.size == 0) continue;
      Chunks c = chunks_of(r);
      if (c.lo <= end && end < c.hi) {
        end = c.hi;
        is_ram = extended = true;
      }
    }
  }
  if (!is_ram) {
    // A hole ends where the next range's chunks begin.
    end = top;
    for (const PhysRange& r : ram) {
      if (r.size == 0) continue;
      Chunks c = chunks_of(r);
      if (c.lo > from && c.lo < end) end = c.lo;
    }
  }
  return {min(end, top), is_ram};
}

}  // namespace exo::mm
