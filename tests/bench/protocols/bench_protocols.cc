// Benchmark (not a test): encode+decode of a small and a 4 KiB message with Exo's generated
// code, Cap'n Proto and FlatBuffers (when built with them), and a host-channel call round trip.
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "exo/proto/host_transport.h"
#include "exo/protocols/block.h"

#if EXO_BENCH_CAPNP
#include <capnp/message.h>
#include <capnp/serialize.h>

#include "bench_shapes.capnp.h"
#endif

#if EXO_BENCH_FLATBUFFERS
#include <flatbuffers/flatbuffers.h>

#include "bench_shapes_generated.h"
#endif

namespace {

namespace block = exo::protocols::block;

// Results feed this so the optimiser cannot drop the work.
volatile uint64_t g_sink;

constexpr int kRuns = 9;
constexpr size_t kPayload = 4096;

// Median over kRuns of the mean ns per iteration of `body(i)`.
template <typename F>
double measure(uint64_t iterations, F&& body) {
  std::vector<double> runs;
  for (int run = 0; run < kRuns; ++run) {
    uint64_t sum = 0;
    auto start = std::chrono::steady_clock::now();
    for (uint64_t i = 0; i < iterations; ++i) sum += body(i);
    auto stop = std::chrono::steady_clock::now();
    g_sink = g_sink + sum;
    runs.push_back(std::chrono::duration<double, std::nano>(stop - start).count() /
                   double(iterations));
  }
  std::sort(runs.begin(), runs.end());
  return runs[kRuns / 2];
}

void report(const char* library, const char* shape, double ns, size_t wire_bytes) {
  printf("| %-12s | %-28s | %9.1f | %6zu |\n", library, shape, ns, wire_bytes);
}

// --- Exo ----------------------------------------------------------------------------------------
void bench_exo(const uint8_t* payload) {
  auto message = std::make_unique<exo::proto::Message>();
  size_t small_bytes = 0, large_bytes = 0;
  double small = measure(2'000'000, [&](uint64_t i) -> uint64_t {
    block::Block::SubmitRequest request{i, block::Op::kWrite, i * 8, 8, i * 4096};
    if (!exo::proto::encode_message(*message, block::Block::kSubmitOrdinal, exo::proto::kFlagOneWay,
                                    request)
             .ok()) {
      return 0;
    }
    exo::proto::MessageView view;
    block::Block::SubmitRequest out;
    if (!exo::proto::view_of(*message, &view) || !exo::proto::decode_message(view, &out)) return 0;
    small_bytes = message->size();
    return out.tag + uint64_t(out.op) + out.lba + out.count + out.buffer_offset;
  });
  double large = measure(200'000, [&](uint64_t i) -> uint64_t {
    block::Block::WriteRequest request{i, exo::proto::BytesView(payload, kPayload)};
    if (!exo::proto::encode_message(*message, block::Block::kWriteOrdinal, 0, request).ok()) {
      return 0;
    }
    exo::proto::MessageView view;
    block::Block::WriteRequest out;
    if (!exo::proto::view_of(*message, &view) || !exo::proto::decode_message(view, &out)) return 0;
    large_bytes = message->size();
    return out.lba + out.data.size + out.data.data[i % kPayload];
  });
  report("Exo", "small (submit, 5 fields)", small, small_bytes + 8);
  report("Exo", "4 KiB (write, lba + bytes)", large, large_bytes + 8);
}

#if EXO_BENCH_CAPNP
// --- Cap'n Proto: first segment in reused scratch (no allocation), read back zero-copy --------
void bench_capnp(const uint8_t* payload) {
  static capnp::word scratch[1024];
  size_t small_bytes = 0, large_bytes = 0;
  double small = measure(2'000'000, [&](uint64_t i) -> uint64_t {
    capnp::MallocMessageBuilder builder(kj::arrayPtr(scratch, 1024));
    auto submit = builder.initRoot<Submit>();
    submit.setTag(i);
    submit.setOp(2);
    submit.setLba(i * 8);
    submit.setCount(8);
    submit.setBufferOffset(i * 4096);
    auto segments = builder.getSegmentsForOutput();
    capnp::SegmentArrayMessageReader reader(segments);
    auto in = reader.getRoot<Submit>();
    small_bytes = segments[0].size() * sizeof(capnp::word);
    return in.getTag() + in.getOp() + in.getLba() + in.getCount() + in.getBufferOffset();
  });
  double large = measure(200'000, [&](uint64_t i) -> uint64_t {
    capnp::MallocMessageBuilder builder(kj::arrayPtr(scratch, 1024));
    auto write = builder.initRoot<Write>();
    write.setLba(i);
    write.setData(kj::arrayPtr(payload, kPayload));
    auto segments = builder.getSegmentsForOutput();
    capnp::SegmentArrayMessageReader reader(segments);
    auto in = reader.getRoot<Write>();
    auto data = in.getData();
    large_bytes = segments[0].size() * sizeof(capnp::word);
    return in.getLba() + data.size() + data[i % kPayload];
  });
  report("Cap'n Proto", "small (submit, 5 fields)", small, small_bytes);
  report("Cap'n Proto", "4 KiB (write, lba + bytes)", large, large_bytes);
}
#endif

