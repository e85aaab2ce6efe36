// The serial, pci and block protocols end to end through their generated clients and server
// bases over an in-process loopback (serve_one on the calling thread), plus protocol errors.
#include <string.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "exo/proto/runtime.h"
#include "exo/protocols/block.h"
#include "exo/protocols/pci.h"
#include "exo/protocols/serial.h"
#include "test_types.h"

namespace exo::proto {
namespace {

// A transport that serves each call synchronously on the caller's thread through serve_one(),
// with a fake kernel handle table that stamps type and rights onto transferred handles.
class Loopback final : public Transport, public ServerTransport {
 public:
  explicit Loopback(Dispatcher& dispatcher) : dispatcher_(dispatcher) {}

  void register_handle(uint32_t value, ObjectType type, uint32_t rights) {
    table_[value] = HandleSlot{value, type, rights};
  }

  Status call(const Message& request, Message& response) override {
    if (!label_valid(request.label)) return Error::kInvalidArgument;
    pending_ = &request;
    token_ = ReplyToken{1};
    response_ = &response;
    return serve_one(*this, dispatcher_, *in_, *out_, &stats_);
  }
  Status send(const Message& message, SendMode) override {
    if (!label_valid(message.label) || message.handle_count() != 0) return Error::kInvalidArgument;
    pending_ = &message;
    token_ = kNoReply;
    return serve_one(*this, dispatcher_, *in_, *out_, &stats_);
  }

  Status receive(Message& message, ReplyToken* token) override {
    copy(message, *pending_);
    *token = token_;
    return ok_status();
  }
  Status reply(ReplyToken token, const Message& message) override {
    if (token.value != 1) return Error::kInvalidArgument;
    copy(*response_, message);
    return ok_status();
  }
  void discard_handles(const Message& message) override { discarded_ += message.handle_count(); }

  const ServeStats& stats() const { return stats_; }
  size_t discarded() const { return discarded_; }

 private:
  void copy(Message& to, const Message& from) {
    uint64_t label = from.label;
    to.label = label;
    memmove(to.bytes, from.bytes, label_size(label));
    for (size_t i = 0; i < label_handles(label); ++i) {
      auto it = table_.find(from.handles[i].value);
      to.handles[i] = it != table_.end() ? it->second : from.handles[i];
    }
  }

  Dispatcher& dispatcher_;
  std::unique_ptr<Message> in_ = std::make_unique<Message>();
  std::unique_ptr<Message> out_ = std::make_unique<Message>();
  const Message* pending_ = nullptr;
  Message* response_ = nullptr;
  ReplyToken token_;
  ServeStats stats_;
  size_t discarded_ = 0;
  std::map<uint32_t, HandleSlot> table_;
};

// --- serial ------------------------------------------------------------------------------------
namespace serial = protocols::serial;

class FakeSerial final : public serial::SerialServer {
 public:
  Outcome<serial::SerialError> write(BytesView data,
                                     serial::Serial::WriteResponse* response) override {
    if (data.size == 4 && memcmp(data.data, "fail", 4) == 0) return serial::SerialError::kLineError;
    written_.append(reinterpret_cast<const char*>(data.data), data.size);
    response->written = uint32_t(data.size);
    return {};
  }
  Outcome<serial::SerialError> read(uint16_t max, uint32_t timeout_us,
                                    serial::Serial::ReadResponse* response) override {
    if (timeout_us == 0 && written_.empty()) return serial::SerialError::kTimedOut;
    size_t n = std::min<size_t>(max, written_.size());
    response->data = BytesView(written_.data(), n);
    return {};
  }
  Outcome<serial::SerialError> configure(const serial::LineConfig& config,
                                         serial::Serial::ConfigureResponse*) override {
    if (config.data_bits < 5 || config.data_bits > 8) return serial::SerialError::kUnsupported;
    config_ = config;
    return {};
  }
  void get_config(serial::Serial::GetConfigResponse* response) override {
    response->config = config_;
  }
  void write_async(StringView text) override { async_.append(text.data, text.size); }
  Outcome<serial::SerialError> subscribe(Handle input, serial::Serial::SubscribeResponse*) override {
    subscribed_ = input.value;
    return {};
  }

