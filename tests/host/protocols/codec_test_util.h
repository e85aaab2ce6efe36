// Helpers shared by the generated-code tests: encode, stamp handles as the kernel would, and
// decode from a heap buffer of exactly the body's size so AddressSanitizer sees any overread.
#pragma once

#include <stdint.h>
#include <string.h>

#include <memory>
#include <vector>

#include "exo/proto/runtime.h"

namespace exo::proto::testing {

// A received message held the way a hostile sender could shape it: body and handles in
// exact-size heap allocations (nothing to read past without ASan noticing).
struct Wire {
  uint64_t label = 0;
  std::vector<uint8_t> body;
  std::vector<HandleSlot> handles;

  // Decodes as T from exact-size copies of body and handles. The copies live until the next
  // decode() on this Wire, so the views in `out` stay valid that long.
  template <typename T>
  bool decode(T* out) const {
    bytes_.reset(new uint8_t[body.size()], std::default_delete<uint8_t[]>());
    if (!body.empty()) memcpy(bytes_.get(), body.data(), body.size());
    slots_.reset(new HandleSlot[handles.size()], std::default_delete<HandleSlot[]>());
    if (!handles.empty()) memcpy(slots_.get(), handles.data(), handles.size() * sizeof(HandleSlot));
    MessageView view{label, bytes_.get(), body.size(), slots_.get(), handles.size()};
    return decode_message(view, out);
  }

 private:
  mutable std::shared_ptr<uint8_t> bytes_;
  mutable std::shared_ptr<HandleSlot> slots_;
};

// Encodes `value` and returns the wire form. Handles get `type`/`rights` as the kernel would
// report them for the sender's handles (types[i] for handle i; kAny when not given).
template <typename T>
Wire encode_wire(const T& value, std::vector<ObjectType> types = {}, uint32_t rights = ~0u) {
  auto message = std::make_unique<Message>();
  Status status = encode_message(*message, 1, 0, value);
  Wire wire;
  if (!status.ok()) return wire;
  wire.label = message->label;
  wire.body.assign(message->bytes, message->bytes + message->size());
  for (size_t i = 0; i < message->handle_count(); ++i) {
    HandleSlot slot = message->handles[i];
    slot.type = i < types.size() ? types[i] : ObjectType::kAny;
    slot.rights = rights;
    wire.handles.push_back(slot);
  }
  return wire;
}

// The label for a body of `size` bytes and `handles` handles.
inline uint64_t label_for(size_t size, size_t handles) {
  return make_label(1, 0, handles, size);
}

}  // namespace exo::proto::testing
