// The glue generated clients and servers share: Reply/Outcome, message-level encode and
// decode, the call and send helpers, the Dispatcher interface and the serving loop.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "exo/ipc.h"
#include "kernel/abi/status_map.h"
#include "kernel/lib/result.h"
#include "message.h"
#include "transport.h"
#include "wire.h"

namespace exo::proto {

// The error type of a method declared without `error`: it has no values, so a reply flagged
// as an application error never decodes.
enum class NoError : uint8_t {};
inline void encode(Encoder&, size_t, NoError) {}
inline bool decode(Decoder&, size_t, NoError*) {
  return false;
}
inline bool decode(RegisterDecoder&, size_t, NoError*) {
  return false;
}

// The error enum of a method travels alone in the body.
template <typename E>
inline constexpr size_t kErrorInlineSize = sizeof(E);

// The result of a call on a generated client: the response, the method's own error (an enum
// value the server chose), or an exo::Error from the transport or from a rejected message.
template <typename T, typename E>
class Reply {
 public:
  Reply(const T& value) : value_(value), kind_(Kind::kValue) {}
  Reply(E app_error) : app_error_(app_error), kind_(Kind::kAppError) {}
  Reply(Error error) : error_(error), kind_(Kind::kError) {}

  bool ok() const { return kind_ == Kind::kValue; }
  bool is_app_error() const { return kind_ == Kind::kAppError; }
  bool is_error() const { return kind_ == Kind::kError; }
  // Preconditions: ok(), is_app_error() and is_error() respectively.
  T& value() { return value_; }
  const T& value() const { return value_; }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  E app_error() const { return app_error_; }
  Error error() const { return error_; }

 private:
  enum class Kind : uint8_t { kValue, kAppError, kError };
  T value_{};
  E app_error_{};
  Error error_ = Error::kInvalidArgument;
  Kind kind_;
};

// What a server handler returns for a method with an error type: success, or one error value.
template <typename E>
class Outcome {
 public:
  Outcome() = default;
  Outcome(E error) : error_(error), ok_(false) {}
  static Outcome success() { return Outcome(); }

  bool ok() const { return ok_; }
  // Precondition: !ok().
  E error() const { return error_; }

