// Round trips of every type through generated encode/decode, and rejection of truncated,
// overlong, corrupted and mis-typed messages (run under AddressSanitizer).
#include <string.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "codec_test_util.h"
#include "test_types.h"

namespace exo::protocols::test_types {
namespace {

using proto::BytesView;
using proto::Handle;
using proto::ObjectType;
using proto::StringView;
using proto::testing::encode_wire;
using proto::testing::label_for;
using proto::testing::Wire;

const uint8_t kBlob[] = {0, 1, 2, 3, 250, 251, 252, 253, 254, 255};

// Handles in Everything, in wire order: vmo, maybe_irq (when present), any.
std::vector<ObjectType> everything_types(const Everything& value) {
  std::vector<ObjectType> types = {ObjectType::kVmo};
  if (value.maybe_irq.has_value()) types.push_back(ObjectType::kInterrupt);
  types.push_back(ObjectType::kThread);
  return types;
}

Ints extreme_ints() {
  return Ints{0xff,      0xffff,    0xffffffffu, 0xffffffffffffffffull, -128, -32768,
              INT32_MIN, INT64_MIN, true};
}

Everything full_everything() {
  Everything v;
  v.ints = extreme_ints();
  v.signed_value = Signed::kNegative;
  v.wide = Wide::kHuge;
  v.inners[0].label = StringView("zero");
  v.inners[0].data = BytesView(kBlob, sizeof(kBlob));
  v.inners[0].small = Small::kMax;
  v.inners[1].label = StringView("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80");  // é € 😀
  v.inners[1].small = Small::kOne;
  v.matrix[0] = {{1, 2, 3}};
  v.matrix[1] = {{0xffff, 0, 7}};
  v.bools = {{true, false, true}};
  v.maybe_ints = Ints{1, 2, 3, 4, -1, -2, -3, -4, false};
  v.maybe_inner.emplace().label = StringView("inner");
  v.nested.emplace() = 0xdeadbeef;
  v.text = StringView("some text");
  v.blob = BytesView(kBlob, 3);
  v.vmo = Handle{11};
  v.maybe_irq = Handle{12};
  v.any = Handle{13};
  return v;
}

Everything minimal_everything() {
  Everything v;
  v.signed_value = Signed::kPositive;
  v.wide = Wide::kTiny;
  v.vmo = Handle{1};
  v.any = Handle{2};
  return v;
}

template <typename T>
void expect_round_trip(const T& value, std::vector<ObjectType> types = {}) {
  Wire wire = encode_wire(value, types);
  ASSERT_NE(wire.label, 0u);
  ASSERT_LE(wire.body.size(), T::kMaxSize);
  T out{};
  ASSERT_TRUE(wire.decode(&out));
  EXPECT_TRUE(out == value);
}

TEST(RoundTrip, IntegersAtTheirLimits) {
  expect_round_trip(extreme_ints());
  expect_round_trip(Ints{});
  Ints mid{0x80,      0x8000,    0x80000000u, 0x8000000000000000ull, 127, 32767,
           INT32_MAX, INT64_MAX, false};
  expect_round_trip(mid);
}

TEST(RoundTrip, IntegersAreLittleEndianAndPacked) {
  Wire wire = encode_wire(Ints{0x01, 0x0302, 0x07060504, 0x0f0e0d0c0b0a0908ull, 0x10, 0x1211,
                               0x16151413, 0x1e1d1c1b1a191817ll, true});
  ASSERT_EQ(wire.body.size(), Ints::kInlineSize);
  EXPECT_EQ(Ints::kInlineSize, 1u + 2 + 4 + 8 + 1 + 2 + 4 + 8 + 1);
  for (size_t i = 0; i + 1 < wire.body.size(); ++i) EXPECT_EQ(wire.body[i], i + 1) << i;
  EXPECT_EQ(wire.body.back(), 1u);
}

TEST(RoundTrip, EverythingPresent) {
  Everything v = full_everything();
  expect_round_trip(v, everything_types(v));
}

TEST(RoundTrip, EverythingAbsentOrEmpty) {
  Everything v = minimal_everything();
  expect_round_trip(v, everything_types(v));
}

TEST(RoundTrip, NestedOptionals) {
  Everything v = minimal_everything();
  v.nested.emplace();  // present outer, absent inner
  expect_round_trip(v, everything_types(v));
  v.nested.value() = 5;
  expect_round_trip(v, everything_types(v));
}

TEST(RoundTrip, EveryEnumMember) {
  for (Small s : {Small::kZero, Small::kOne, Small::kMax}) {
    for (Signed g : {Signed::kNegative, Signed::kPositive}) {
      for (Wide w : {Wide::kHuge, Wide::kTiny}) {
        Everything v = minimal_everything();
        v.inners[1].small = s;
        v.signed_value = g;
        v.wide = w;
        expect_round_trip(v, everything_types(v));
      }
    }
  }
}

TEST(RoundTrip, FullSizeBytesFillTheTail) {
  std::vector<uint8_t> payload(4096);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 7);
  Big big{BytesView(payload.data(), payload.size()), 42};
  Wire wire = encode_wire(big);
  EXPECT_EQ(wire.body.size(), 4096u + 2 + 4);
  expect_round_trip(big);
}

TEST(RoundTrip, DecodedViewsPointIntoTheMessage) {
  Everything v = full_everything();
  auto message = std::make_unique<proto::Message>();
  ASSERT_TRUE(proto::encode_message(*message, 1, 0, v).ok());
  for (size_t i = 0; i < message->handle_count(); ++i) {
    message->handles[i].type = everything_types(v)[i];
    message->handles[i].rights = ~0u;
  }
  proto::MessageView view;
  ASSERT_TRUE(proto::view_of(*message, &view));
  Everything out;
  ASSERT_TRUE(proto::decode_message(view, &out));
  EXPECT_GE(reinterpret_cast<const uint8_t*>(out.text.data), message->bytes);
  EXPECT_LT(reinterpret_cast<const uint8_t*>(out.text.data), message->bytes + message->size());
}

TEST(Encode, RejectsOverlongBytesAndInvalidHandles) {
  std::vector<uint8_t> too_long(201);
  Everything v = minimal_everything();
  v.blob = BytesView(too_long.data(), too_long.size());
  auto message = std::make_unique<proto::Message>();
  Status status = proto::encode_message(*message, 1, 0, v);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error(), Error::kOutOfRange);