  uint32_t subscribed_ = 0;
  std::string written_;
  std::string async_;
  serial::LineConfig config_{};
};

TEST(SerialProtocol, CallsRoundTrip) {
  FakeSerial server;
  Loopback loop(server);
  serial::SerialClient client(loop);

  auto written = client.write(BytesView("hello", 5));
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->written, 5u);

  auto read = client.read(3, 0);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(read->data.data), read->data.size), "hel");

  serial::LineConfig config{115200, 8, serial::Parity::kEven, serial::StopBits::kTwo, true};
  EXPECT_TRUE(client.configure(config).ok());
  auto got = client.get_config();
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->config == config);

  EXPECT_TRUE(client.write_async("async text").ok());
  EXPECT_EQ(server.async_, "async text");
}

TEST(SerialProtocol, SubscribeCarriesANotificationHandle) {
  FakeSerial server;
  Loopback loop(server);
  serial::SerialClient client(loop);
  loop.register_handle(0x77, ObjectType::kNotification, kRightSignal | kRightWait);
  auto subscribed = client.subscribe(Handle{0x77});
  ASSERT_TRUE(subscribed.ok());
  EXPECT_EQ(server.subscribed_, 0x77u);
  // A handle of another type, or without the signal right, is refused before the handler.
  loop.register_handle(0x78, ObjectType::kVmo, kRightSignal);
  EXPECT_FALSE(client.subscribe(Handle{0x78}).ok());
  loop.register_handle(0x79, ObjectType::kNotification, kRightWait);
  EXPECT_FALSE(client.subscribe(Handle{0x79}).ok());
  EXPECT_EQ(server.subscribed_, 0x77u);
}

TEST(SerialProtocol, ApplicationErrorsComeBackTyped) {
  FakeSerial server;
  Loopback loop(server);
  serial::SerialClient client(loop);
  auto failed = client.write(BytesView("fail", 4));
  ASSERT_TRUE(failed.is_app_error());
  EXPECT_EQ(failed.app_error(), serial::SerialError::kLineError);
  serial::LineConfig bad{9600, 9, serial::Parity::kNone, serial::StopBits::kOne, false};
  auto refused = client.configure(bad);
  ASSERT_TRUE(refused.is_app_error());
  EXPECT_EQ(refused.app_error(), serial::SerialError::kUnsupported);
  auto timeout = client.read(10, 0);
  ASSERT_TRUE(timeout.is_app_error());
  EXPECT_EQ(timeout.app_error(), serial::SerialError::kTimedOut);
}

TEST(SerialProtocol, ClientRefusesArgumentsBeyondTheirBounds) {
  FakeSerial server;
  Loopback loop(server);
  serial::SerialClient client(loop);
  std::string big(4097, 'x');
  auto result = client.write(BytesView(big.data(), big.size()));
  ASSERT_TRUE(result.is_error());
  EXPECT_EQ(result.error(), Error::kOutOfRange);
  std::string long_text(257, 'y');
  Status status = client.write_async(StringView(long_text.data(), long_text.size()));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(loop.stats().calls + loop.stats().sends, 0u);
}

TEST(SerialProtocol, IdempotenceIsDeclared) {
  EXPECT_TRUE(serial::Serial::is_idempotent(serial::Serial::kConfigureOrdinal));
  EXPECT_TRUE(serial::Serial::is_idempotent(serial::Serial::kGetConfigOrdinal));
  EXPECT_FALSE(serial::Serial::is_idempotent(serial::Serial::kWriteOrdinal));
  EXPECT_EQ(serial::Serial::kQueueCapacity, 64u);
}

// --- pci ---------------------------------------------------------------------------------------
namespace pci = protocols::pci;

class FakePci final : public pci::PciServer {
 public:
  static constexpr uint32_t kIrqHandle = 70;
  static constexpr uint32_t kBarHandle = 71;

