// channel_test: one-way sends over the shared-memory MPSC ring (docs/channels.md, "Channels over
// the kernel"). The program serves protocols/chantest.exo on a thread of its own and sends to it
// from two threads and two child processes (copies of itself, `channel_test producer ID N`),
// then checks that no message was lost, duplicated or reordered per producer; it fills the ring
// to see SendMode::kFail refuse and kWait wait; and it writes garbage into the ring, as a
// hostile client may, to see the server drop it and go on serving. Last, servers in child
// processes (`channel_test doomed_server busy|idle`) die with their rings connected, and sends
// must fail with kPeerClosed instead of being lost for ever or sleeping for ever.
// `channel_test bench` measures a one-way send over the ring against one over IPC send;
// `channel_test callbench` a typed call against a raw IPC round trip.
#include "exo/channel/mpsc_ring.h"
#include "exo/initrd.h"
#include "exo/ipc.h"
#include "exo/print.h"
#include "exo/proto/ipc_transport.h"
#include "exo/protocols/chantest.h"
#include "exo/string.h"
#include "exo/syscall.h"
#include "kernel/lib/new.h"
#include "tests/user/user_test.h"
#include "libsys/src/arch/x86_64/raw_syscall.h"

namespace {

using exo::sys::Handle;
using exo::sys::print;
using exo::user_test::expect_true;
using exo::user_test::Samples;
namespace proto = exo::proto;
namespace chantest = exo::protocols::chantest;

constexpr uint32_t kProducers = 8;  // ids 0..7: 0-1 threads, 2-3 processes, 4-7 single tests
constexpr uint32_t kPerProducer = 3000;

uint32_t check_of(uint32_t producer, uint32_t seq) { return producer * 31 + seq; }

// In a `doomed_server` child, hold() ends the process instead of sleeping: at once in the
// handler ("busy": the server dies while serving), or from the main thread `ms` later, once
// the serving thread sleeps in its receive again ("idle": it dies asleep).
enum class Doom : uint8_t { kNone, kBusy, kIdle };
Doom g_doom = Doom::kNone;
uint64_t g_exit_at_ns = 0;  // idle: when the main thread ends the process (0: not yet asked)
constexpr int kDoomedExit = 7;

// The server: one thread that runs exo::proto::serve over the endpoint and the ring.
class Server final : public chantest::ChannelTestServer {
 public:
  void note(uint32_t producer, uint32_t seq, uint32_t check) override {
    if (producer >= kProducers || seq != next_[producer] || check != check_of(producer, seq)) {
      if (producer < kProducers) ++errors_[producer];
      return;
    }
    ++next_[producer];
  }
  void hold(uint32_t ms) override {
    if (g_doom == Doom::kBusy) exo::sys::process_exit(kDoomedExit);
    if (g_doom == Doom::kIdle) {
      __atomic_store_n(&g_exit_at_ns, exo::sys::clock_get().value_or(0) + uint64_t{ms} * 1'000'000,
                       __ATOMIC_RELEASE);
      return;
    }
    (void)exo::sys::sleep(uint64_t{ms} * 1'000'000);
  }
  void tally(uint32_t producer, chantest::ChannelTest::TallyResponse* response) override {
    if (producer < kProducers) {
      response->received = next_[producer];
      response->errors = errors_[producer];
    }
    response->malformed = transport_->ring_stats().malformed;
    response->doorbells = transport_->ring_stats().doorbells;
  }
  void echo(uint64_t value, chantest::ChannelTest::EchoResponse* response) override {
    response->value = value;
  }
  void set_transport(proto::IpcServerTransport* transport) { transport_ = transport; }

