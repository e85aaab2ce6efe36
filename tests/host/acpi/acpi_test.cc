// Host tests for the ACPI parsers: RSDP, RSDT/XSDT walking, MADT and SRAT, valid and malformed.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernel/acpi/madt.h"
#include "kernel/acpi/srat.h"
#include "kernel/acpi/tables.h"

namespace exo::acpi {
namespace {

using Bytes = std::vector<uint8_t>;
using loader::ParseDiagnostic;

template <typename T> void put(Bytes& b, usize at, T v) { std::memcpy(b.data() + at, &v, sizeof v); }
template <typename T> void append(Bytes& b, T v) {
  b.resize(b.size() + sizeof v);
  put(b, b.size() - sizeof v, v);
}

uint8_t sum(const Bytes& b, usize n) {
  uint8_t s = 0;
  for (usize i = 0; i < n; ++i) s = static_cast<uint8_t>(s + b[i]);
  return s;
}

// Sets length and checksum of a table built with a 36-byte header in front.
void seal(Bytes& t) {
  put<uint32_t>(t, 4, static_cast<uint32_t>(t.size()));
  t[9] = 0;
  t[9] = static_cast<uint8_t>(-sum(t, t.size()));
}

Bytes table(const char* sig, uint8_t revision, const Bytes& body) {
  Bytes t(36, 0);
  std::memcpy(t.data(), sig, 4);
  t[8] = revision;
  std::memcpy(t.data() + 10, "EXOOEM", 6);
  t.insert(t.end(), body.begin(), body.end());
  seal(t);
  return t;
}

Bytes rsdp(uint8_t revision, uint32_t rsdt, uint64_t xsdt) {
  Bytes r(revision >= 2 ? 36 : 20, 0);
  std::memcpy(r.data(), "RSD PTR ", 8);
  r[15] = revision;
  put<uint32_t>(r, 16, rsdt);
  r[8] = static_cast<uint8_t>(-sum(r, 20));
  if (revision >= 2) {
    put<uint32_t>(r, 20, 36);
    put<uint64_t>(r, 24, xsdt);
    r[32] = static_cast<uint8_t>(-sum(r, 36));
  }
  return r;
}

// Simulated physical memory: each placed blob lives in its own exactly-sized heap allocation,
// so a read past a table's end is an ASan error, not a silent read of the next table.
class SimMemory {
 public:
  void place(uint64_t phys, const Bytes& bytes) {
    auto& slot = blobs_[phys];
    slot.size = bytes.size();
    slot.data.reset(new uint8_t[bytes.size()]);
    std::memcpy(slot.data.get(), bytes.data(), bytes.size());
  }
  PhysReader reader() { return PhysReader{&SimMemory::map, this}; }

