// The register stubs (docs/protocols.md, "Register stubs"): generated clients and servers that
// carry small calls in the IPC words. Round trips stub to stub and against the generic path
// (same registers either way), malformed request and reply registers (rejected, the server
// goes on), and random registers thrown at both halves.
#include <string.h>

#include <memory>
#include <random>

#include <gtest/gtest.h>

#include "exo/proto/ipc_transport.h"
#include "exo/proto/runtime.h"
#include "register_types.h"

namespace exo::proto {
namespace {

namespace rt = protocols::register_types;
using rt::Regs;

class Server final : public rt::RegsServer {
 public:
  void mirror(const rt::Mixed& v, Regs::MirrorResponse* response) override {
    ++calls;
    rt::Mixed m = v;
    m.a++, m.b++, m.c++, m.d++, m.e++, m.f++, m.g++, m.h++;
    m.flag = !m.flag;
    m.done = !m.done;
    m.pair[0]++, m.pair[1]++;
    response->value = m;
  }
  Outcome<rt::Fault> check(rt::Level level, uint32_t code, Regs::CheckResponse* response) override {
    ++calls;
    if (code == 0) return rt::Fault::kBusy;
    response->sum = int64_t(level) + code;
    return {};
  }
  void nothing(Regs::NothingResponse*) override { ++calls; }
  void text(StringView s, Regs::TextResponse* response) override {
    ++calls;
    response->n = uint32_t(s.size);
  }
  void poke(uint32_t) override { ++calls; }

  int calls = 0;
};

// The register stub on both sides: call_registers() hands the words to dispatch_registers(),
// as the kernel would between the two threads. Records what went each way.
class RegisterWire final : public Transport {
 public:
  explicit RegisterWire(Dispatcher& server) : server_(server) {}
  Status call(const Message&, Message&) override { return Error::kUnsupported; }
  Status send(const Message&, SendMode) override { return Error::kUnsupported; }
  Status call_registers(sys::IpcRegisters& r) override {
    request = r;
    last = server_.dispatch_registers(r);
    reply = r;
    return last == RegisterDispatch::kPass ? Error::kUnsupported : ok_status();
  }
  sys::IpcRegisters request, reply;
  RegisterDispatch last = RegisterDispatch::kPass;

 private:
  Dispatcher& server_;
};

// The generic server behind a register client: the request words become a Message (the
// Transport default), serve_one() runs dispatch(), and the reply goes back to registers.
class GenericLoop final : public Transport, public ServerTransport {
 public:
  explicit GenericLoop(Dispatcher& server) : server_(server) {}
  Status call(const Message& request, Message& response) override {
    pending_ = &request;
    response_ = &response;
    return serve_one(*this, server_, *in_, *out_, nullptr);
  }
  Status send(const Message&, SendMode) override { return Error::kUnsupported; }
  Status receive(Message& message, ReplyToken* token) override {
    message.label = pending_->label;
    memcpy(message.bytes, pending_->bytes, pending_->size());
    *token = ReplyToken{1};
    return ok_status();
  }
  Status reply(ReplyToken, const Message& message) override {
    response_->label = message.label;
    memcpy(response_->bytes, message.bytes, message.size());
    return ok_status();
  }
  void discard_handles(const Message&) override {}

 private:
  Dispatcher& server_;
  std::unique_ptr<Message> in_ = std::make_unique<Message>();
  std::unique_ptr<Message> out_ = std::make_unique<Message>();
  const Message* pending_ = nullptr;
  Message* response_ = nullptr;
};

rt::Mixed sample() {
  rt::Mixed m;
  m.a = 0xfe;
  m.b = 0xbeef;
  m.c = 0xdeadbeef;
  m.d = 0x0123456789abcdefull;
  m.e = -128;
  m.f = -2;
  m.g = -0x7fffffff;
  m.h = -0x7000000000000001ll;
  m.flag = true;
  m.mode = rt::Mode::kAutomatic;
  m.level = rt::Level::kLow;
  m.maybe = uint16_t(0xa55a);
  m.pair[0] = 1;
  m.pair[1] = 0xff;
  m.done = false;
  return m;
}

rt::Mixed mirrored(rt::Mixed m) {
  m.a++, m.b++, m.c++, m.d++, m.e++, m.f++, m.g++, m.h++;
  m.flag = !m.flag;
  m.done = !m.done;
  m.pair[0]++, m.pair[1]++;
  return m;
}

TEST(RegisterStubs, RoundTripStubToStub) {
  Server server;
  RegisterWire wire(server);
  rt::RegsClient client(wire);
  for (bool present : {true, false}) {
    rt::Mixed in = sample();
    if (!present) in.maybe.reset();
    auto got = client.mirror(in);
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->value == mirrored(in));
    // Five body words, the size in word 0, the ordinal as label, no flags.
    EXPECT_EQ(wire.request.tag, EXO_IPC_TAG_FULL(Regs::kMirrorOrdinal, 6, 0, 0, 0));
    EXPECT_EQ(wire.request.words[0], 40u);
    EXPECT_EQ(wire.reply.tag, EXO_IPC_TAG_FULL(Regs::kMirrorOrdinal, 6, 0, 0, kFlagReply));
  }
  auto sum = client.check(rt::Level::kHigh, 7);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->sum, 507);
  auto negative = client.check(rt::Level::kLow, 1);
  ASSERT_TRUE(negative.ok());
  EXPECT_EQ(negative->sum, -4);
  auto busy = client.check(rt::Level::kLow, 0);
  ASSERT_TRUE(busy.is_app_error());
  EXPECT_EQ(busy.app_error(), rt::Fault::kBusy);
  EXPECT_TRUE(client.nothing().ok());
  EXPECT_EQ(wire.request.tag, EXO_IPC_TAG_FULL(Regs::kNothingOrdinal, 1, 0, 0, 0));
  EXPECT_EQ(server.calls, 6);
}