 private:
  E error_{};
  bool ok_ = true;
};

// Encodes `value` (a generated struct) as the whole body of `message`.
template <typename T>
Status encode_message(Message& message, uint32_t ordinal, uint8_t flags, const T& value) {
  Encoder encoder(message, T::kInlineSize);
  if (!encode(encoder, 0, value)) return Error::kOutOfRange;
  message.label = make_label(ordinal, flags, encoder.handle_count(), encoder.size());
  return ok_status();
}

// Decodes the whole body of `view` as T; false when anything is out of place.
template <typename T>
bool decode_message(const MessageView& view, T* out) {
  Decoder decoder(view, T::kInlineSize);
  return decoder.ok() && decode(decoder, 0, out) && decoder.finish();
}

template <typename E>
Status encode_app_error(Message& message, uint32_t ordinal, E error) {
  Encoder encoder(message, kErrorInlineSize<E>);
  encode(encoder, 0, error);
  message.label = make_label(ordinal, kFlagReply | kFlagAppError, 0, encoder.size());
  return ok_status();
}

// A protocol-error reply carries the exo::Error that explains the rejection.
inline void encode_protocol_error(Message& message, uint32_t ordinal, Error error) {
  Encoder encoder(message, sizeof(uint32_t));
  encoder.put<uint32_t>(0, uint32_t(error));
  message.label = make_label(ordinal, kFlagReply | kFlagProtocolError, 0, encoder.size());
}

// Runs one call: encodes `request` into `message`, calls, and decodes the reply in place.
// The response's views point into `message` and stay valid until it is reused.
template <typename Resp, typename E, typename Req>
Reply<Resp, E> call(Transport& transport, Message& message, uint32_t ordinal, const Req& request) {
  Status encoded = encode_message(message, ordinal, 0, request);
  if (!encoded.ok()) return encoded.error();
  Status called = transport.call(message, message);
  if (!called.ok()) return called.error();
  MessageView view;
  if (!view_of(message, &view)) return Error::kMalformed;
  uint8_t flags = label_flags(view.label);
  if (label_ordinal(view.label) != ordinal || (flags & kFlagReply) == 0 ||
      (flags & kFlagOneWay) != 0) {
    return Error::kMalformed;
  }
  if (flags & kFlagProtocolError) {
    Decoder decoder(view, sizeof(uint32_t));
    if (!decoder.ok() || !decoder.finish()) return Error::kMalformed;
    uint32_t code = decoder.get<uint32_t>(0);
    if (code < uint32_t(Error::kNoMemory) || code > uint32_t(Error::kNotAligned)) {
      return Error::kMalformed;
    }
    return Error(code);
  }
  if (flags & kFlagAppError) {
    Decoder decoder(view, kErrorInlineSize<E>);
    E error{};
    if (!decoder.ok() || !decode(decoder, 0, &error) || !decoder.finish()) {
      return Error::kMalformed;
    }
    return error;
  }
  Resp response{};
  if (!decode_message(view, &response)) return Error::kMalformed;
  return response;
}

// Runs one send: encodes `request` as a one-way message and queues it.
template <typename Req>
Status send(Transport& transport, Message& message, uint32_t ordinal, const Req& request,
            SendMode mode) {
  Status encoded = encode_message(message, ordinal, kFlagOneWay, request);
  if (!encoded.ok()) return encoded;
  if (message.handle_count() != 0) return Error::kInvalidArgument;
  return transport.send(message, mode);
}

// Register stubs (docs/protocols.md, "Register stubs"): a method whose request and response
// have a fixed size of at most 40 bytes and no handles travels as exactly the IPC registers the
// generic packing would produce (word 0 the body size, words 1..5 the body, label the ordinal,
// the protocol flags in the tag), so stubs and the generic path interoperate both ways; the
// stubs only skip the Message buffer, the memcpys and the out-of-line calls.

// Body words a fixed-size body of `size` bytes takes.
constexpr size_t register_words(size_t size) {
  return (size + 7) / 8;
}

// Encodes `value` (a generated struct that fits the registers) as the message `ordinal` with
// `flags` into `r`. Words past the count are left as they are: the kernel zeroes them for the
// receiver.
template <typename T>
[[gnu::always_inline]] inline void encode_registers(sys::IpcRegisters& r, uint32_t ordinal,
                                                    uint8_t flags, const T& value) {
  constexpr size_t kWords = register_words(T::kInlineSize);
  static_assert(T::kInlineSize == T::kMaxSize && T::kMaxHandles == 0 &&
                kWords <= kRegisterBodyWords);
  r.tag = EXO_IPC_TAG_FULL(ordinal, 1 + kWords, 0, 0, flags);
  r.words[0] = T::kInlineSize;
  for (size_t i = 0; i < kWords; ++i) r.words[1 + i] = 0;
  // The words past the count hold whatever their registers do (an empty asm "produces" them):
  // the kernel neither reads nor delivers them, and a loop that keeps `r` in registers need
  // not carry their old values through the handler to the next syscall.
  for (size_t i = 1 + kWords; i < EXO_IPC_MAX_WORDS; ++i) asm("" : "=r"(r.words[i]));
  RegisterEncoder encoder(&r.words[1]);
  (void)encode(encoder, 0, value);  // fixed-size fields cannot fail
}

// True when the body in `r` is exactly a T (its tag's handles, tail and flags are the caller's
// to check): word 0 is T's size, the count covers it, the bytes of the last word past the body
// are zero (one encoding per value, as the generic encoder writes them), and every field
// decodes (enum values, bools, presence bytes, absent optionals all zero). Reads no word past
// the ones the count covers.
template <typename T>
bool decode_register_body(const sys::IpcRegisters& r, T* out);
template <typename T>
[[gnu::always_inline]] inline bool decode_registers(const sys::IpcRegisters& r, T* out) {
  constexpr size_t kWords = register_words(T::kInlineSize);
  static_assert(T::kInlineSize == T::kMaxSize && T::kMaxHandles == 0 &&
                kWords <= kRegisterBodyWords);
  if (r.words[0] != T::kInlineSize || EXO_IPC_TAG_WORDS(r.tag) < 1 + kWords) return false;
  return decode_register_body(r, out);
}

// decode_registers() once word 0 and the count are known to be right: the bytes past the body
// in its last word must be zero, and every field must decode.
template <typename T>
[[gnu::always_inline]] inline bool decode_register_body(const sys::IpcRegisters& r, T* out) {
  constexpr size_t kWords = register_words(T::kInlineSize);
  if constexpr (T::kInlineSize % 8 != 0) {
    if ((r.words[kWords] >> (8 * (T::kInlineSize % 8))) != 0) return false;
  }
  RegisterDecoder decoder(&r.words[1]);
  return decode(decoder, 0, out);
}

// The method's error as the whole reply, in registers (encode_app_error's layout).
template <typename E>
[[gnu::always_inline]] inline void encode_app_error_registers(sys::IpcRegisters& r,
                                                              uint32_t ordinal, E error) {
  static_assert(kErrorInlineSize<E> <= 8);
  r.tag = EXO_IPC_TAG_FULL(ordinal, 2, 0, 0, kFlagReply | kFlagAppError);
  r.words[0] = kErrorInlineSize<E>;
  r.words[1] = 0;
  RegisterEncoder encoder(&r.words[1]);
  encode(encoder, 0, error);
}

// A protocol-error reply in registers: the u32 exo::Error, as encode_protocol_error writes it.
[[gnu::always_inline]] inline void encode_protocol_error_registers(sys::IpcRegisters& r,
                                                                   uint32_t ordinal, Error error) {
  r.tag = EXO_IPC_TAG_FULL(ordinal, 2, 0, 0, kFlagReply | kFlagProtocolError);
  r.words[0] = sizeof(uint32_t);
  r.words[1] = uint32_t(error);
}

// The tag bits a request taken by a register stub must have clear: handles, tail, flags (a
// call carries none) and the reserved bits. Anything else goes to the generic path.
inline constexpr uint64_t kRegisterCallMask =
    EXO_IPC_TAG_FULL(0, 0, 0x7, 0x1fff, 0xff) | EXO_IPC_TAG_RESERVED_MASK;

// Transport::call_registers for a transport that is not kernel IPC (call_registers below).
// The request comes as values and the reply goes to another object, so that the stub's `r`
// never has its address taken and stays in registers on the kernel path.
[[gnu::noinline]] inline Status call_registers_by_value(Transport& transport, uint64_t tag,
                                                        uint64_t w0, uint64_t w1, uint64_t w2,
                                                        uint64_t w3, uint64_t w4, uint64_t w5,
                                                        sys::IpcRegisters* out) {
  out->tag = tag;
  out->words[0] = w0;
  out->words[1] = w1;
  out->words[2] = w2;
  out->words[3] = w3;
  out->words[4] = w4;
  out->words[5] = w5;
  return transport.call_registers(*out);
}

// The client half of a register stub: `r` holds the encoded request; calls over the transport
// and decodes the reply to the method `ordinal` into a Reply, with the checks call() makes.
template <typename Resp, typename E>
[[gnu::always_inline]] inline Reply<Resp, E> call_registers(Transport& transport,
                                                            sys::IpcRegisters& r,
                                                            uint32_t ordinal) {
  uint32_t endpoint = transport.register_endpoint();
  if (endpoint != Transport::kNoRegisterEndpoint) [[likely]] {
    // Only the words the request's tag counts (encode_registers wrote those).
    int64_t status = sys::ipc_call_registers(endpoint, r, EXO_IPC_TAG_WORDS(r.tag));
    if (status < 0) [[unlikely]] return abi::from_abi_status(status);
  } else {
    sys::IpcRegisters reply;
    Status called = call_registers_by_value(transport, r.tag, r.words[0], r.words[1], r.words[2],
                                            r.words[3], r.words[4], r.words[5], &reply);
    if (!called.ok()) return called.error();
    r = reply;
  }
  uint64_t tag = r.tag;
  // The reply a register stub or the generic packing sends for a value: exactly this tag (the
  // words the body needs) and word 0 the body's size. One compare each; the body's own checks
  // follow. Any other reply takes the full checks below.
  constexpr size_t kRespWords = register_words(Resp::kInlineSize);
  if (tag == EXO_IPC_TAG_FULL(ordinal, 1 + kRespWords, 0, 0, kFlagReply) &&
      r.words[0] == Resp::kInlineSize) [[likely]] {
    Resp response;
    if (!decode_register_body(r, &response)) return Error::kMalformed;
    return response;
  }
  // Label, no handles, no tail, no reserved bits; the flags say which body follows.
  uint64_t expect = EXO_IPC_TAG_FULL(ordinal, 0, 0, 0, 0);
  if ((tag & ~EXO_IPC_TAG_FULL(0, 0xf, 0, 0, 0xff)) != expect) [[unlikely]] return Error::kMalformed;
  uint8_t flags = uint8_t(EXO_IPC_TAG_FLAGS(tag));
  if (flags == kFlagReply) [[likely]] {
    Resp response;
    if (!decode_registers(r, &response)) return Error::kMalformed;
    return response;
  }
  if (flags == (kFlagReply | kFlagProtocolError)) {
    if (r.words[0] != sizeof(uint32_t) || EXO_IPC_TAG_WORDS(tag) < 2 || (r.words[1] >> 32) != 0) {
      return Error::kMalformed;
    }
    uint64_t code = r.words[1];
    if (code < uint32_t(Error::kNoMemory) || code > uint32_t(Error::kNotAligned)) {
      return Error::kMalformed;
    }
    return Error(uint32_t(code));
  }
  if (flags == (kFlagReply | kFlagAppError)) {
    constexpr size_t kSize = kErrorInlineSize<E>;
    if (r.words[0] != kSize || EXO_IPC_TAG_WORDS(tag) < 2) return Error::kMalformed;
    if constexpr (kSize < 8) {
      if ((r.words[1] >> (8 * kSize)) != 0) return Error::kMalformed;
    }
    RegisterDecoder decoder(&r.words[1]);
    E error{};
    if (!decode(decoder, 0, &error)) return Error::kMalformed;
    return error;
  }
  return Error::kMalformed;
}

// What a register stub on the server did with one request (Dispatcher::dispatch_registers).
enum class RegisterDispatch : uint8_t {
  kPass,           // not a register method: `r` is untouched, take the generic path
  kReply,          // handled; `r` holds the reply (a value or the method's error)
  kRejectedReply,  // malformed; `r` holds a protocol error
};

// What dispatch() did with one incoming message.
enum class DispatchResult : uint8_t {
  kReply,          // a call was handled; `reply` holds the answer
  kHandled,        // a one-way message was handled; nothing to send
  kRejectedReply,  // a call was malformed; `reply` holds a protocol error
  kRejected,       // a one-way message was malformed and dropped
};

// The server side of one protocol; generated <Protocol>Server classes implement it.
class Dispatcher {
 public:
  // Decodes `request`, runs the handler and, for calls, fills `reply`. `request` must not
  // alias `reply`: decoded views point into the request while the reply is written.
  virtual DispatchResult dispatch(const MessageView& request, Message& reply) = 0;
  // The register stubs: a call that came in registers (`r`, tag and words; the transport has
  // checked that the tag has no handles, tail, flags or reserved bits) is decoded, handled and
  // answered in `r`, or passed (kPass, `r` untouched) to the generic path.
  virtual RegisterDispatch dispatch_registers(sys::IpcRegisters& r) {
    (void)r;
    return RegisterDispatch::kPass;
  }