 private:
  struct Blob {
    std::unique_ptr<uint8_t[]> data;
    usize size = 0;
  };
  static ByteSpan map(void* context, uint64_t phys, usize size) {
    auto* self = static_cast<SimMemory*>(context);
    auto it = self->blobs_.upper_bound(phys);
    if (it == self->blobs_.begin()) return ByteSpan();
    --it;
    uint64_t off = phys - it->first;
    if (off > it->second.size || size > it->second.size - off) return ByteSpan();
    return ByteSpan(it->second.data.get() + off, size);
  }
  std::map<uint64_t, Blob> blobs_;
};

// Exactly-sized heap copy for the parsers that take a span.
struct Heap {
  explicit Heap(const Bytes& b) : data(new uint8_t[b.size() ? b.size() : 1]), size(b.size()) {
    if (!b.empty()) std::memcpy(data.get(), b.data(), b.size());
  }
  ByteSpan span() const { return ByteSpan(data.get(), size); }
  std::unique_ptr<uint8_t[]> data;
  usize size;
};

bool has(const ParseDiagnostic& d, const char* needle) {
  return std::strstr(d.what, needle) != nullptr;
}

// --- RSDP ------------------------------------------------------------------------------------

TEST(AcpiRsdp, Revision0UsesRsdt) {
  Heap h(rsdp(0, 0x7fe0000, 0));
  ParseDiagnostic d;
  auto r = parse_rsdp(h.span(), &d);
  ASSERT_TRUE(r.ok()) << d.what;
  EXPECT_EQ(r->revision, 0);
  EXPECT_EQ(r->root_phys, 0x7fe0000u);
  EXPECT_FALSE(r->root_is_xsdt);
}

TEST(AcpiRsdp, Revision2PrefersXsdt) {
  Heap h(rsdp(2, 0x1000, 0x2000));
  auto r = parse_rsdp(h.span(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->root_phys, 0x2000u);
  EXPECT_TRUE(r->root_is_xsdt);
  Heap zero(rsdp(2, 0x1000, 0));
  auto z = parse_rsdp(zero.span(), nullptr);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->root_phys, 0x1000u);
  EXPECT_FALSE(z->root_is_xsdt);
}

void expect_rsdp_reject(const Bytes& b, const char* needle) {
  Heap h(b);
  ParseDiagnostic d;
  auto r = parse_rsdp(h.span(), &d);
  ASSERT_FALSE(r.ok()) << needle;
  EXPECT_EQ(r.error(), Error::kMalformed);
  EXPECT_TRUE(has(d, needle)) << d.what << " / " << needle;
}

TEST(AcpiRsdp, Revision2CutTo20BytesUsesRsdt) {
  Bytes v2 = rsdp(2, 0x1000, 0x2000);
  Heap h(Bytes(v2.begin(), v2.begin() + 20));
  auto r = parse_rsdp(h.span(), nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->revision, 2);
  EXPECT_EQ(r->root_phys, 0x1000u);
  EXPECT_FALSE(r->root_is_xsdt);
}

TEST(AcpiRsdp, RejectsMalformed) {
  Bytes b = rsdp(0, 0x1000, 0);
  expect_rsdp_reject(Bytes(b.begin(), b.begin() + 19), "shorter than 20");
  Bytes sig = b;
  sig[0] = 'X';
  sig[8] = static_cast<uint8_t>(sig[8] - ('X' - 'R'));  // keep the checksum right
  expect_rsdp_reject(sig, "signature");
  Bytes cs = b;
  cs[16] ^= 1;
  expect_rsdp_reject(cs, "RSDP checksum");

  Bytes v2 = rsdp(2, 0x1000, 0x2000);
  Bytes ext = v2;
  ext[24] ^= 1;  // inside the extension only: the 20-byte checksum still holds
  expect_rsdp_reject(ext, "extended checksum");
  Bytes small = v2;
  put<uint32_t>(small, 20, 35);
  expect_rsdp_reject(small, "length below 36");
  Bytes big = v2;
  put<uint32_t>(big, 20, 40);
  expect_rsdp_reject(big, "length below 36 or past");
}

// --- Table headers and the root walk ----------------------------------------------------------

TEST(AcpiTable, ValidateRejectsBadHeaders) {
  Bytes t = table("APIC", 5, Bytes(8, 0x11));
  EXPECT_TRUE(validate_table(Heap(t).span(), "APIC", nullptr).ok());
  ParseDiagnostic d;
  EXPECT_FALSE(validate_table(Heap(t).span(), "SRAT", &d).ok());
  EXPECT_TRUE(has(d, "signature"));
  Bytes cs = t;
  cs[40] ^= 0x80;
  EXPECT_FALSE(validate_table(Heap(cs).span(), nullptr, &d).ok());
  EXPECT_TRUE(has(d, "checksum"));
  Bytes past = t;
  put<uint32_t>(past, 4, static_cast<uint32_t>(t.size() + 4));
  EXPECT_FALSE(validate_table(Heap(past).span(), nullptr, &d).ok());
  EXPECT_TRUE(has(d, "length does not match"));
  EXPECT_FALSE(validate_table(Heap(Bytes(t.begin(), t.begin() + 35)).span(), nullptr, &d).ok());
  EXPECT_TRUE(has(d, "shorter than its header"));
}

TEST(AcpiTable, MapTableChecksBoundsAndLength) {
  SimMemory mem;
  Bytes t = table("FACP", 1, Bytes(20, 0));
  mem.place(0x5000, t);
  ParseDiagnostic d;
  auto ok = map_table(mem.reader(), 0x5000, "FACP", &d);
  ASSERT_TRUE(ok.ok()) << d.what;
  EXPECT_EQ(ok->size(), t.size());

  EXPECT_FALSE(map_table(mem.reader(), 0x9000, nullptr, &d).ok());
  EXPECT_TRUE(has(d, "header not readable"));
  EXPECT_EQ(d.offset, 0x9000u);

  Bytes longer = t;
  put<uint32_t>(longer, 4, static_cast<uint32_t>(t.size() + 100));
  mem.place(0x6000, longer);
  EXPECT_FALSE(map_table(mem.reader(), 0x6000, nullptr, &d).ok());
  EXPECT_TRUE(has(d, "unreadable memory"));

  Bytes tiny = t;
  put<uint32_t>(tiny, 4, 12);
  mem.place(0x7000, tiny);
  EXPECT_FALSE(map_table(mem.reader(), 0x7000, nullptr, &d).ok());
  EXPECT_TRUE(has(d, "below its header"));

  Bytes huge = t;
  put<uint32_t>(huge, 4, 0x80000000u);
  mem.place(0x8000, huge);
  auto h = map_table(mem.reader(), 0x8000, nullptr, &d);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error(), Error::kUnsupported);