  v = minimal_everything();
  v.vmo = Handle{};  // a required handle must be valid
  EXPECT_FALSE(proto::encode_message(*message, 1, 0, v).ok());

  Big big{BytesView(too_long.data(), 4097), 1};
  std::vector<uint8_t> huge(4097);
  big.payload = BytesView(huge.data(), huge.size());
  EXPECT_FALSE(proto::encode_message(*message, 1, 0, big).ok());
}

TEST(Decode, EveryTruncationIsRejected) {
  for (const Everything& v : {full_everything(), minimal_everything()}) {
    Wire wire = encode_wire(v, everything_types(v));
    for (size_t size = 0; size < wire.body.size(); ++size) {
      Wire cut = wire;
      cut.body.resize(size);
      cut.label = label_for(size, cut.handles.size());
      Everything out;
      EXPECT_FALSE(cut.decode(&out)) << "accepted a body cut to " << size;
    }
  }
}

TEST(Decode, TrailingBytesAreRejected) {
  Everything v = full_everything();
  Wire wire = encode_wire(v, everything_types(v));
  for (size_t extra = 1; extra <= 64; ++extra) {
    Wire longer = wire;
    longer.body.resize(wire.body.size() + extra, 0);
    longer.label = label_for(longer.body.size(), longer.handles.size());
    Everything out;
    EXPECT_FALSE(longer.decode(&out)) << extra;
  }
}

TEST(Decode, MissingOrExtraHandlesAreRejected) {
  Everything v = full_everything();
  Wire wire = encode_wire(v, everything_types(v));
  Everything out;
  Wire fewer = wire;
  fewer.handles.pop_back();
  EXPECT_FALSE(fewer.decode(&out));
  Wire more = wire;
  more.handles.push_back({99, ObjectType::kAny, ~0u});
  EXPECT_FALSE(more.decode(&out));
}

TEST(Decode, HandleTypeRightsAndValueAreChecked) {
  Everything v = full_everything();
  Everything out;
  Wire good = encode_wire(v, everything_types(v));
  ASSERT_TRUE(good.decode(&out));

  Wire wrong_type = good;
  wrong_type.handles[0].type = ObjectType::kChannel;  // vmo expected
  EXPECT_FALSE(wrong_type.decode(&out));

  Wire missing_right = good;
  missing_right.handles[0].rights = proto::kRightRead;  // read | write required
  EXPECT_FALSE(missing_right.decode(&out));

  Wire extra_rights = good;
  extra_rights.handles[0].rights = proto::kRightRead | proto::kRightWrite | proto::kRightMap;
  EXPECT_TRUE(extra_rights.decode(&out));

  Wire any_type = good;
  any_type.handles[2].type = ObjectType::kProcess;  // handle<any> takes every type
  EXPECT_TRUE(any_type.decode(&out));

  Wire invalid = good;
  invalid.handles[1].value = proto::kInvalidHandle;
  EXPECT_FALSE(invalid.decode(&out));
}

TEST(Decode, BadBoolsEnumsAndPresenceBytesAreRejected) {
  Ints ints{};
  Wire wire = encode_wire(ints);
  Ints out;
  Wire bad_bool = wire;
  bad_bool.body.back() = 2;
  EXPECT_FALSE(bad_bool.decode(&out));

  Everything v = minimal_everything();
  Wire ev = encode_wire(v, everything_types(v));
  Everything eout;
  ASSERT_TRUE(ev.decode(&eout));
  // signed_value (i16) follows ints; 0 is not a member of Signed.
  Wire bad_enum = ev;
  bad_enum.body[Ints::kInlineSize] = 0;
  bad_enum.body[Ints::kInlineSize + 1] = 0;
  EXPECT_FALSE(bad_enum.decode(&eout));
}