// The register client against the generic server, and the generic client's registers against
// the register server: both produce and accept the same words.
TEST(RegisterStubs, InteroperateWithTheGenericPath) {
  Server server;
  GenericLoop loop(server);
  rt::RegsClient client(loop);
  rt::Mixed in = sample();
  auto got = client.mirror(in);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->value == mirrored(in));
  auto busy = client.check(rt::Level::kHigh, 0);
  ASSERT_TRUE(busy.is_app_error());
  EXPECT_EQ(busy.app_error(), rt::Fault::kBusy);
  EXPECT_TRUE(client.nothing().ok());

  // The generic encoder, packed by the IPC transport's generic packing, into the stub server;
  // the stub's reply unpacked and decoded generically.
  auto message = std::make_unique<Message>();
  ASSERT_TRUE(encode_message(*message, Regs::kMirrorOrdinal, 0, Regs::MirrorRequest{in}).ok());
  sys::IpcRegisters r;
  ASSERT_TRUE(to_registers(*message, &r));
  ASSERT_EQ(server.dispatch_registers(r), RegisterDispatch::kReply);
  auto reply = std::make_unique<Message>();
  ASSERT_TRUE(from_registers(r, reply.get()).ok());
  MessageView view;
  ASSERT_TRUE(view_of(*reply, &view));
  EXPECT_EQ(view.label, make_label(Regs::kMirrorOrdinal, kFlagReply, 0, 40));
  Regs::MirrorResponse response;
  ASSERT_TRUE(decode_message(view, &response));
  EXPECT_TRUE(response.value == mirrored(in));
}

TEST(RegisterStubs, GenericMethodsPass) {
  Server server;
  sys::IpcRegisters r;
  r.tag = EXO_IPC_TAG_FULL(Regs::kTextOrdinal, 2, 0, 0, 0);
  r.words[0] = 3;
  r.words[1] = 0x636261;
  sys::IpcRegisters before = r;
  EXPECT_EQ(server.dispatch_registers(r), RegisterDispatch::kPass);
  EXPECT_EQ(memcmp(&r, &before, sizeof(r)), 0);
  r.tag = EXO_IPC_TAG_FULL(Regs::kPokeOrdinal, 2, 0, 0, 0);
  EXPECT_EQ(server.dispatch_registers(r), RegisterDispatch::kPass);
  r.tag = EXO_IPC_TAG_FULL(99, 1, 0, 0, 0);
  EXPECT_EQ(server.dispatch_registers(r), RegisterDispatch::kPass);
  EXPECT_EQ(server.calls, 0);
}

sys::IpcRegisters valid_mirror() {
  sys::IpcRegisters r;
  encode_registers(r, Regs::kMirrorOrdinal, 0, Regs::MirrorRequest{sample()});
  return r;
}

// Byte `at` of the body (in words 1..5) set to `value`.
void set_body_byte(sys::IpcRegisters& r, size_t at, uint8_t value) {
  uint64_t& w = r.words[1 + at / 8];
  w = (w & ~(uint64_t{0xff} << (8 * (at % 8)))) | (uint64_t{value} << (8 * (at % 8)));
}

void expect_rejected(sys::IpcRegisters r, uint32_t ordinal, const char* what) {
  Server server;
  EXPECT_EQ(server.dispatch_registers(r), RegisterDispatch::kRejectedReply) << what;
  EXPECT_EQ(server.calls, 0) << what;
  EXPECT_EQ(r.tag, EXO_IPC_TAG_FULL(ordinal, 2, 0, 0, kFlagReply | kFlagProtocolError)) << what;
  EXPECT_EQ(r.words[0], 4u) << what;
  EXPECT_EQ(r.words[1], uint64_t(Error::kMalformed)) << what;
  // The server keeps serving: the next good call is answered.
  sys::IpcRegisters good = valid_mirror();
  EXPECT_EQ(server.dispatch_registers(good), RegisterDispatch::kReply) << what;
  EXPECT_EQ(server.calls, 1) << what;
}