  mem.place(0xfffffffffffffff0ull, Bytes(16, 0));
  Bytes top(36, 0);
  put<uint32_t>(top, 4, 64);
  mem.place(0xffffffffffffffd0ull, top);
  EXPECT_FALSE(map_table(mem.reader(), 0xffffffffffffffd0ull, nullptr, &d).ok());
  EXPECT_TRUE(has(d, "wraps"));

  Bytes bad = t;
  bad[40] ^= 1;
  mem.place(0xa000, bad);
  EXPECT_FALSE(map_table(mem.reader(), 0xa000, nullptr, &d).ok());
  EXPECT_TRUE(has(d, "checksum"));
  EXPECT_EQ(d.offset, 0xa000u + 9);
}

Bytes root_body(const std::vector<uint64_t>& phys, bool xsdt) {
  Bytes body;
  for (uint64_t p : phys) {
    if (xsdt) append<uint64_t>(body, p);
    else append<uint32_t>(body, static_cast<uint32_t>(p));
  }
  return body;
}

TEST(AcpiRoot, WalksRsdtAndXsdt) {
  for (bool xsdt : {false, true}) {
    SimMemory mem;
    mem.place(0x10000, table("APIC", 5, Bytes(8, 0)));
    mem.place(0x11000, table("SSDT", 2, Bytes(4, 1)));
    mem.place(0x12000, table("SSDT", 2, Bytes(4, 2)));
    mem.place(0x20000, table(xsdt ? "XSDT" : "RSDT", 1,
                             root_body({0x10000, 0x11000, 0x12000}, xsdt)));
    Heap r(xsdt ? rsdp(2, 0, 0x20000) : rsdp(0, 0x20000, 0));
    auto dir = std::make_unique<TableDirectory>();
    ParseDiagnostic d;
    ASSERT_TRUE(read_root(r.span(), mem.reader(), dir.get(), &d).ok()) << d.what;
    ASSERT_EQ(dir->count, 3u);
    EXPECT_EQ(dir->rsdp.root_is_xsdt, xsdt);
    EXPECT_EQ(std::memcmp(dir->entries[1].signature, "SSDT", 4), 0);
    auto madt = find_table(*dir, mem.reader(), "APIC", 0, &d);
    ASSERT_TRUE(madt.ok()) << d.what;
    EXPECT_EQ(madt->size(), 44u);
    auto second = find_table(*dir, mem.reader(), "SSDT", 1, &d);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ((*second)[36], 2);
    auto none = find_table(*dir, mem.reader(), "SSDT", 2, &d);
    ASSERT_FALSE(none.ok());
    EXPECT_EQ(none.error(), Error::kNotFound);
    EXPECT_EQ(find_table(*dir, mem.reader(), "SRAT", 0, &d).error(), Error::kNotFound);
  }
}

TEST(AcpiRoot, RejectsBadRoots) {
  auto dir = std::make_unique<TableDirectory>();
  ParseDiagnostic d;
  {
    SimMemory mem;  // RSDP names a table that is not there
    EXPECT_FALSE(read_root(Heap(rsdp(0, 0x20000, 0)).span(), mem.reader(), dir.get(), &d).ok());
    EXPECT_TRUE(has(d, "not readable"));
  }
  {
    SimMemory mem;  // RSDT where an XSDT was promised
    mem.place(0x20000, table("RSDT", 1, {}));
    EXPECT_FALSE(read_root(Heap(rsdp(2, 0, 0x20000)).span(), mem.reader(), dir.get(), &d).ok());
    EXPECT_TRUE(has(d, "signature"));
  }
  {
    SimMemory mem;  // an XSDT with a 4-byte tail
    mem.place(0x20000, table("XSDT", 1, Bytes(12, 0)));
    EXPECT_FALSE(read_root(Heap(rsdp(2, 0, 0x20000)).span(), mem.reader(), dir.get(), &d).ok());
    EXPECT_TRUE(has(d, "inside an entry"));
  }
  {
    SimMemory mem;  // a listed table whose header is unreadable
    mem.place(0x20000, table("RSDT", 1, root_body({0x30000}, false)));
    EXPECT_FALSE(read_root(Heap(rsdp(0, 0x20000, 0)).span(), mem.reader(), dir.get(), &d).ok());
    EXPECT_TRUE(has(d, "listed table header not readable"));
    EXPECT_EQ(d.offset, 0x30000u);
  }
  {
    SimMemory mem;  // too many tables
    std::vector<uint64_t> phys;
    for (usize i = 0; i <= kMaxTables; ++i) {
      phys.push_back(0x100000 + i * 0x100);
      mem.place(phys.back(), table("SSDT", 1, {}));
    }
    mem.place(0x20000, table("XSDT", 1, root_body(phys, true)));
    auto r = read_root(Heap(rsdp(2, 0, 0x20000)).span(), mem.reader(), dir.get(), &d);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Error::kUnsupported);
  }
  {
    SimMemory mem;  // a listed table with a bad checksum fails when it is looked up
    Bytes bad = table("APIC", 5, Bytes(8, 0));
    bad[37] ^= 1;
    mem.place(0x10000, bad);
    mem.place(0x20000, table("RSDT", 1, root_body({0x10000}, false)));
    ASSERT_TRUE(read_root(Heap(rsdp(0, 0x20000, 0)).span(), mem.reader(), dir.get(), &d).ok());
    auto t = find_table(*dir, mem.reader(), "APIC", 0, &d);
    ASSERT_FALSE(t.ok());
    EXPECT_TRUE(has(d, "checksum"));
  }
}