 private:
  uint32_t next_[kProducers] = {};
  uint32_t errors_[kProducers] = {};
  proto::IpcServerTransport* transport_ = nullptr;
};

struct ServerThread {
  proto::IpcServerTransport* transport;
  Server server;
  proto::Message request, reply;
};

void serve_main(void* argument) {
  auto* s = static_cast<ServerThread*>(argument);
  for (;;) (void)proto::serve(*s->transport, s->server, s->request, s->reply, nullptr);
}

// A server on a fresh endpoint, with a ring of `capacity` slots (0: none, sends come over IPC).
// Returns the endpoint, which keeps every right (clients use it too).
Handle start_server(ServerThread* s, uint8_t* stack, exo::usize stack_size, uint32_t capacity) {
  exo::Result<Handle> endpoint = exo::sys::endpoint_create();
  if (!endpoint.ok()) return 0;
  static int used = 0;
  alignas(proto::IpcServerTransport) static uint8_t storage[2][sizeof(proto::IpcServerTransport)];
  if (used == 2) return 0;
  s->transport = new (storage[used]) proto::IpcServerTransport(*endpoint);
  ++used;
  if (capacity != 0 && !s->transport->open_ring(capacity, chantest::ChannelTest::kSendSlotBytes).ok()) {
    return 0;
  }
  s->server.set_transport(s->transport);
  if (!exo::sys::thread_create(&serve_main, s, stack, stack_size).ok()) return 0;
  return *endpoint;
}

alignas(16) uint8_t g_server_stack[32 * 1024];
ServerThread g_server;

// Producer threads of this process share one transport (as threads of a client do), each with
// its own generated client (one Message per thread).
struct ProducerThread {
  proto::IpcTransport* transport;
  uint32_t id;
  uint32_t count;
  uint32_t failures = 0;
  uint32_t done = 0;
};

uint32_t produce(proto::Transport& transport, uint32_t id, uint32_t count) {
  chantest::ChannelTestClient client(transport);
  uint32_t failures = 0;
  for (uint32_t seq = 0; seq < count; ++seq) {
    if (!client.note(id, seq, check_of(id, seq), proto::SendMode::kWait).ok()) ++failures;
    if ((seq & 255) == 0) exo::sys::yield();  // interleave with the other producers
  }
  return failures;
}

void producer_main(void* argument) {
  auto* p = static_cast<ProducerThread*>(argument);
  p->failures = produce(*p->transport, p->id, p->count);
  __atomic_store_n(&p->done, 1u, __ATOMIC_RELEASE);
}

void to_text(uint32_t value, char* out) {
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) *out++ = digits[--n];
  *out = '\0';
}

Handle spawn_producer(Handle endpoint, uint32_t id, uint32_t count) {
  exo::Result<Handle> copy = exo::sys::handle_duplicate(endpoint, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER);
  if (!copy.ok()) return 0;
  char id_text[12], count_text[12];
  to_text(id, id_text);
  to_text(count, count_text);
  const char* argv[] = {"channel_test", "producer", id_text, count_text};
  exo::Result<Handle> process = exo::user_test::spawn_with_user_handle(argv, 4, *copy);
  return process.ok() ? *process : 0;
}

chantest::ChannelTest::TallyResponse tally(chantest::ChannelTestClient& client, uint32_t producer) {
  auto reply = client.tally(producer);
  if (!reply.ok()) {
    print("FAIL tally({}) got no answer\n", producer);
    return {};
  }
  return reply.value();
}

// Two threads here and two processes send kPerProducer notes each, concurrently.
void test_many_producers(Handle endpoint, proto::IpcTransport& transport,
                         chantest::ChannelTestClient& client) {
  alignas(16) static uint8_t stacks[2][16 * 1024];
  static ProducerThread threads[2];
  Handle children[2] = {};
  for (uint32_t i = 0; i < 2; ++i) children[i] = spawn_producer(endpoint, 2 + i, kPerProducer);
  for (uint32_t i = 0; i < 2; ++i) {
    threads[i].transport = &transport;
    threads[i].id = i;
    threads[i].count = kPerProducer;
    expect_true("producer thread starts",
                exo::sys::thread_create(&producer_main, &threads[i], stacks[i], sizeof(stacks[i])).ok());
  }
  for (uint32_t i = 0; i < 2; ++i) {
    while (__atomic_load_n(&threads[i].done, __ATOMIC_ACQUIRE) == 0) exo::sys::yield();
    expect_true("every send of a producer thread succeeds", threads[i].failures == 0);
  }
  for (uint32_t i = 0; i < 2; ++i) {
    expect_true("producer process starts", children[i] != 0);
    if (children[i] == 0) continue;
    exo::Result<int64_t> status = exo::sys::process_wait(children[i]);
    expect_true("every send of a producer process succeeds", status.ok() && *status == 0);
  }
  for (uint32_t p = 0; p < 4; ++p) {
    auto t = tally(client, p);
    if (t.received != kPerProducer || t.errors != 0) {
      print("producer {}: {} received, {} out of order\n", p, t.received, t.errors);
    }
    expect_true("all of a producer's messages arrive, once each and in order",
                t.received == kPerProducer && t.errors == 0);
  }
  auto t = tally(client, 0);
  print("channel_test: {} producers x {} messages, {} doorbells\n", 4, kPerProducer, t.doorbells);
  expect_true("the server slept and was woken through the doorbell", t.doorbells > 0);
}