TEST(RegisterStubs, MalformedRequestsAreRejected) {
  // Offsets in Mixed: flag 30, mode 31, level 32, maybe 34 (presence) 35..36, pair 37, done 39.
  sys::IpcRegisters r = valid_mirror();
  r.words[0] = 39;
  expect_rejected(r, Regs::kMirrorOrdinal, "size one short");
  r.words[0] = 41;
  expect_rejected(r, Regs::kMirrorOrdinal, "size one long");
  r = valid_mirror();
  r.tag = EXO_IPC_TAG_FULL(Regs::kMirrorOrdinal, 5, 0, 0, 0);
  expect_rejected(r, Regs::kMirrorOrdinal, "word count short of the body");
  r = valid_mirror();
  set_body_byte(r, 30, 2);
  expect_rejected(r, Regs::kMirrorOrdinal, "bool 2");
  r = valid_mirror();
  set_body_byte(r, 39, 0x80);
  expect_rejected(r, Regs::kMirrorOrdinal, "last bool with its high bit set");
  r = valid_mirror();
  set_body_byte(r, 31, 2);
  expect_rejected(r, Regs::kMirrorOrdinal, "enum value not declared");
  r = valid_mirror();
  set_body_byte(r, 32, 0x01);
  set_body_byte(r, 33, 0x00);
  expect_rejected(r, Regs::kMirrorOrdinal, "signed enum value not declared");
  r = valid_mirror();
  set_body_byte(r, 34, 2);
  expect_rejected(r, Regs::kMirrorOrdinal, "presence byte 2");
  rt::Mixed absent = sample();
  absent.maybe.reset();
  encode_registers(r, Regs::kMirrorOrdinal, 0, Regs::MirrorRequest{absent});
  set_body_byte(r, 36, 1);
  expect_rejected(r, Regs::kMirrorOrdinal, "absent optional with a stray byte");

  // Padding past a short body: check(level: i16, code: u32) is 6 bytes in one word.
  encode_registers(r, Regs::kCheckOrdinal, 0, Regs::CheckRequest{rt::Level::kHigh, 1});
  set_body_byte(r, 7, 1);
  expect_rejected(r, Regs::kCheckOrdinal, "a byte past the body");
  encode_registers(r, Regs::kNothingOrdinal, 0, Regs::NothingRequest{});
  r.words[0] = 8;
  expect_rejected(r, Regs::kNothingOrdinal, "an empty request with a body");
}

// Words past the count may hold anything (the kernel zeroes them, but the stub must not care):
// they are never read.
TEST(RegisterStubs, WordsPastTheCountAreNotRead) {
  Server server;
  sys::IpcRegisters r;
  encode_registers(r, Regs::kCheckOrdinal, 0, Regs::CheckRequest{rt::Level::kHigh, 2});
  for (size_t i = 2; i < EXO_IPC_MAX_WORDS; ++i) r.words[i] = 0xdeadbeefdeadbeefull;
  ASSERT_EQ(server.dispatch_registers(r), RegisterDispatch::kReply);
  EXPECT_EQ(EXO_IPC_TAG_WORDS(r.tag), 2u);
  EXPECT_EQ(int64_t(r.words[1]), 502);
}

// A transport that answers every call with the registers it was given.
class ScriptedReply final : public Transport {
 public:
  Status call(const Message&, Message&) override { return Error::kUnsupported; }
  Status send(const Message&, SendMode) override { return Error::kUnsupported; }
  Status call_registers(sys::IpcRegisters& r) override {
    r = reply;
    return ok_status();
  }
  sys::IpcRegisters reply;
};