// --- MADT ------------------------------------------------------------------------------------

struct MadtBuilder {
  Bytes body;
  MadtBuilder(uint32_t lapic = 0xfee00000, uint32_t flags = 1) {
    append<uint32_t>(body, lapic);
    append<uint32_t>(body, flags);
  }
  usize entry(uint8_t type, const Bytes& payload) {
    usize at = 36 + body.size();
    body.push_back(type);
    body.push_back(static_cast<uint8_t>(2 + payload.size()));
    body.insert(body.end(), payload.begin(), payload.end());
    return at;
  }
  usize lapic(uint8_t uid, uint8_t id, uint32_t flags) {
    Bytes p{uid, id};
    append<uint32_t>(p, flags);
    return entry(0, p);
  }
  usize x2apic(uint32_t id, uint32_t flags, uint32_t uid) {
    Bytes p;
    append<uint16_t>(p, 0);
    append<uint32_t>(p, id);
    append<uint32_t>(p, flags);
    append<uint32_t>(p, uid);
    return entry(9, p);
  }
  usize ioapic(uint8_t id, uint32_t addr, uint32_t gsi) {
    Bytes p{id, 0};
    append<uint32_t>(p, addr);
    append<uint32_t>(p, gsi);
    return entry(1, p);
  }
  usize iso(uint8_t bus, uint8_t source, uint32_t gsi, uint16_t flags) {
    Bytes p{bus, source};
    append<uint32_t>(p, gsi);
    append<uint16_t>(p, flags);
    return entry(2, p);
  }
  usize address_override(uint64_t addr) {
    Bytes p;
    append<uint16_t>(p, 0);
    append<uint64_t>(p, addr);
    return entry(5, p);
  }
  Bytes build() const { return table("APIC", 5, body); }
};

struct MadtResult {
  Result<void> result = Error::kInvalidArgument;
  ParseDiagnostic diag;
  std::unique_ptr<MadtInfo> info = std::make_unique<MadtInfo>();
};

std::unique_ptr<MadtResult> run_madt(const Bytes& t) {
  auto r = std::make_unique<MadtResult>();
  Heap h(t);
  r->result.~Result();
  new (&r->result) Result<void>(parse_madt(h.span(), r->info.get(), &r->diag));
  return r;
}

