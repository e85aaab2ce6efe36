// MpscRing: the bounded lock-free multi-producer/single-consumer ring that carries one-way channel
// messages through a memory object shared by one server and any number of clients.
//
// Freestanding: builds for ring 0, ring 3 and the host alike (only <stdint.h>/<stddef.h>,
// kernel/lib and __atomic builtins). The protocol, its memory orders and why no wake-up is lost are
// in docs/channels.md; the blocking helpers that pair it with notifications are in ring_wait.h.
#pragma once

#include "kernel/lib/result.h"
#include "kernel/lib/types.h"
#include "kernel/lib/utility.h"

namespace exo::channel {

// The layout of the shared region. Everything in it is plain data addressed by offsets and
// indices, never pointers, because each process maps it at its own address. Any client may
// scribble on any byte of it at any time: the consumer reads each shared word once, keeps the
// geometry it validated in private memory, and never trusts a shared value as a size or address.
namespace ring_layout {

inline constexpr uint32_t kMagic = 0x676e6952;  // "Ring", little-endian
inline constexpr uint32_t kVersion = 1;
inline constexpr usize kCacheLine = 64;
inline constexpr uint32_t kMinCapacity = 2;
inline constexpr uint32_t kMaxCapacity = 1u << 20;
inline constexpr uint32_t kMaxSlotBytes = 64 * 1024;

// Every hot word sits on its own cache line so that producers claiming slots (tail), the
// consumer's sleep flag and the producers' wait flag do not false-share.
struct Header {
  // Geometry, written once by create() and checked by attach(). Read-only by convention only.
  uint32_t magic;
  uint32_t version;
  uint32_t capacity;      // slots, a power of two
  uint32_t slot_bytes;    // maximum payload per message
  uint32_t slot_stride;   // bytes from one slot to the next
  uint32_t header_bytes;  // offset of slot 0
  uint64_t region_bytes;  // bytes_for(capacity, slot_bytes)
  uint8_t pad0[kCacheLine - 32];
  // Next position producers claim (a free-running 64-bit counter; the slot is tail & mask).
  uint64_t tail;
  uint8_t pad1[kCacheLine - 8];
  // 1 while the consumer is (about to be) asleep on its notification; producers that see it
  // exchange it back to 0 and the one that saw 1 signals.
  uint32_t consumer_sleeping;
  uint8_t pad2[kCacheLine - 4];
  // 1 when at least one producer waits for space; the consumer exchanges it to 0 after
  // freeing a slot and the exchange that saw 1 reports "wake producers".
  uint32_t producers_waiting;
  uint8_t pad3[kCacheLine - 4];
};
static_assert(sizeof(Header) == 4 * kCacheLine);
static_assert(__builtin_offsetof(Header, tail) == kCacheLine);
static_assert(__builtin_offsetof(Header, consumer_sleeping) == 2 * kCacheLine);
static_assert(__builtin_offsetof(Header, producers_waiting) == 3 * kCacheLine);

// A slot: a sequence word (Vyukov's per-cell sequence), the payload length, then the payload.
// seq == pos: free for the producer that claims position pos.
// seq == pos + 1: holds the message of position pos, ready for the consumer.
struct SlotHeader {
  uint64_t seq;
  uint32_t len;
  uint32_t reserved;
};
static_assert(sizeof(SlotHeader) == 16);

// Slots are cache-line multiples so that producers filling neighbouring slots do not false-share.
constexpr uint32_t slot_stride(uint32_t slot_bytes) {
  return static_cast<uint32_t>(
      align_up<usize>(sizeof(SlotHeader) + static_cast<usize>(slot_bytes), kCacheLine));
}

constexpr bool valid_geometry(uint32_t capacity, uint32_t slot_bytes) {
  return is_power_of_two(capacity) && capacity >= kMinCapacity && capacity <= kMaxCapacity &&
         slot_bytes >= 1 && slot_bytes <= kMaxSlotBytes;
}

}  // namespace ring_layout

// A handle on one ring. create() makes the consumer's handle (the server; exactly one per ring,
// do not copy it into a second consumer); attach() makes a producer's handle (a client; any
// number, on any threads: every producer operation is safe to call concurrently). Consumer
// operations (try_recv, prepare_sleep, cancel_sleep, take_wake_producers) are for the single
// consumer thread only. The handle holds no resources; the caller owns and maps the region and
// must keep it mapped while any handle is used.
class MpscRing {
 public:
  // Bytes of shared memory a ring of `capacity` slots of `slot_bytes` payload needs; 0 when the
  // geometry is invalid (capacity not a power of two in [2, 2^20], slot_bytes not in [1, 64 KiB]).
  static usize bytes_for(uint32_t capacity, uint32_t slot_bytes) {
    if (!ring_layout::valid_geometry(capacity, slot_bytes)) return 0;
    return sizeof(ring_layout::Header) +
           static_cast<usize>(capacity) * ring_layout::slot_stride(slot_bytes);
  }