// A full ring: kFail refuses at once, kWait waits until the server drains.
void test_full_ring(chantest::ChannelTestClient& client) {
  constexpr uint32_t kId = 4;
  constexpr uint32_t kCapacity = chantest::ChannelTest::kQueueCapacity;
  expect_true("hold is queued", client.hold(300, proto::SendMode::kWait).ok());
  uint32_t accepted = 0;
  exo::Status refused = exo::ok_status();
  for (uint32_t i = 0; i < 4 * kCapacity; ++i) {
    exo::Status s = client.note(kId, accepted, check_of(kId, accepted), proto::SendMode::kFail);
    if (!s.ok()) {
      refused = s;
      break;
    }
    ++accepted;
  }
  // The hold message may still occupy a slot when the ring fills.
  expect_true("kFail fills the ring and then refuses with kWouldBlock",
              !refused.ok() && refused.error() == exo::Error::kWouldBlock &&
                  (accepted == kCapacity || accepted == kCapacity - 1));
  uint64_t before = exo::sys::clock_get().value_or(0);
  bool all_sent = true;
  for (uint32_t i = 0; i < 3 * kCapacity; ++i, ++accepted) {
    all_sent = all_sent && client.note(kId, accepted, check_of(kId, accepted), proto::SendMode::kWait).ok();
  }
  uint64_t waited = exo::sys::clock_get().value_or(0) - before;
  expect_true("kWait on a full ring waits for space and then sends", all_sent);
  expect_true("kWait really waited for the held server", waited > 50'000'000);
  auto t = tally(client, kId);
  expect_true("everything accepted in both modes arrives in order",
              t.received == accepted && t.errors == 0);
}

// The ring as a hostile client can write it: through the client's own writable mapping.
struct RawRing {
  uint8_t* base;
  uint32_t mask, stride;
  exo::channel::ring_layout::Header* header() { return reinterpret_cast<exo::channel::ring_layout::Header*>(base); }
  exo::channel::ring_layout::SlotHeader* slot(uint64_t pos) {
    return reinterpret_cast<exo::channel::ring_layout::SlotHeader*>(
        base + sizeof(exo::channel::ring_layout::Header) + (pos & mask) * stride);
  }
  // Claims the next position as a producer would and publishes `len` bytes of `payload`
  // (`len` may lie about the payload).
  void forge(uint32_t len, const void* payload, exo::usize bytes) {
    uint64_t pos = __atomic_fetch_add(&header()->tail, 1, __ATOMIC_RELAXED);
    exo::channel::ring_layout::SlotHeader* s = slot(pos);
    s->len = len;
    memcpy(reinterpret_cast<uint8_t*>(s) + sizeof(*s), payload, bytes);
    __atomic_store_n(&s->seq, pos + 1, __ATOMIC_SEQ_CST);
  }
};