void expect_madt_reject(const Bytes& t, const char* needle, Error error = Error::kMalformed) {
  auto r = run_madt(t);
  ASSERT_FALSE(r->result.ok()) << needle;
  EXPECT_EQ(r->result.error(), error);
  EXPECT_TRUE(has(r->diag, needle)) << r->diag.what << " / " << needle;
}

Bytes qemu_like_madt() {
  MadtBuilder m;
  m.lapic(0, 0, 1);
  m.lapic(1, 1, 1);
  m.lapic(2, 2, 2);  // online capable only
  m.lapic(3, 3, 0);  // unusable: skipped
  m.x2apic(300, 1, 4);
  m.ioapic(0, 0xfec00000, 0);
  m.iso(0, 0, 2, 0);
  m.iso(0, 9, 9, 0xd);  // active high, level
  m.entry(4, {0xff, 0, 0, 1});  // local APIC NMI: not parsed
  m.entry(0x7f, Bytes(10, 0));  // unknown type
  return m.build();
}

TEST(AcpiMadt, ParsesCpusIoApicsAndOverrides) {
  auto r = run_madt(qemu_like_madt());
  ASSERT_TRUE(r->result.ok()) << r->diag.what << " at " << r->diag.offset;
  const MadtInfo& m = *r->info;
  EXPECT_EQ(m.local_apic_address, 0xfee00000u);
  EXPECT_TRUE(m.has_8259);
  ASSERT_EQ(m.cpu_count, 4u);
  EXPECT_TRUE(m.cpus[1].enabled);
  EXPECT_FALSE(m.cpus[2].enabled);
  EXPECT_TRUE(m.cpus[2].online_capable);
  EXPECT_EQ(m.cpus[3].apic_id, 300u);
  EXPECT_EQ(m.cpus[3].acpi_uid, 4u);
  EXPECT_TRUE(m.cpus[3].x2apic);
  ASSERT_EQ(m.io_apic_count, 1u);
  EXPECT_EQ(m.io_apics[0].address, 0xfec00000u);
  ASSERT_EQ(m.override_count, 2u);
  EXPECT_EQ(m.overrides[0].gsi, 2u);
  EXPECT_EQ(m.overrides[0].polarity, Polarity::kConforms);
  EXPECT_EQ(m.overrides[1].polarity, Polarity::kActiveHigh);
  EXPECT_EQ(m.overrides[1].trigger, Trigger::kLevel);
}

TEST(AcpiMadt, AddressOverrideReplacesHeaderAddress) {
  MadtBuilder m(0xfee00000, 0);
  m.address_override(0x1'0000'0000ull);
  auto r = run_madt(m.build());
  ASSERT_TRUE(r->result.ok()) << r->diag.what;
  EXPECT_EQ(r->info->local_apic_address, 0x1'0000'0000ull);
  EXPECT_FALSE(r->info->has_8259);
  m.address_override(0x2'0000'0000ull);
  expect_madt_reject(m.build(), "more than one local APIC address override");
}

TEST(AcpiMadt, RejectsBadTable) {
  Bytes t = qemu_like_madt();
  t[50] ^= 1;
  expect_madt_reject(t, "checksum");
  expect_madt_reject(table("APIC", 5, Bytes(4, 0)), "shorter than its fixed fields");
  expect_madt_reject(table("SRAT", 5, Bytes(8, 0)), "signature");
}

TEST(AcpiMadt, RejectsBadEntryLengths) {
  for (uint8_t length : {0, 1}) {
    MadtBuilder m;
    usize at = m.lapic(0, 0, 1);
    m.body[at - 36 + 1] = length;
    expect_madt_reject(m.build(), "entry length below 2");
  }
  {
    MadtBuilder m;
    usize at = m.ioapic(0, 0xfec00000, 0);
    m.body[at - 36 + 1] = 13;
    expect_madt_reject(m.build(), "entry runs past the table");
  }
  {
    MadtBuilder m;
    m.lapic(0, 0, 1);
    m.body.push_back(0);  // one stray byte: not even an entry header
    expect_madt_reject(m.build(), "entry header runs past");
  }
  {
    MadtBuilder m;  // a 6-byte local APIC entry with a valid 2-byte tail after it
    m.entry(0, Bytes{0, 0, 1, 0});
    expect_madt_reject(m.build(), "shorter than its type requires");
  }
  {
    MadtBuilder m;
    m.entry(9, Bytes(12, 0));
    expect_madt_reject(m.build(), "shorter than its type requires");
  }
  {
    MadtBuilder m;  // longer-than-known entries are accepted (later spec revisions append)
    Bytes p{0, 7};
    append<uint32_t>(p, 1);
    p.push_back(0xaa);
    m.entry(0, p);
    auto r = run_madt(m.build());
    ASSERT_TRUE(r->result.ok()) << r->diag.what;
    EXPECT_EQ(r->info->cpus[0].apic_id, 7u);
  }
}