  // Server side: initialises the header and every slot of `mem` and returns the consumer's
  // handle. `mem` must be 64-byte aligned and at least bytes_for(capacity, slot_bytes) long, and
  // must not yet be visible to clients (publish it to them only after this returns).
  static Result<MpscRing> create(void* mem, usize bytes, uint32_t capacity, uint32_t slot_bytes) {
    if (mem == nullptr) return Error::kInvalidArgument;
    if (!is_aligned(reinterpret_cast<uptr>(mem), uptr{ring_layout::kCacheLine})) {
      return Error::kNotAligned;
    }
    usize need = bytes_for(capacity, slot_bytes);
    if (need == 0) return Error::kInvalidArgument;
    if (bytes < need) return Error::kOutOfRange;
    MpscRing ring(static_cast<uint8_t*>(mem), capacity, slot_bytes, /*consumer=*/true);
    auto* h = ring.header();
    __builtin_memset(h, 0, sizeof(*h));
    h->version = ring_layout::kVersion;
    h->capacity = capacity;
    h->slot_bytes = slot_bytes;
    h->slot_stride = ring.stride_;
    h->header_bytes = sizeof(ring_layout::Header);
    h->region_bytes = need;
    for (uint32_t i = 0; i < capacity; ++i) {
      ring_layout::SlotHeader* s = ring.slot(i);
      s->len = 0;
      s->reserved = 0;
      __atomic_store_n(&s->seq, uint64_t{i}, __ATOMIC_RELAXED);
    }
    // Release so that a client that reads the magic with acquire also sees the geometry.
    __atomic_store_n(&h->magic, ring_layout::kMagic, __ATOMIC_RELEASE);
    return ring;
  }

  // Client side: validates the header in `mem` (`bytes` is the size of the mapping the caller
  // holds, which the header must fit in) and returns a producer's handle. Every header field is
  // read once; a hostile header yields kMalformed, a mapping smaller than the ring kOutOfRange.
  static Result<MpscRing> attach(void* mem, usize bytes) {
    if (mem == nullptr) return Error::kInvalidArgument;
    if (!is_aligned(reinterpret_cast<uptr>(mem), uptr{ring_layout::kCacheLine})) {
      return Error::kNotAligned;
    }
    if (bytes < sizeof(ring_layout::Header)) return Error::kOutOfRange;
    auto* h = static_cast<ring_layout::Header*>(mem);
    if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != ring_layout::kMagic) {
      return Error::kMalformed;
    }
    uint32_t version = __atomic_load_n(&h->version, __ATOMIC_RELAXED);
    uint32_t capacity = __atomic_load_n(&h->capacity, __ATOMIC_RELAXED);
    uint32_t slot_bytes = __atomic_load_n(&h->slot_bytes, __ATOMIC_RELAXED);
    uint32_t stride = __atomic_load_n(&h->slot_stride, __ATOMIC_RELAXED);
    uint32_t header_bytes = __atomic_load_n(&h->header_bytes, __ATOMIC_RELAXED);
    uint64_t region_bytes = __atomic_load_n(&h->region_bytes, __ATOMIC_RELAXED);
    if (version != ring_layout::kVersion) return Error::kUnsupported;
    usize need = bytes_for(capacity, slot_bytes);
    if (need == 0 || stride != ring_layout::slot_stride(slot_bytes) ||
        header_bytes != sizeof(ring_layout::Header) || region_bytes != need) {
      return Error::kMalformed;
    }
    if (bytes < need) return Error::kOutOfRange;
    return MpscRing(static_cast<uint8_t*>(mem), capacity, slot_bytes, /*consumer=*/false);
  }