void test_hostile_ring(proto::IpcTransport& transport, chantest::ChannelTestClient& client) {
  constexpr uint32_t kId = 5;
  expect_true("the client has the ring mapped", transport.ring() != nullptr);
  if (transport.ring() == nullptr) return;
  auto* base = static_cast<uint8_t*>(transport.ring_memory());
  auto* h = reinterpret_cast<exo::channel::ring_layout::Header*>(base);
  RawRing raw{base, h->capacity - 1, h->slot_stride};
  uint64_t malformed_before = tally(client, kId).malformed;

  // 1. A length beyond the slot. 2. A label that is not a one-way message (a call with a
  // handle). 3. A label whose size disagrees with the slot length. Each between honest notes.
  uint64_t call_label = proto::make_label(chantest::ChannelTest::kNoteOrdinal, 0, 1, 12);
  uint64_t short_label = proto::make_label(chantest::ChannelTest::kNoteOrdinal, proto::kFlagOneWay, 0, 40);
  uint8_t junk[24] = {};
  bool honest = true;
  uint32_t seq = 0;
  auto send_honest = [&] {
    honest = honest && client.note(kId, seq, check_of(kId, seq), proto::SendMode::kWait).ok();
    ++seq;
  };
  send_honest();
  raw.forge(0xffffffffu, junk, sizeof(junk));
  send_honest();
  memcpy(junk, &call_label, 8);
  raw.forge(20, junk, sizeof(junk));
  send_honest();
  memcpy(junk, &short_label, 8);
  raw.forge(20, junk, sizeof(junk));
  send_honest();
  auto t = tally(client, kId);
  expect_true("honest notes between forged slots all arrive", honest && t.received == seq && t.errors == 0);
  expect_true("the three forged messages were dropped and counted", t.malformed == malformed_before + 3);

  // 4. Garbage over the whole ring (header flags, tail, every slot), then a wake-up: the server
  // drains what it must within one lap, drops it, and still answers calls.
  uint32_t x = 0x9e3779b9u;
  for (exo::usize i = 64; i < transport.ring_bytes(); ++i) {
    x = x * 1103515245u + 12345u;
    base[i] = static_cast<uint8_t>(x >> 16);
  }
  (void)exo::sys::notification_signal(transport.consumer_notification(), 1);
  (void)exo::sys::sleep(20'000'000);
  auto after = client.tally(kId);
  expect_true("the server still answers calls after garbage over the whole ring", after.ok());
  expect_true("and it dropped garbage", after.ok() && after->malformed > t.malformed);
  // An honest send on the wrecked ring gets an answer, never a hang (kMalformed or success).
  exo::Status s = client.note(kId, seq, check_of(kId, seq), proto::SendMode::kFail);
  expect_true("a send on a wrecked ring returns", s.ok() || s.error() == exo::Error::kMalformed ||
                                                     s.error() == exo::Error::kWouldBlock);
}

// Bad requests for the transport's own ordinal 0 change nothing.
void test_connect_checks(Handle endpoint) {
  exo::sys::IpcMessage m;
  m.label = proto::kTransportOrdinal;
  m.word_count = 1;
  m.words[0] = proto::kConnectRing;
  int64_t s = exo::sys::ipc_call(endpoint, m);
  expect_true("a connect returns the ring's memory object and two notifications",
              s == 0 && m.handle_count == 3 && m.word_count == 4 && m.words[0] != 0);
  for (uint32_t i = 0; s == 0 && i < m.handle_count; ++i) {
    (void)exo::sys::handle_close(static_cast<Handle>(m.words[1 + i]));
  }
  exo::sys::IpcMessage stray;
  stray.label = proto::kTransportOrdinal;
  stray.word_count = 1;
  stray.words[0] = 1;  // not kConnectRing
  s = exo::sys::ipc_call(endpoint, stray);
  expect_true("a stray ordinal-0 call is answered, without handles", s == 0 && stray.handle_count == 0);
  exo::sys::IpcMessage bell;
  bell.label = proto::kTransportOrdinal;
  bell.flags = proto::kFlagOneWay;
  expect_true("a forged doorbell is harmless", exo::sys::ipc_send(endpoint, bell) == 0);
}

// `channel_test doomed_server busy|idle`: a ring server that greets its parent with its
// endpoint (as echo_server does) and ends when it gets hold() (see Doom).
int doomed_server(const char* mode) {
  Handle bootstrap = exo::sys::start_handle(EXO_START_HANDLE_USER);
  g_doom = strcmp(mode, "idle") == 0 ? Doom::kIdle : Doom::kBusy;
  Handle endpoint = start_server(&g_server, g_server_stack, sizeof(g_server_stack),
                                 chantest::ChannelTest::kQueueCapacity);
  if (bootstrap == exo::sys::kInvalidHandle || endpoint == 0) return 20;
  exo::Result<Handle> copy = exo::sys::handle_duplicate(endpoint, EXO_RIGHT_WRITE | EXO_RIGHT_TRANSFER);
  if (!copy.ok()) return 21;
  exo::sys::IpcMessage hello;
  hello.label = 1;
  hello.word_count = 1;
  hello.handle_count = 1;
  hello.words[0] = *copy;
  if (exo::sys::ipc_send(bootstrap, hello) < 0) return 22;
  for (;;) {
    (void)exo::sys::sleep(1'000'000);
    uint64_t at = __atomic_load_n(&g_exit_at_ns, __ATOMIC_ACQUIRE);
    if (at != 0 && exo::sys::clock_get().value_or(0) >= at) exo::sys::process_exit(kDoomedExit);
  }
}