TEST(AcpiMadt, RejectsDuplicatesAndBadOverrides) {
  {
    MadtBuilder m;
    m.lapic(0, 5, 1);
    m.x2apic(5, 1, 1);
    expect_madt_reject(m.build(), "duplicate APIC ID");
  }
  {
    MadtBuilder m;
    m.iso(1, 0, 2, 0);
    expect_madt_reject(m.build(), "bus is not ISA");
  }
  {
    MadtBuilder m;
    m.iso(0, 0, 2, 0x2);
    expect_madt_reject(m.build(), "reserved flag");
  }
  {
    MadtBuilder m;
    m.iso(0, 0, 2, 0x8);
    expect_madt_reject(m.build(), "reserved flag");
  }
  {
    MadtBuilder m;
    m.iso(0, 0, 2, 0);
    m.iso(0, 0, 3, 0);
    expect_madt_reject(m.build(), "duplicate interrupt override");
  }
}

TEST(AcpiMadt, RejectsTooManyEntries) {
  {
    MadtBuilder m;
    for (uint32_t i = 0; i < kMaxCpus; ++i) m.x2apic(i, 1, i);
    m.x2apic(1000, 0, 0);  // unusable entries do not count
    ASSERT_TRUE(run_madt(m.build())->result.ok());
    m.x2apic(1001, 1, 0);
    expect_madt_reject(m.build(), "more usable CPUs", Error::kUnsupported);
  }
  {
    MadtBuilder m;
    for (uint8_t i = 0; i <= kMaxIoApics; ++i) m.ioapic(i, 0xfec00000 + i * 0x1000, i * 24);
    expect_madt_reject(m.build(), "more I/O APICs", Error::kUnsupported);
  }
  {
    MadtBuilder m;
    for (uint8_t i = 0; i <= kMaxInterruptOverrides; ++i) m.iso(0, i, i, 0);
    expect_madt_reject(m.build(), "more interrupt overrides", Error::kUnsupported);
  }
}

// --- SRAT ------------------------------------------------------------------------------------

struct SratBuilder {
  Bytes body;
  SratBuilder() {
    append<uint32_t>(body, 1);
    append<uint64_t>(body, 0);
  }
  usize entry(uint8_t type, const Bytes& payload) {
    usize at = 36 + body.size();
    body.push_back(type);
    body.push_back(static_cast<uint8_t>(2 + payload.size()));
    body.insert(body.end(), payload.begin(), payload.end());
    return at;
  }
  usize apic(uint8_t id, uint32_t domain, uint32_t flags) {
    Bytes p{static_cast<uint8_t>(domain), id};
    append<uint32_t>(p, flags);
    p.push_back(0);
    p.push_back(static_cast<uint8_t>(domain >> 8));
    p.push_back(static_cast<uint8_t>(domain >> 16));
    p.push_back(static_cast<uint8_t>(domain >> 24));
    append<uint32_t>(p, 0);
    return entry(0, p);
  }
  usize x2apic(uint32_t id, uint32_t domain, uint32_t flags) {
    Bytes p;
    append<uint16_t>(p, 0);
    append<uint32_t>(p, domain);
    append<uint32_t>(p, id);
    append<uint32_t>(p, flags);
    append<uint32_t>(p, 0);
    append<uint32_t>(p, 0);
    return entry(2, p);
  }
  usize memory(uint64_t base, uint64_t length, uint32_t domain, uint32_t flags) {
    Bytes p;
    append<uint32_t>(p, domain);
    append<uint16_t>(p, 0);
    append<uint32_t>(p, static_cast<uint32_t>(base));
    append<uint32_t>(p, static_cast<uint32_t>(base >> 32));
    append<uint32_t>(p, static_cast<uint32_t>(length));
    append<uint32_t>(p, static_cast<uint32_t>(length >> 32));
    append<uint32_t>(p, 0);
    append<uint32_t>(p, flags);
    append<uint64_t>(p, 0);
    return entry(1, p);
  }
  Bytes build(uint8_t revision = 3) const { return table("SRAT", revision, body); }
};

