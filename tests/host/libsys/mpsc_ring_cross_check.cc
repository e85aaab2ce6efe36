// Compile check: the channel ring headers build freestanding with the kernel's code-generation
// flags (no std, no SSE, no exceptions), as ring 0 and ring 3 will include them.
#include "libsys/include/exo/channel/mpsc_ring.h"
#include "libsys/include/exo/channel/ring_wait.h"

namespace exo::channel {
namespace {

// A notification with the shape ring_wait.h requires, so the templates are instantiated too.
struct NullNotification {
  static constexpr bool kWakesAll = false;
  uint64_t prepare() { return 0; }
  bool wait(uint64_t, uint64_t) { return true; }
  void signal() {}
};

}  // namespace

Status cross_check_send(MpscRing& ring, const void* msg, usize len) {
  NullNotification a, b;
  return send(ring, msg, len, Backpressure::kFail, a, b);
}

Result<usize> cross_check_recv(MpscRing& ring, void* buf, usize cap) {
  NullNotification a, b;
  return recv(ring, buf, cap, a, b, 0);
}

Result<MpscRing> cross_check_attach(void* mem, usize bytes) {
  return MpscRing::attach(mem, bytes);
}

}  // namespace exo::channel