  void list_devices(uint32_t start, pci::Pci::ListDevicesResponse* response) override {
    for (uint32_t i = start; i < 3; ++i) {
      pci::DeviceInfo& info = response->devices[response->count++];
      info.address = pci::Address{0, 0, uint8_t(i), 0};
      info.vendor_id = 0x8086;
      info.device_id = uint16_t(0x1000 + i);
      info.class_code = 2;
    }
    response->more = false;
  }
  Outcome<pci::PciError> read_config(const pci::Address& address, uint16_t offset,
                                     pci::AccessWidth width,
                                     pci::Pci::ReadConfigResponse* response) override {
    if (address.device > 2) return pci::PciError::kNotFound;
    if (offset + uint16_t(width) > 4096) return pci::PciError::kOutOfRange;
    response->value = offset == 0 ? 0x10008086u : 0;
    return {};
  }
  Outcome<pci::PciError> write_config(const pci::Address&, uint16_t, pci::AccessWidth, uint32_t,
                                      pci::Pci::WriteConfigResponse*) override {
    return claimed_ ? Outcome<pci::PciError>() : pci::PciError::kNotClaimed;
  }
  Outcome<pci::PciError> claim(const pci::Address& address,
                               pci::Pci::ClaimResponse* response) override {
    if (claimed_) return pci::PciError::kBusy;
    claimed_ = true;
    response->info.address = address;
    response->irq_kind = pci::IrqKind::kMsi;
    response->irq = Handle{kIrqHandle};
    return {};
  }
  Outcome<pci::PciError> get_bar(const pci::Address&, uint8_t index,
                                 pci::Pci::GetBarResponse* response) override {
    if (index > 5) return pci::PciError::kNoSuchBar;
    response->kind = pci::BarKind::kMemory;
    response->size = 0x4000;
    response->mmio = Handle{kBarHandle};
    return {};
  }
  Outcome<pci::PciError> release(const pci::Address&, pci::Pci::ReleaseResponse*) override {
    claimed_ = false;
    return {};
  }

  bool claimed_ = false;
};

TEST(PciProtocol, ListReadAndClaimWithHandles) {
  FakePci server;
  Loopback loop(server);
  loop.register_handle(FakePci::kIrqHandle, ObjectType::kInterrupt, kRightWait | kRightAck);
  loop.register_handle(FakePci::kBarHandle, ObjectType::kVmo, kRightRead | kRightWrite | kRightMap);
  pci::PciClient client(loop);

  auto list = client.list_devices(0);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->count, 3);
  EXPECT_EQ(list->devices[2].device_id, 0x1002);
  // 16 DeviceInfo records do not fit in registers: the reply spills into the tail.
  EXPECT_GT(pci::Pci::ListDevicesResponse::kInlineSize, kHeadBytes);

  auto id = client.read_config(pci::Address{0, 0, 1, 0}, 0, pci::AccessWidth::kDword);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->value, 0x10008086u);
  EXPECT_EQ(client.read_config(pci::Address{0, 0, 9, 0}, 0, pci::AccessWidth::kByte).app_error(),
            pci::PciError::kNotFound);

  EXPECT_EQ(client.write_config(pci::Address{}, 4, pci::AccessWidth::kWord, 6).app_error(),
            pci::PciError::kNotClaimed);
  auto claim = client.claim(pci::Address{0, 0, 1, 0});
  ASSERT_TRUE(claim.ok());
  EXPECT_EQ(claim->irq.value, FakePci::kIrqHandle);
  EXPECT_EQ(claim->irq_kind, pci::IrqKind::kMsi);
  EXPECT_EQ(client.claim(pci::Address{0, 0, 1, 0}).app_error(), pci::PciError::kBusy);

  auto bar = client.get_bar(pci::Address{0, 0, 1, 0}, 0);
  ASSERT_TRUE(bar.ok());
  ASSERT_TRUE(bar->mmio.has_value());
  EXPECT_EQ(bar->mmio.value().value, FakePci::kBarHandle);
  EXPECT_FALSE(bar->ports.has_value());
  EXPECT_TRUE(client.release(pci::Address{0, 0, 1, 0}).ok());
}

TEST(PciProtocol, AHandleOfTheWrongTypeIsAProtocolError) {
  FakePci server;
  Loopback loop(server);
  // The interrupt handle arrives as a vmo: the client must refuse the reply.
  loop.register_handle(FakePci::kIrqHandle, ObjectType::kVmo, ~0u);
  pci::PciClient client(loop);
  auto claim = client.claim(pci::Address{});
  ASSERT_TRUE(claim.is_error());
  EXPECT_EQ(claim.error(), Error::kMalformed);
}

// --- block -------------------------------------------------------------------------------------
namespace block = protocols::block;

