// Which parts of the direct map are write-back RAM and which uncached holes, in runs of equal
// cache mode, from the boot memory map.
#pragma once

#include "kernel/lib/span.h"
#include "kernel/lib/types.h"
#include "kernel/mm/mm_types.h"

namespace exo::mm {

// The direct map decides cache modes per 2 MiB chunk: a chunk that overlaps usable RAM is
// mapped write-back, any other uncached (device memory such as the local APIC at 0xfee00000).
struct CacheRun {
  PhysAddr end;  // exclusive, 2 MiB aligned or `top`
  bool ram;
};

// The longest run of equally classified chunks that starts at `from` (2 MiB aligned, below
// `top`), ending at `top` at the latest. `ram` lists usable RAM (any alignment, overlaps
// allowed, empty ranges ignored). A few passes over `ram` however long the run, so the kernel
// can hand each run to PageTable::map() whole.
CacheRun direct_map_run(Span<const PhysRange> ram, PhysAddr from, PhysAddr top);

}  // namespace exo::mm