 protected:
  ~Dispatcher() = default;
};

// Rejects `request`: for a call, `reply` becomes a protocol error carrying `error`.
inline DispatchResult reject(const MessageView& request, Message& reply, Error error) {
  if (label_flags(request.label) & kFlagOneWay) return DispatchResult::kRejected;
  encode_protocol_error(reply, label_ordinal(request.label), error);
  return DispatchResult::kRejectedReply;
}

// Encodes the successful answer to a call; a server-side encoding failure (a handler returned
// more than the bound) becomes a protocol error so the client is never left waiting.
template <typename T>
DispatchResult reply_value(Message& reply, uint32_t ordinal, const T& value) {
  if (!encode_message(reply, ordinal, kFlagReply, value).ok()) {
    encode_protocol_error(reply, ordinal, Error::kOutOfRange);
    return DispatchResult::kRejectedReply;
  }
  return DispatchResult::kReply;
}

template <typename E>
DispatchResult reply_app_error(Message& reply, uint32_t ordinal, E error) {
  (void)encode_app_error(reply, ordinal, error);
  return DispatchResult::kReply;
}

// Counters a serving loop keeps, for tests and diagnostics.
struct ServeStats {
  uint64_t calls = 0;
  uint64_t sends = 0;
  uint64_t rejected = 0;
};

// Receives one message, dispatches it and replies if it was a call. Malformed messages are
// answered with a protocol error (calls) or dropped (sends); either way the server goes on.
// `request` and `reply` are the serving thread's two buffers and must be distinct.
inline Status dispatch_received(ServerTransport& transport, Dispatcher& dispatcher,
                                ReplyToken token, Message& request, Message& reply,
                                ServeStats* stats);

inline Status serve_one(ServerTransport& transport, Dispatcher& dispatcher, Message& request,
                        Message& reply, ServeStats* stats) {
  ReplyToken token;
  Status received = transport.receive(request, &token);
  if (!received.ok()) return received;
  return dispatch_received(transport, dispatcher, token, request, reply, stats);
}

// serve_one's second half: dispatches `request`, received with `token`, and hands the reply
// of a call to the transport.
inline Status dispatch_received(ServerTransport& transport, Dispatcher& dispatcher,
                                ReplyToken token, Message& request, Message& reply,
                                ServeStats* stats) {
  DispatchResult result;
  MessageView view;
  bool one_way = token.value == kNoReply.value;
  if (!view_of(request, &view) || ((label_flags(request.label) & kFlagOneWay) != 0) != one_way ||
      (label_flags(request.label) & (kFlagReply | kFlagAppError | kFlagProtocolError)) != 0) {
    if (one_way) {
      result = DispatchResult::kRejected;
    } else {
      encode_protocol_error(reply, label_ordinal(request.label), Error::kMalformed);
      result = DispatchResult::kRejectedReply;
    }
  } else {
    result = dispatcher.dispatch(view, reply);
  }
  if (stats != nullptr) {
    if (result == DispatchResult::kRejected || result == DispatchResult::kRejectedReply) {
      ++stats->rejected;
    } else if (one_way) {
      ++stats->sends;
    } else {
      ++stats->calls;
    }
  }
  if (result == DispatchResult::kRejected || result == DispatchResult::kRejectedReply) {
    transport.discard_handles(request);
  }
  if (!one_way) {
    if (result == DispatchResult::kHandled || result == DispatchResult::kRejected) {
      // A call dispatched as one-way (cannot happen with generated code): still answer it.
      encode_protocol_error(reply, label_ordinal(request.label), Error::kMalformed);
    }
    return transport.reply(token, reply);
  }
  return ok_status();
}

// Serves until the transport fails (Error::kPeerClosed when the channel closes).
inline Status serve(ServerTransport& transport, Dispatcher& dispatcher, Message& request,
                    Message& reply, ServeStats* stats) {
  for (;;) {
    Status status = serve_one(transport, dispatcher, request, reply, stats);
    if (!status.ok()) return status;
  }
}

}  // namespace exo::proto