// A client of a doomed server; two of them, one per test.
struct DoomedClient {
  explicit DoomedClient(Handle endpoint) : transport(endpoint), client(transport) {}
  proto::IpcTransport transport;
  chantest::ChannelTestClient client;
};
alignas(DoomedClient) uint8_t g_doomed_clients[2][sizeof(DoomedClient)];

// A server that dies with its ring connected: nothing in the ring says so. Sends must still
// end with kPeerClosed (the transport asks the kernel, handle_info's
// EXO_HANDLE_INFO_PEER_CLOSED), never sleep for ever, and keep failing once it is seen.
// - busy: the server dies in a handler, so no sleep announcement is left: sends with room are
//   taken (and lost), and the full ring tells, in both modes;
// - idle: the server dies asleep in its receive: the first send rings its doorbell and tells.
void test_dead_server(bool idle) {
  constexpr uint32_t kId = 6;
  const char* argv[] = {"channel_test", "doomed_server", idle ? "idle" : "busy"};
  exo::user_test::EchoServer child = exo::user_test::start_echo_server(argv, 3);
  expect_true("the doomed server starts and sends its endpoint", child.endpoint != 0);
  if (child.endpoint == 0) return;
  auto* doomed = new (g_doomed_clients[idle ? 1 : 0]) DoomedClient(child.endpoint);
  chantest::ChannelTestClient& client = doomed->client;
  expect_true("the client connects to the doomed server's ring", doomed->transport.connect_ring().ok());
  bool sent = true;
  for (uint32_t seq = 0; seq < 4; ++seq) {
    sent = client.note(kId, seq, check_of(kId, seq), proto::SendMode::kWait).ok() && sent;
  }
  auto alive = client.tally(kId);
  expect_true("it serves while alive", sent && alive.ok() && alive->received == 4);
  exo::sys::raw::Return live = exo::sys::raw::handle_info(child.endpoint);
  expect_true("handle_info: a live server's endpoint, not closed",
              live.status >= 0 &&
                  ((static_cast<uint64_t>(live.status) >> 32) & 0xffff) == EXO_OBJECT_ENDPOINT &&
                  (static_cast<uint64_t>(live.status) & EXO_HANDLE_INFO_PEER_CLOSED) == 0);
  expect_true("the hold that ends it is queued", client.hold(20, proto::SendMode::kWait).ok());
  exo::Result<int64_t> status = exo::sys::process_wait(child.process);
  expect_true("the doomed server exited", status.ok() && *status == kDoomedExit);
  exo::sys::raw::Return info = exo::sys::raw::handle_info(child.endpoint);
  expect_true("handle_info reports the endpoint closed",
              info.status >= 0 && (static_cast<uint64_t>(info.status) & EXO_HANDLE_INFO_PEER_CLOSED) != 0);
  exo::Status refused = exo::ok_status();
  uint32_t accepted = 0;
  for (uint32_t i = 0; i < 4 * chantest::ChannelTest::kQueueCapacity && refused.ok(); ++i) {
    refused = client.note(kId, 100 + i, check_of(kId, 100 + i), proto::SendMode::kFail);
    if (refused.ok()) ++accepted;
  }
  if (idle) {
    expect_true("kFail to a server that died asleep: the first send rings and gets kPeerClosed",
                !refused.ok() && refused.error() == exo::Error::kPeerClosed && accepted == 0);
  } else {
    expect_true("kFail to a server that died busy: sends with room are taken, then kPeerClosed",
                !refused.ok() && refused.error() == exo::Error::kPeerClosed &&
                    accepted <= chantest::ChannelTest::kQueueCapacity);
  }
  uint64_t before = exo::sys::clock_get().value_or(0);
  exo::Status waited = client.note(kId, 200, check_of(kId, 200), proto::SendMode::kWait);
  uint64_t took = exo::sys::clock_get().value_or(0) - before;
  expect_true("kWait to the dead server afterwards: kPeerClosed at once, not a hang",
              !waited.ok() && waited.error() == exo::Error::kPeerClosed && took < 20'000'000);
  print("channel_test: {} server: {} sends taken after its death, kWait returned after {} us\n",
        idle ? "idle" : "busy", accepted, took / 1000);
  expect_true("a call to the dead server: kPeerClosed", !client.tally(kId).ok());
  (void)exo::sys::handle_close(child.process);
}