struct SratResult {
  Result<void> result = Error::kInvalidArgument;
  ParseDiagnostic diag;
  std::unique_ptr<SratInfo> info = std::make_unique<SratInfo>();
};

std::unique_ptr<SratResult> run_srat(const Bytes& t) {
  auto r = std::make_unique<SratResult>();
  Heap h(t);
  r->result.~Result();
  new (&r->result) Result<void>(parse_srat(h.span(), r->info.get(), &r->diag));
  return r;
}

void expect_srat_reject(const Bytes& t, const char* needle, Error error = Error::kMalformed) {
  auto r = run_srat(t);
  ASSERT_FALSE(r->result.ok()) << needle;
  EXPECT_EQ(r->result.error(), error);
  EXPECT_TRUE(has(r->diag, needle)) << r->diag.what << " / " << needle;
}

SratBuilder two_node_srat() {
  SratBuilder s;
  s.apic(0, 0, 1);
  s.apic(1, 0x10001, 1);  // the high bits count from revision 2 on
  s.apic(2, 1, 0);  // disabled: ignored
  s.x2apic(400, 7, 1);
  s.memory(0, 0x80000000, 0, 1);
  s.memory(0x100000000ull, 0x80000000, 1, 1 | 2 | 4);
  s.memory(0x200000000ull, 0x1000, 1, 0);  // disabled: ignored
  s.entry(3, Bytes(16, 0));  // GICC affinity: not parsed on x86
  return s;
}

TEST(AcpiSrat, ParsesAffinities) {
  auto r = run_srat(two_node_srat().build());
  ASSERT_TRUE(r->result.ok()) << r->diag.what;
  const SratInfo& s = *r->info;
  ASSERT_EQ(s.cpu_count, 3u);
  EXPECT_EQ(*node_of_apic(s, 0), 0u);
  EXPECT_EQ(*node_of_apic(s, 1), 0x10001u);
  EXPECT_EQ(*node_of_apic(s, 400), 7u);
  EXPECT_EQ(node_of_apic(s, 2).error(), Error::kNotFound);
  ASSERT_EQ(s.memory_count, 2u);
  EXPECT_EQ(s.memory[1].base, 0x100000000ull);
  EXPECT_EQ(s.memory[1].length, 0x80000000ull);
  EXPECT_EQ(s.memory[1].node, 1u);
  EXPECT_TRUE(s.memory[1].hot_pluggable);
  EXPECT_TRUE(s.memory[1].non_volatile);
  EXPECT_FALSE(s.memory[0].hot_pluggable);
}

TEST(AcpiSrat, Revision1UsesOnlyLowDomainByte) {
  auto r = run_srat(two_node_srat().build(1));
  ASSERT_TRUE(r->result.ok());
  EXPECT_EQ(*node_of_apic(*r->info, 1), 1u);
}

TEST(AcpiSrat, RejectsMalformed) {
  Bytes t = two_node_srat().build();
  t[60] ^= 4;
  expect_srat_reject(t, "checksum");
  expect_srat_reject(table("SRAT", 3, Bytes(8, 0)), "shorter than its fixed fields");
  for (uint8_t length : {0, 1}) {
    SratBuilder s;
    usize at = s.apic(0, 0, 1);
    s.body[at - 36 + 1] = length;
    expect_srat_reject(s.build(), "entry length below 2");
  }
  {
    SratBuilder s;
    usize at = s.memory(0, 0x1000, 0, 1);
    s.body[at - 36 + 1] = 41;
    expect_srat_reject(s.build(), "entry runs past the table");
  }
  {
    SratBuilder s;
    s.x2apic(1, 0, 1);
    s.body.push_back(2);
    expect_srat_reject(s.build(), "entry header runs past");
  }
  {
    SratBuilder s;
    s.entry(1, Bytes(30, 0xff));
    expect_srat_reject(s.build(), "shorter than its type requires");
  }
  {
    SratBuilder s;
    s.apic(3, 0, 1);
    s.x2apic(3, 1, 1);
    expect_srat_reject(s.build(), "duplicate APIC ID");
  }
  {
    SratBuilder s;
    s.memory(0xffffffff00000000ull, 0x100000000ull, 0, 1);
    expect_srat_reject(s.build(), "wraps");
  }
}