class FakeBlock final : public block::BlockServer {
 public:
  void get_geometry(block::Block::GetGeometryResponse* response) override {
    response->geometry = block::Geometry{512, 1024, 8, false};
  }
  Outcome<block::BlockError> read(uint64_t lba, uint32_t count,
                                  block::Block::ReadResponse* response) override {
    if (lba + count > 1024 || count > 8) return block::BlockError::kOutOfRange;
    response->data = BytesView(disk_.data() + lba * 512, count * 512);
    return {};
  }
  Outcome<block::BlockError> write(uint64_t lba, BytesView data,
                                   block::Block::WriteResponse*) override {
    if (data.size % 512 != 0 || lba + data.size / 512 > 1024) return block::BlockError::kOutOfRange;
    memcpy(disk_.data() + lba * 512, data.data, data.size);
    return {};
  }
  Outcome<block::BlockError> flush(block::Block::FlushResponse*) override { return {}; }
  Outcome<block::BlockError> attach_buffer(Handle buffer,
                                           block::Block::AttachBufferResponse*) override {
    buffer_ = buffer;
    return {};
  }
  void submit(uint64_t tag, block::Op op, uint64_t lba, uint32_t, uint64_t) override {
    block::Completion c;
    c.tag = tag;
    if (op == block::Op::kWrite && lba >= 1024) c.error = block::BlockError::kOutOfRange;
    done_.push_back(c);
  }
  void wait_completions(uint32_t, block::Block::WaitCompletionsResponse* response) override {
    while (!done_.empty() && response->count < 16) {
      response->completions[response->count++] = done_.front();
      done_.erase(done_.begin());
    }
  }

  std::vector<uint8_t> disk_ = std::vector<uint8_t>(1024 * 512);
  std::vector<block::Completion> done_;
  Handle buffer_;
};

TEST(BlockProtocol, ReadWriteFlushAndAsyncQueue) {
  FakeBlock server;
  Loopback loop(server);
  loop.register_handle(5, ObjectType::kVmo, kRightRead | kRightWrite | kRightMap);
  block::BlockClient client(loop);

  auto geometry = client.get_geometry();
  ASSERT_TRUE(geometry.ok());
  EXPECT_EQ(geometry->geometry.block_count, 1024u);

  std::vector<uint8_t> sector(4096);
  for (size_t i = 0; i < sector.size(); ++i) sector[i] = uint8_t(i ^ 0x5a);
  ASSERT_TRUE(client.write(8, BytesView(sector.data(), sector.size())).ok());
  auto read = client.read(8, 8);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->data.size, 4096u);
  EXPECT_EQ(memcmp(read->data.data, sector.data(), 4096), 0);
  EXPECT_EQ(client.read(1020, 8).app_error(), block::BlockError::kOutOfRange);
  EXPECT_TRUE(client.flush().ok());

  ASSERT_TRUE(client.attach_buffer(Handle{5}).ok());
  EXPECT_EQ(server.buffer_.value, 5u);
  ASSERT_TRUE(client.submit(1, block::Op::kRead, 0, 1, 0).ok());
  ASSERT_TRUE(client.submit(2, block::Op::kWrite, 5000, 1, 0).ok());
  auto done = client.wait_completions(0);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->count, 2);
  EXPECT_EQ(done->completions[0].tag, 1u);
  EXPECT_FALSE(done->completions[0].error.has_value());
  EXPECT_EQ(done->completions[1].error.value(), block::BlockError::kOutOfRange);
}

// --- protocol errors (test_types.Tester) -------------------------------------------------------
namespace tt = protocols::test_types;

class TesterServer final : public tt::TesterServer {
 public:
  Outcome<tt::TestError> round_trip(const tt::Everything& value,
                                    tt::Tester::RoundTripResponse* response) override {
    response->value = value;
    return {};
  }
  void add(uint32_t a, uint32_t b, tt::Tester::AddResponse* response) override {
    response->sum = a + b;
  }
  Outcome<tt::TestError> fail(tt::TestError error, tt::Tester::FailResponse*) override {
    return error;
  }
  void big(const tt::Big& value, tt::Tester::BigResponse* response) override {
    response->value = value;
    if (value.id == 666) response->value.payload.size = 5000;  // a buggy handler
  }
  void notify(uint64_t seq, StringView) override { notes_ += seq; }
  void sum_notes(tt::Tester::SumNotesResponse* response) override { response->total = notes_; }

  uint64_t notes_ = 0;
};