// One-way cost: `per_sample` sends per sample through the generated client, the server thread
// draining them on this CPU, over the ring and (a server without ring) over IPC send.
void bench(int per_sample) {
  alignas(16) static uint8_t ipc_stack[32 * 1024];
  static ServerThread ipc_server;
  Handle ring_endpoint = start_server(&g_server, g_server_stack, sizeof(g_server_stack), 256);
  Handle ipc_endpoint = start_server(&ipc_server, ipc_stack, sizeof(ipc_stack), 0);
  if (ring_endpoint == 0 || ipc_endpoint == 0) {
    print("channel_test: no server\n");
    return;
  }
  static proto::IpcTransport ring_transport(ring_endpoint);
  static proto::IpcTransport ipc_transport(ipc_endpoint);
  static chantest::ChannelTestClient ring_client(ring_transport);
  static chantest::ChannelTestClient ipc_client(ipc_transport);
  (void)ring_transport.connect_ring();
  uint32_t seq = 0;
  Samples<100> ring_samples;
  ring_samples.run(per_sample, [&](int) { (void)ring_client.note(6, seq, check_of(6, seq), proto::SendMode::kWait); ++seq; });
  seq = 0;
  Samples<100> ipc_samples;
  ipc_samples.run(per_sample, [&](int) { (void)ipc_client.note(7, seq, check_of(7, seq), proto::SendMode::kWait); ++seq; });
  // The producer's side alone: 128 sends into the (drained) ring per sample, timed, then a
  // pause in which the server thread drains them. Each sample's first send finds the server
  // asleep and rings it, so a signal is amortised over 128 messages.
  constexpr int kBurst = 128;
  uint64_t producer_cycles[100];
  uint32_t burst_seq = 0;
  bool bursts_ok = true;
  for (int s = 0; s < 100; ++s) {
    (void)exo::sys::sleep(2'000'000);
    uint64_t start = exo::user_test::rdtsc();
    for (int i = 0; i < kBurst; ++i, ++burst_seq) {
      bursts_ok = bursts_ok && ring_client.note(5, burst_seq, check_of(5, burst_seq), proto::SendMode::kFail).ok();
    }
    producer_cycles[s] = (exo::user_test::rdtsc() - start) / kBurst;
  }
  for (int i = 1; i < 100; ++i) {
    for (int j = i; j > 0 && producer_cycles[j - 1] > producer_cycles[j]; --j) {
      uint64_t t = producer_cycles[j];
      producer_cycles[j] = producer_cycles[j - 1];
      producer_cycles[j - 1] = t;
    }
  }
  auto b = ring_client.tally(5);
  bursts_ok = bursts_ok && b.ok() && b->received == burst_seq && b->errors == 0;
  print("bench one_way_ring_producer: median {} cycles, p99 {} cycles per message (bursts of {} "
        "kFail sends into an empty ring, the server draining between bursts)\n",
        producer_cycles[50], producer_cycles[99], kBurst);
  auto r = ring_client.tally(6);
  auto i = ipc_client.tally(7);
  bool all = r.ok() && i.ok() && r->received == 100u * per_sample && i->received == 100u * per_sample &&
             r->errors == 0 && i->errors == 0;
  print("bench one_way_ring: median {} cycles, p99 {} cycles per message ({} messages, 256-slot ring, "
        "server thread on the same CPU, {} doorbells)\n",
        ring_samples.median(), ring_samples.p99(), 100 * per_sample, r.ok() ? r->doorbells : 0);
  print("bench one_way_ipc_send: median {} cycles, p99 {} cycles per message ({} messages, IPC send)\n",
        ipc_samples.median(), ipc_samples.p99(), 100 * per_sample);
  print("bench one_way: {}\n", all && bursts_ok ? "every message arrived" : "MESSAGES MISSING");
}