  // A placeholder handle on no ring, for a member that gets a real handle later by assignment.
  // No operation may be called on it.
  static MpscRing unattached() { return MpscRing(nullptr, ring_layout::kMinCapacity, 1, false); }

  uint32_t capacity() const { return capacity_; }
  // The largest message try_send accepts, and the buffer size that lets try_recv always succeed.
  uint32_t max_payload() const { return slot_bytes_; }
  bool is_consumer() const { return consumer_; }

  // Producer: copies `len` bytes of `msg` into the next slot. Never blocks; lock-free (a CAS on
  // the shared tail, retried only when another producer won the same slot).
  // Errors: kInvalidArgument if len > max_payload(); kWouldBlock if the ring is full; kMalformed
  // if the shared state is provably corrupt (a slot ahead of an unmoving tail).
  // *wake_needed is set when the consumer announced sleep: the caller must then signal the
  // consumer's notification (exactly one producer is told per announcement). Passing nullptr
  // means the caller cannot signal; the sleep flag is then left for another producer.
  Status try_send(const void* msg, usize len, bool* wake_needed) {
    if (wake_needed != nullptr) *wake_needed = false;
    if (len > slot_bytes_ || (msg == nullptr && len != 0)) return Error::kInvalidArgument;
    auto* h = header();
    uint64_t pos = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
    ring_layout::SlotHeader* s;
    for (;;) {
      s = slot(pos);
      uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
      auto diff = static_cast<int64_t>(seq - pos);
      if (diff == 0) {
        // Relaxed suffices: the acquire on seq above is what orders this slot's reuse, and the
        // release store of seq below is what publishes the payload.
        if (__atomic_compare_exchange_n(&h->tail, &pos, pos + 1, /*weak=*/true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
          break;
        }
      } else if (diff < 0) {
        return Error::kWouldBlock;
      } else {
        // The slot is already past pos, so some producer claimed pos and advanced tail before
        // the store we just acquired; an honest tail must therefore have moved. If it has not,
        // the shared state is corrupt and retrying would spin forever.
        uint64_t now = __atomic_load_n(&h->tail, __ATOMIC_RELAXED);
        if (now == pos) return Error::kMalformed;
        pos = now;
      }
    }
    __atomic_store_n(&s->len, static_cast<uint32_t>(len), __ATOMIC_RELAXED);
    if (len != 0) __builtin_memcpy(payload(s), msg, len);
    // Publish. seq_cst (not just release) because this store is one half of the Dekker
    // handshake with prepare_sleep(): store seq, then load consumer_sleeping.
    __atomic_store_n(&s->seq, pos + 1, __ATOMIC_SEQ_CST);
    if (wake_needed != nullptr && __atomic_load_n(&h->consumer_sleeping, __ATOMIC_SEQ_CST) != 0 &&
        __atomic_exchange_n(&h->consumer_sleeping, 0u, __ATOMIC_SEQ_CST) != 0) {
      *wake_needed = true;
    }
    return ok_status();
  }

  // Consumer: moves the oldest message into `buf` and returns its length. O(1), never loops.
  // Errors: kAccessDenied on a producer's handle; kWouldBlock when empty (or when the oldest
  // slot is claimed but not yet published by a producer); kOutOfRange when the message is longer
  // than `cap` (it stays queued: cap >= max_payload() never sees this); kMalformed when the
  // oldest slot was corrupt (its sequence or length impossible): that slot is dropped and the
  // ring moves on, so a hostile client cannot wedge the consumer.
  // The consumer looks for producers waiting for space after every wake_batch() freed slots, and
  // at every error return (kWouldBlock included, so before any sleep) if it freed a slot since
  // its last look; finding them latches "wake producers": collect that with
  // take_wake_producers() after every call (or use the three-argument form). Batching keeps a
  // full ring from waking a producer per freed slot and spares the consumer a fence per message.
  Result<usize> try_recv(void* buf, usize cap) {
    if (!consumer_) return Error::kAccessDenied;
    ring_layout::SlotHeader* s = slot(head_);
    uint64_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    // Honest states are exactly head_ (free or claimed) and head_ + 1 (published): the single
    // consumer is the only writer of any other value, and it writes head_ + capacity_ only after
    // leaving the slot.
    if (seq == head_) {
      // The consumer is about to stop (and perhaps sleep): a deferred producer wake-up goes out
      // now, whatever the batch, so that no producer waits on a consumer that waits on it.
      flush_wake_producers();
      return Error::kWouldBlock;
    }
    if (seq != head_ + 1) {
      release_head_slot(s);
      flush_wake_producers();
      return Error::kMalformed;
    }
    uint32_t len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
    if (len > slot_bytes_) {
      release_head_slot(s);
      flush_wake_producers();
      return Error::kMalformed;
    }
    if (len > cap) {
      flush_wake_producers();
      return Error::kOutOfRange;
    }
    if (len != 0) {
      if (buf == nullptr) {
        flush_wake_producers();
        return Error::kInvalidArgument;
      }
      __builtin_memcpy(buf, payload(s), len);
    }
    release_head_slot(s);
    return usize{len};
  }

  // As above, and *wake_producers reports (and clears) the latched "wake producers" request: the
  // caller must then signal the producers' space notification.
  Result<usize> try_recv(void* buf, usize cap, bool* wake_producers) {
    Result<usize> r = try_recv(buf, cap);
    *wake_producers = take_wake_producers();
    return r;
  }

  // Consumer: true (and cleared) when producers waiting for space must be woken (see try_recv).
  // The caller must then signal the producers' notification.
  bool take_wake_producers() {
    bool wake = wake_producers_;
    wake_producers_ = false;
    return wake;
  }

  // Consumer: announces that it is about to sleep on its notification. Returns false (and takes
  // the announcement back) when the oldest slot is not free, i.e. there is a message or a corrupt
  // slot to deal with: do not sleep then. After true, sleep, and call cancel_sleep() on waking.
  // Take the notification's wait token before calling this (see ring_wait.h).
  bool prepare_sleep() {
    if (!consumer_) return false;
    auto* h = header();
    __atomic_exchange_n(&h->consumer_sleeping, 1u, __ATOMIC_SEQ_CST);
    uint64_t seq = __atomic_load_n(&head_slot_->seq, __ATOMIC_SEQ_CST);
    if (seq != head_) {
      __atomic_store_n(&h->consumer_sleeping, 0u, __ATOMIC_RELAXED);
      return false;
    }
    return true;
  }

  // Consumer (only; not checked): whether its sleep announcement is still set, i.e. no producer has published (and
  // cleared it to ring) since prepare_sleep() returned true. A consumer that took nothing from
  // the ring since may then sleep again without renewing it; after false, prepare_sleep() again.
  // (A hostile producer can forge the flag either way; that only costs a wake-up, as forging
  // it against prepare_sleep() does: an honest producer that clears it always rings.)
  bool sleep_announced() const {
    return __atomic_load_n(&header()->consumer_sleeping, __ATOMIC_SEQ_CST) != 0;
  }

  // Consumer: withdraws the sleep announcement (after waking, by signal, timeout or otherwise).
  void cancel_sleep() {
    if (!consumer_) return;
    __atomic_store_n(&header()->consumer_sleeping, 0u, __ATOMIC_RELAXED);
  }

  // Producer, after try_send returned kWouldBlock and it chose to wait: announces that it waits
  // for space. Returns true when the ring is still full (sleep on the producers' notification,
  // then retry try_send), false when space appeared meanwhile (retry at once). There is nothing
  // to cancel: only the consumer clears the announcement, because a producer clearing it could
  // erase another producer's. Take the notification's wait token before calling this.
  bool prepare_wait_space() {
    auto* h = header();
    __atomic_exchange_n(&h->producers_waiting, 1u, __ATOMIC_SEQ_CST);
    uint64_t pos = __atomic_load_n(&h->tail, __ATOMIC_SEQ_CST);
    uint64_t seq = __atomic_load_n(&slot(pos)->seq, __ATOMIC_SEQ_CST);
    return static_cast<int64_t>(seq - pos) < 0;
  }

  // Consumer: looks for waiting producers now rather than at the next batch boundary, if any
  // slot was freed since the last look (take_wake_producers() then reports them). For a consumer
  // that stops receiving before try_recv reports kWouldBlock, e.g. to serve another channel for a
  // long time; without it the waiting producers sleep until it comes back.
  void flush_wake_producers() {
    if (frees_since_check_ != 0) check_waiting_producers();
  }

  // Consumer: after how many freed slots it looks for waiting producers (default capacity / 4;
  // 1 looks after every free). Clamped to [1, capacity].
  void set_wake_batch(uint32_t slots) { wake_batch_ = max(1u, min(slots, capacity_)); }
  uint32_t wake_batch() const { return wake_batch_; }

  // Consumer: a snapshot of whether the oldest slot holds a message (for polling loops).
  bool readable() const {
    return consumer_ && __atomic_load_n(&head_slot_->seq, __ATOMIC_ACQUIRE) != head_;
  }

 private:
  MpscRing(uint8_t* base, uint32_t capacity, uint32_t slot_bytes, bool consumer)
      : base_(base),
        capacity_(capacity),
        mask_(capacity - 1),
        slot_bytes_(slot_bytes),
        stride_(ring_layout::slot_stride(slot_bytes)),
        wake_batch_(max(1u, capacity / 4)),
        consumer_(consumer),
        head_slot_(consumer ? slot(0) : nullptr) {}

  ring_layout::Header* header() const { return reinterpret_cast<ring_layout::Header*>(base_); }
  // Masking with the private mask_ is what keeps every shared index inside the region.
  ring_layout::SlotHeader* slot(uint64_t pos) const {
    return reinterpret_cast<ring_layout::SlotHeader*>(base_ + sizeof(ring_layout::Header) +
                                                      static_cast<usize>(pos & mask_) * stride_);
  }
  static uint8_t* payload(ring_layout::SlotHeader* s) {
    return reinterpret_cast<uint8_t*>(s) + sizeof(ring_layout::SlotHeader);
  }

  // Hands the head slot to the producers of the next lap and advances. Release pairs with the
  // producers' acquire of seq: the slot's old contents are read before it is reused. The look for
  // waiting producers is batched: after wake_batch_ frees, and at every error return (which
  // precedes any sleep) if a slot was freed since the last look.
  void release_head_slot(ring_layout::SlotHeader* s) {
    __atomic_store_n(&s->seq, head_ + capacity_, __ATOMIC_RELEASE);
    ++head_;
    head_slot_ = slot(head_);
    if (++frees_since_check_ >= wake_batch_) check_waiting_producers();
  }

  // The consumer's half of the handshake with prepare_wait_space(). Both sides read-modify-write
  // the same word, so one RMW precedes the other in its modification order: if this exchange comes
  // second it reads the producer's 1; if it comes first, it (release) synchronises with the
  // producer's exchange (acquire), so every free made before it happens-before the producer's
  // re-check of the slot, which therefore sees space. An unconditional RMW every wake_batch_ frees
  // replaces a seq_cst fence per free (and ThreadSanitizer models it; it does not model fences).
  void check_waiting_producers() {
    frees_since_check_ = 0;
    if (__atomic_exchange_n(&header()->producers_waiting, 0u, __ATOMIC_ACQ_REL) != 0) {
      wake_producers_ = true;
    }
  }

  uint8_t* base_;
  uint32_t capacity_;
  uint32_t mask_;
  uint32_t slot_bytes_;
  uint32_t stride_;
  uint64_t head_ = 0;  // consumer only; private so a client cannot move it
  uint32_t wake_batch_;
  uint32_t frees_since_check_ = 0;  // since the last look at producers_waiting
  bool consumer_;
  // slot(head_), kept as head_ moves: readable() and prepare_sleep() run on every call a
  // serving thread answers (docs/protocols.md, "Register stubs"). Null on a producer's handle.
  ring_layout::SlotHeader* head_slot_;
  bool wake_producers_ = false;
};

}  // namespace exo::channel