TEST(RegisterStubs, MalformedRepliesAreRejected) {
  ScriptedReply wire;
  rt::RegsClient client(wire);
  auto good = [](sys::IpcRegisters* r) {
    encode_registers(*r, Regs::kCheckOrdinal, kFlagReply, Regs::CheckResponse{-9});
  };
  good(&wire.reply);
  auto ok = client.check(rt::Level::kLow, 1);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->sum, -9);

  struct Case {
    const char* what;
    void (*mutate)(sys::IpcRegisters*);
  };
  const Case cases[] = {
      {"another ordinal", [](sys::IpcRegisters* r) { r->tag += 1; }},
      {"not a reply", [](sys::IpcRegisters* r) { r->tag &= ~EXO_IPC_TAG_FULL(0, 0, 0, 0, 0xff); }},
      {"one-way flag", [](sys::IpcRegisters* r) { r->tag |= EXO_IPC_TAG_FULL(0, 0, 0, 0, kFlagOneWay); }},
      {"unknown flag", [](sys::IpcRegisters* r) { r->tag |= EXO_IPC_TAG_FULL(0, 0, 0, 0, 0x80); }},
      {"handles", [](sys::IpcRegisters* r) { r->tag |= EXO_IPC_TAG_FULL(0, 0, 1, 0, 0); }},
      {"a tail", [](sys::IpcRegisters* r) { r->tag |= EXO_IPC_TAG_FULL(0, 0, 0, 1, 0); }},
      {"reserved bits", [](sys::IpcRegisters* r) { r->tag |= uint64_t{1} << 63; }},
      {"short count", [](sys::IpcRegisters* r) { r->tag &= ~EXO_IPC_TAG_FULL(0, 0xf, 0, 0, 0); r->tag |= EXO_IPC_TAG_FULL(0, 1, 0, 0, 0); }},
      {"size", [](sys::IpcRegisters* r) { r->words[0] = 7; }},
      {"protocol error out of range",
       [](sys::IpcRegisters* r) {
         encode_protocol_error_registers(*r, Regs::kCheckOrdinal, Error::kMalformed);
         r->words[1] = 0;
       }},
      {"protocol error with high bits",
       [](sys::IpcRegisters* r) {
         encode_protocol_error_registers(*r, Regs::kCheckOrdinal, Error::kMalformed);
         r->words[1] |= uint64_t{1} << 40;
       }},
      {"app error not declared",
       [](sys::IpcRegisters* r) { encode_app_error_registers(*r, Regs::kCheckOrdinal, rt::Fault(4)); }},
      {"app error with padding",
       [](sys::IpcRegisters* r) {
         encode_app_error_registers(*r, Regs::kCheckOrdinal, rt::Fault::kBusy);
         r->words[1] |= uint64_t{1} << 32;
       }},
  };
  for (const Case& c : cases) {
    good(&wire.reply);
    c.mutate(&wire.reply);
    auto got = client.check(rt::Level::kLow, 1);
    ASSERT_TRUE(got.is_error()) << c.what;
    EXPECT_EQ(got.error(), Error::kMalformed) << c.what;
  }
  // The well-formed error replies.
  encode_protocol_error_registers(wire.reply, Regs::kCheckOrdinal, Error::kUnsupported);
  auto refused = client.check(rt::Level::kLow, 1);
  ASSERT_TRUE(refused.is_error());
  EXPECT_EQ(refused.error(), Error::kUnsupported);
  encode_app_error_registers(wire.reply, Regs::kCheckOrdinal, rt::Fault::kBusy);
  auto busy = client.check(rt::Level::kLow, 1);
  ASSERT_TRUE(busy.is_app_error());
  EXPECT_EQ(busy.app_error(), rt::Fault::kBusy);
  // A method without an error type never accepts an application error.
  encode_app_error_registers(wire.reply, Regs::kNothingOrdinal, rt::Fault::kBusy);
  auto nothing = client.nothing();
  ASSERT_TRUE(nothing.is_error());
  EXPECT_EQ(nothing.error(), Error::kMalformed);
}

// Random and mutated registers at both halves: each request is passed, answered or rejected
// (never a crash, under AddressSanitizer), and a rejection always carries a protocol error.
TEST(RegisterStubs, FuzzBothHalves) {
  std::mt19937_64 rng(7);
  Server server;
  ScriptedReply wire;
  rt::RegsClient client(wire);
  for (int i = 0; i < 200000; ++i) {
    sys::IpcRegisters r = valid_mirror();
    switch (rng() % 3) {
      case 0:
        r.tag = rng();
        for (uint64_t& w : r.words) w = rng();
        break;
      case 1:
        r.words[1 + rng() % 5] ^= uint64_t{1} << (rng() % 64);
        break;
      default:
        r.tag = EXO_IPC_TAG_FULL(1 + rng() % 5, rng() % 7, 0, 0, 0);
        r.words[0] = rng() % 48;
        break;
    }
    sys::IpcRegisters request = r;
    RegisterDispatch d = server.dispatch_registers(r);
    if (d == RegisterDispatch::kRejectedReply) {
      EXPECT_EQ(EXO_IPC_TAG_FLAGS(r.tag), unsigned(kFlagReply | kFlagProtocolError));
    } else if (d == RegisterDispatch::kPass) {
      EXPECT_EQ(memcmp(&r, &request, sizeof(r)), 0);
    }
    wire.reply = request;
    (void)client.mirror(sample());
    (void)client.check(rt::Level::kLow, 1);
  }
}

}  // namespace
}  // namespace exo::proto