#if EXO_BENCH_FLATBUFFERS
// --- FlatBuffers: reused builder, Verifier before reading (the validating configuration) ------
void bench_flatbuffers(const uint8_t* payload, bool verify) {
  flatbuffers::FlatBufferBuilder fbb(8192);
  size_t small_bytes = 0, large_bytes = 0;
  double small = measure(2'000'000, [&](uint64_t i) -> uint64_t {
    fbb.Clear();
    fbb.Finish(exo_bench::CreateSubmit(fbb, i, 2, i * 8, 8, i * 4096));
    const uint8_t* buffer = fbb.GetBufferPointer();
    size_t size = fbb.GetSize();
    if (verify) {
      flatbuffers::Verifier verifier(buffer, size);
      if (!verifier.VerifyBuffer<exo_bench::Submit>(nullptr)) return 0;
    }
    auto in = flatbuffers::GetRoot<exo_bench::Submit>(buffer);
    small_bytes = size;
    return in->tag() + in->op() + in->lba() + in->count() + in->buffer_offset();
  });
  double large = measure(200'000, [&](uint64_t i) -> uint64_t {
    fbb.Clear();
    auto data = fbb.CreateVector(payload, kPayload);
    fbb.Finish(exo_bench::CreateWrite(fbb, i, data));
    const uint8_t* buffer = fbb.GetBufferPointer();
    size_t size = fbb.GetSize();
    if (verify) {
      flatbuffers::Verifier verifier(buffer, size);
      if (!verifier.VerifyBuffer<exo_bench::Write>(nullptr)) return 0;
    }
    auto in = flatbuffers::GetRoot<exo_bench::Write>(buffer);
    large_bytes = size;
    return in->lba() + in->data()->size() + in->data()->Get(uint32_t(i % kPayload));
  });
  const char* name = verify ? "FlatBuffers" : "FlatBuffers*";
  report(name, "small (submit, 5 fields)", small, small_bytes);
  report(name, "4 KiB (write, lba + bytes)", large, large_bytes);
}
#endif

// --- Host channel: a whole call through generated client and server between two threads -----
class NullBlock final : public block::BlockServer {
 public:
  void get_geometry(block::Block::GetGeometryResponse* response) override {
    response->geometry.block_count = 1;
  }
  exo::proto::Outcome<block::BlockError> read(uint64_t, uint32_t,
                                              block::Block::ReadResponse*) override {
    return {};
  }
  exo::proto::Outcome<block::BlockError> write(uint64_t, exo::proto::BytesView,
                                               block::Block::WriteResponse*) override {
    return {};
  }
  exo::proto::Outcome<block::BlockError> flush(block::Block::FlushResponse*) override { return {}; }
  exo::proto::Outcome<block::BlockError> attach_buffer(
      exo::proto::Handle, block::Block::AttachBufferResponse*) override {
    return {};
  }
  void submit(uint64_t tag, block::Op, uint64_t, uint32_t, uint64_t) override { last_tag_ = tag; }
  void wait_completions(uint32_t, block::Block::WaitCompletionsResponse*) override {}
  uint64_t last_tag_ = 0;
};

void bench_host_channel() {
  auto channel =
      exo::proto::HostChannel::create(block::Block::kQueueCapacity, block::Block::kSendSlotBytes);
  NullBlock server;
  exo::proto::HostServerThread serving(*channel, server);
  block::BlockClient client(channel->client());
  double call = measure(20'000, [&](uint64_t) -> uint64_t {
    auto geometry = client.get_geometry();
    return geometry.ok() ? geometry->geometry.block_count : 0;
  });
  double send = measure(200'000, [&](uint64_t i) -> uint64_t {
    return client.submit(i, block::Op::kRead, i, 1, 0).ok() ? 1 : 0;
  });
  report("Exo host", "call round trip (2 threads)", call, 8);
  report("Exo host", "one-way send (ring, per msg)", send,
         8 + block::Block::SubmitRequest::kMaxSize);
}

}  // namespace

int main() {
  std::vector<uint8_t> payload(kPayload);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 31 + 7);
  printf("| library      | message                      | ns/op     | bytes  |\n");
  printf("|--------------|------------------------------|-----------|--------|\n");
  bench_exo(payload.data());
#if EXO_BENCH_CAPNP
  bench_capnp(payload.data());
#endif
#if EXO_BENCH_FLATBUFFERS
  bench_flatbuffers(payload.data(), true);
  bench_flatbuffers(payload.data(), false);
#endif
  bench_host_channel();
  return 0;
}