// The raw round trip next to the typed one: a thread of this process echoing two words.
void raw_echo_main(void* argument) {
  Handle endpoint = static_cast<Handle>(reinterpret_cast<uintptr_t>(argument));
  exo::sys::IpcMessage m;
  int64_t status = exo::sys::ipc_recv(endpoint, m);
  while (status >= 0) status = exo::sys::ipc_reply_recv(endpoint, m);
}

// Call round trips between two threads of this process: raw 2-word IPC against the generated
// echo(u64) through the typed client, the IPC transport and the generated dispatcher. Both
// sides' code is in this one program, so scripts/icount_profile.py --user can break it down.
void bench_calls(int per_sample) {
  alignas(16) static uint8_t raw_stack[16 * 1024];
  Handle ring_endpoint = start_server(&g_server, g_server_stack, sizeof(g_server_stack),
                                      chantest::ChannelTest::kQueueCapacity);
  exo::Result<Handle> raw_endpoint = exo::sys::endpoint_create();
  if (ring_endpoint == 0 || !raw_endpoint.ok() ||
      !exo::sys::thread_create(&raw_echo_main, reinterpret_cast<void*>(uintptr_t{*raw_endpoint}),
                               raw_stack, sizeof(raw_stack)).ok()) {
    print("channel_test: no server\n");
    return;
  }
  static proto::IpcTransport transport(ring_endpoint);
  static chantest::ChannelTestClient client(transport);
  Samples<100> raw;
  raw.run(per_sample, [&](int i) {
    exo::sys::IpcMessage m;
    m.label = 1;
    m.word_count = 2;
    m.words[0] = static_cast<uint64_t>(i);
    (void)exo::sys::ipc_call(*raw_endpoint, m);
  });
  bool echoed = true;
  Samples<100> typed;
  typed.run(per_sample, [&](int i) {
    auto r = client.echo(static_cast<uint64_t>(i));
    echoed = echoed && r.ok() && r->value == static_cast<uint64_t>(i);
  });
  print("bench call_raw_same_process: median {} cycles, p99 {} cycles per round trip ({} round trips, 2 words)\n",
        raw.median(), raw.p99(), 100 * per_sample);
  print("bench call_typed_echo: median {} cycles, p99 {} cycles per round trip ({} calls, generated "
        "chantest client and dispatcher, server with a ring){}\n",
        typed.median(), typed.p99(), 100 * per_sample, echoed ? "" : " WRONG ANSWERS");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "producer") == 0) {
    Handle endpoint = exo::sys::start_handle(EXO_START_HANDLE_USER);
    if (endpoint == exo::sys::kInvalidHandle || argc < 4) return 10;
    static proto::IpcTransport transport(endpoint);
    return produce(transport, exo::user_test::parse_count(argv[2]), exo::user_test::parse_count(argv[3])) == 0 ? 0 : 11;
  }
  if (argc > 2 && strcmp(argv[1], "doomed_server") == 0) return doomed_server(argv[2]);
  if (argc > 1 && strcmp(argv[1], "callbench") == 0) {
    int per_sample = argc > 2 ? static_cast<int>(exo::user_test::parse_count(argv[2])) : 1000;
    bench_calls(per_sample > 0 ? per_sample : 1);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "bench") == 0) {
    int per_sample = argc > 2 ? static_cast<int>(exo::user_test::parse_count(argv[2])) : 1000;
    bench(per_sample > 0 ? per_sample : 1);
    return 0;
  }
  Handle endpoint = start_server(&g_server, g_server_stack, sizeof(g_server_stack),
                                 chantest::ChannelTest::kQueueCapacity);
  expect_true("the test server starts with a ring", endpoint != 0);
  if (endpoint == 0) return exo::user_test::finish();
  static proto::IpcTransport transport(endpoint);
  static chantest::ChannelTestClient client(transport);
  // A line per stage, so a run that stops shows where.
  test_connect_checks(endpoint);
  expect_true("the client connects to the ring", transport.connect_ring().ok());
  print("channel_test: connected\n");
  test_many_producers(endpoint, transport, client);
  print("channel_test: many producers done\n");
  test_full_ring(client);
  print("channel_test: full ring done\n");
  test_hostile_ring(transport, client);
  print("channel_test: hostile ring done\n");
  test_dead_server(false);
  test_dead_server(true);
  return exo::user_test::finish();
}