TEST(ProtocolErrors, UnknownOrdinalIsUnsupportedAndServingContinues) {
  TesterServer server;
  Loopback loop(server);
  auto message = std::make_unique<Message>();
  message->label = make_label(999, 0, 0, 0);
  ASSERT_TRUE(loop.call(*message, *message).ok());
  EXPECT_EQ(message->flags(), kFlagReply | kFlagProtocolError);
  uint32_t code;
  memcpy(&code, message->bytes, 4);
  EXPECT_EQ(Error(code), Error::kUnsupported);

  tt::TesterClient client(loop);
  auto sum = client.add(2, 3);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->sum, 5u);
  EXPECT_EQ(loop.stats().rejected, 1u);
}

TEST(ProtocolErrors, MalformedRequestGetsMalformedBack) {
  TesterServer server;
  Loopback loop(server);
  auto message = std::make_unique<Message>();
  message->label = make_label(tt::Tester::kAddOrdinal, 0, 0, 7);  // add wants 8 bytes
  ASSERT_TRUE(loop.call(*message, *message).ok());
  EXPECT_EQ(message->flags(), kFlagReply | kFlagProtocolError);

  // A request claiming to be a reply, and a call sent with the one-way flag.
  message->label = make_label(tt::Tester::kAddOrdinal, kFlagReply, 0, 8);
  ASSERT_TRUE(loop.call(*message, *message).ok());
  EXPECT_EQ(message->flags(), kFlagReply | kFlagProtocolError);
  EXPECT_EQ(loop.stats().rejected, 2u);

  // A one-way message for a call method is dropped, not answered.
  message->label = make_label(tt::Tester::kAddOrdinal, kFlagOneWay, 0, 8);
  ASSERT_TRUE(loop.send(*message, SendMode::kFail).ok());
  EXPECT_EQ(loop.stats().rejected, 3u);
}

TEST(ProtocolErrors, RejectedMessagesHaveTheirHandlesDiscarded) {
  TesterServer server;
  Loopback loop(server);
  auto message = std::make_unique<Message>();
  message->label = make_label(tt::Tester::kAddOrdinal, 0, 2, 8);
  message->handles[0] = {40, ObjectType::kVmo, 0};
  message->handles[1] = {41, ObjectType::kVmo, 0};
  ASSERT_TRUE(loop.call(*message, *message).ok());
  EXPECT_EQ(message->flags(), kFlagReply | kFlagProtocolError);
  EXPECT_EQ(loop.discarded(), 2u);
}

TEST(ProtocolErrors, AppErrorsAndServerBugs) {
  TesterServer server;
  Loopback loop(server);
  tt::TesterClient client(loop);
  auto failed = client.fail(tt::TestError::kBroken);
  ASSERT_TRUE(failed.is_app_error());
  EXPECT_EQ(failed.app_error(), tt::TestError::kBroken);

  std::vector<uint8_t> payload(100, 1);
  auto bug = client.big(tt::Big{BytesView(payload.data(), payload.size()), 666});
  ASSERT_TRUE(bug.is_error());
  EXPECT_EQ(bug.error(), Error::kOutOfRange);
}

TEST(ProtocolErrors, ForgedRepliesAreRejectedByTheClient) {
  // A "server" that answers with the wrong ordinal, or with an undeclared error value.
  class Forger final : public Dispatcher {
   public:
    DispatchResult dispatch(const MessageView& request, Message& reply) override {
      if (mode == 0) reply.label = make_label(label_ordinal(request.label) + 1, kFlagReply, 0, 4);
      if (mode == 1) {
        reply.label = make_label(label_ordinal(request.label), kFlagReply | kFlagAppError, 0, 4);
        uint32_t bogus = 12345;
        memcpy(reply.bytes, &bogus, 4);
      }
      if (mode == 2) {
        reply.label =
            make_label(label_ordinal(request.label), kFlagReply | kFlagProtocolError, 0, 4);
        uint32_t bogus = 999;
        memcpy(reply.bytes, &bogus, 4);
      }
      return DispatchResult::kReply;
    }
    int mode = 0;
  } forger;
  Loopback loop(forger);
  tt::TesterClient client(loop);
  for (int mode = 0; mode < 3; ++mode) {
    forger.mode = mode;
    auto result = client.fail(tt::TestError::kRefused);
    ASSERT_TRUE(result.is_error()) << mode;
    EXPECT_EQ(result.error(), Error::kMalformed) << mode;
  }
}

}  // namespace
}  // namespace exo::proto