TEST(AcpiSrat, RejectsTooManyEntries) {
  {
    SratBuilder s;
    for (uint32_t i = 0; i <= kMaxSratCpus; ++i) s.x2apic(i, 0, 1);
    expect_srat_reject(s.build(), "more CPUs", Error::kUnsupported);
  }
  {
    SratBuilder s;
    for (uint32_t i = 0; i <= kMaxMemoryAffinities; ++i) s.memory(i * 0x1000ull, 0x1000, 0, 1);
    expect_srat_reject(s.build(), "more memory ranges", Error::kUnsupported);
  }
}

// --- Fuzzing -----------------------------------------------------------------------------------

// Random edits to a valid table; the checksum is fixed up most of the time so that the
// mutation reaches the entry walk instead of stopping at the header.
Bytes mutate(const Bytes& valid, std::mt19937& rng) {
  Bytes b = valid;
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !b.empty(); ++e) {
    usize at = rng() % b.size();
    switch (rng() % 5) {
      case 0: b[at] = static_cast<uint8_t>(rng()); break;
      case 1: b[at] ^= static_cast<uint8_t>(1u << (rng() % 8)); break;
      case 2: b[at] = static_cast<uint8_t>(rng() % 3); break;  // tiny entry lengths
      case 3: b.resize(rng() % (b.size() + 1)); break;
      case 4: b.insert(b.begin() + at, static_cast<uint8_t>(rng())); break;
    }
  }
  if (b.size() >= 36 && rng() % 4 != 0) seal(b);
  return b;
}

TEST(AcpiFuzz, MadtSurvivesRandomMutations) {
  const Bytes valid = qemu_like_madt();
  std::mt19937 rng(0xac91);
  int accepted = 0;
  for (int round = 0; round < 10000; ++round) {
    Bytes b = mutate(valid, rng);
    auto r = run_madt(b);
    if (r->result.ok()) {
      ++accepted;
      EXPECT_LE(r->info->cpu_count, kMaxCpus);
      EXPECT_LE(r->info->io_apic_count, kMaxIoApics);
    } else {
      EXPECT_STRNE(r->diag.what, "");
      EXPECT_LE(r->diag.offset, b.size());
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(AcpiFuzz, SratSurvivesRandomMutations) {
  const Bytes valid = two_node_srat().build();
  std::mt19937 rng(0x5a47);
  int accepted = 0;
  for (int round = 0; round < 10000; ++round) {
    Bytes b = mutate(valid, rng);
    auto r = run_srat(b);
    if (r->result.ok()) {
      ++accepted;
      for (usize i = 0; i < r->info->memory_count; ++i) {
        EXPECT_GE(r->info->memory[i].base + r->info->memory[i].length, r->info->memory[i].base);
      }
    } else {
      EXPECT_STRNE(r->diag.what, "");
    }
  }
  EXPECT_GT(accepted, 0);
}

TEST(AcpiFuzz, RootWalkSurvivesRandomMutations) {
  std::mt19937 rng(0x4d5e);
  const Bytes root = table("XSDT", 1, root_body({0x10000, 0x11000}, true));
  const Bytes r = rsdp(2, 0x30000, 0x20000);
  auto dir = std::make_unique<TableDirectory>();
  for (int round = 0; round < 10000; ++round) {
    SimMemory mem;
    mem.place(0x10000, rng() % 2 ? mutate(qemu_like_madt(), rng) : qemu_like_madt());
    mem.place(0x11000, table("SRAT", 3, Bytes(12, 0)));
    mem.place(0x20000, rng() % 2 ? mutate(root, rng) : root);
    Bytes rb = rng() % 4 == 0 ? mutate(r, rng) : r;
    ParseDiagnostic d;
    if (read_root(Heap(rb).span(), mem.reader(), dir.get(), &d).ok()) {
      EXPECT_LE(dir->count, kMaxTables);
      auto t = find_table(*dir, mem.reader(), "APIC", 0, &d);
      if (t.ok()) {
        MadtInfo* info = new MadtInfo;
        (void)parse_madt(*t, info, &d);
        delete info;
      }
    }
  }
}

}  // namespace
}  // namespace exo::acpi