TEST(Decode, AbsentOptionalsMustBeZero) {
  Everything v = minimal_everything();
  Wire wire = encode_wire(v, everything_types(v));
  // maybe_ints: presence byte at offset (ints + signed + wide + inners + matrix + bools).
  size_t at = Ints::kInlineSize + 2 + 8 + 2 * Inner::kInlineSize + 12 + 3;
  ASSERT_EQ(wire.body[at], 0);
  Everything out;
  Wire junk = wire;
  junk.body[at + 1] = 1;  // a byte of the absent value
  EXPECT_FALSE(junk.decode(&out));
  Wire presence = wire;
  presence.body[at] = 2;
  EXPECT_FALSE(presence.decode(&out));
}

TEST(Decode, LengthsBeyondBoundOrBodyAreRejected) {
  Everything v = full_everything();
  Wire wire = encode_wire(v, everything_types(v));
  // `blob` is the last bytes field: its length is at inline offset of blob.
  size_t inline_size = Everything::kInlineSize;
  size_t blob_at = inline_size - 2 - 1 - 0 - 0;  // blob u16 then maybe_irq presence byte
  ASSERT_EQ(wire.body[blob_at] | (wire.body[blob_at + 1] << 8), 3);
  Everything out;
  Wire over_bound = wire;
  over_bound.body[blob_at] = 201 & 0xff;
  over_bound.body[blob_at + 1] = 0;
  EXPECT_FALSE(over_bound.decode(&out));
  Wire past_end = wire;
  past_end.body[blob_at] = 0xff;
  past_end.body[blob_at + 1] = 0xff;
  EXPECT_FALSE(past_end.decode(&out));
}

TEST(Decode, InvalidUtf8IsRejected) {
  const char* bad[] = {"\x80",         "\xc0\xaf",         "\xe0\x80\xaf",
                       "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80",
                       "\xc3",         "ok\xe2\x82"};
  for (const char* text : bad) {
    Everything v = minimal_everything();
    v.text = StringView(text, strlen(text));
    Wire wire = encode_wire(v, everything_types(v));
    Everything out;
    EXPECT_FALSE(wire.decode(&out)) << text;
  }
  const char* good[] = {
      "", "ascii", "\xc2\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"};
  for (const char* text : good) {
    Everything v = minimal_everything();
    v.text = StringView(text, strlen(text));
    expect_round_trip(v, everything_types(v));
  }
}

TEST(Decode, EverySingleByteCorruptionIsRejectedOrCanonical) {
  Everything v = full_everything();
  Wire wire = encode_wire(v, everything_types(v));
  auto message = std::make_unique<proto::Message>();
  for (size_t i = 0; i < wire.body.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Wire bad = wire;
      bad.body[i] ^= uint8_t(1u << bit);
      Everything out;
      if (!bad.decode(&out)) continue;
      // Accepted: then it must be the one encoding of what was decoded.
      ASSERT_TRUE(proto::encode_message(*message, 1, 0, out).ok());
      ASSERT_EQ(message->size(), bad.body.size());
      EXPECT_EQ(memcmp(message->bytes, bad.body.data(), bad.body.size()), 0) << i << ":" << bit;
    }
  }
}

TEST(Labels, MalformedLabelsAreRejected) {
  auto message = std::make_unique<proto::Message>();
  proto::MessageView view;
  message->label = proto::make_label(1, 0, 0, 4144);
  EXPECT_TRUE(proto::view_of(*message, &view));
  message->label = proto::make_label(1, 0, 0, 4145);
  EXPECT_FALSE(proto::view_of(*message, &view));
  message->label = proto::make_label(1, 0, 5, 0);
  EXPECT_FALSE(proto::view_of(*message, &view));
  message->label = proto::make_label(1, 0x80, 0, 0);
  EXPECT_FALSE(proto::view_of(*message, &view));
  message->label = uint64_t{1} << 60;
  EXPECT_FALSE(proto::view_of(*message, &view));
}

TEST(Labels, FieldsRoundTrip) {
  uint64_t label =
      proto::make_label(0xfedcba98u, proto::kFlagReply | proto::kFlagAppError, 3, 4144);
  EXPECT_EQ(proto::label_ordinal(label), 0xfedcba98u);
  EXPECT_EQ(proto::label_flags(label), proto::kFlagReply | proto::kFlagAppError);
  EXPECT_EQ(proto::label_handles(label), 3u);
  EXPECT_EQ(proto::label_size(label), 4144u);
  EXPECT_TRUE(proto::label_valid(label));
}

TEST(Layout, SmallMessagesFitInRegisters) {
  // add(a, b) and its reply travel entirely in the six IPC registers.
  EXPECT_LE(Tester::AddRequest::kMaxSize, proto::kHeadBytes);
  EXPECT_LE(Tester::AddResponse::kMaxSize, proto::kHeadBytes);
  EXPECT_EQ(Tester::kMaxSendBytes, 8u + 2 + 32);
  EXPECT_TRUE(Tester::is_idempotent(Tester::kAddOrdinal));
  EXPECT_FALSE(Tester::is_idempotent(Tester::kRoundTripOrdinal));
}

}  // namespace
}  // namespace exo::protocols::test_types
