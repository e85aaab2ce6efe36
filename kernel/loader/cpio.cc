// Initrd archive reader for cpio "newc" (070701), as described in cpio(5) ("New ASCII Format").
#include "kernel/loader/cpio.h"

#include "kernel/lib/utility.h"

namespace exo::loader {
namespace {

// cpio(5), "New ASCII Format": six magic bytes, then thirteen fields of eight hex digits.
struct NewcHeader {
  char magic[6];
  char ino[8];
  char mode[8];
  char uid[8];
  char gid[8];
  char nlink[8];
  char mtime[8];
  char filesize[8];
  char devmajor[8];
  char devminor[8];
  char rdevmajor[8];
  char rdevminor[8];
  char namesize[8];  // including the NUL
  char check[8];  // 0 for 070701
};
static_assert(sizeof(NewcHeader) == 110);

inline constexpr char kMagic[] = "070701";
inline constexpr char kTrailer[] = "TRAILER!!!";
// The header plus name, and the file data, are each padded to a multiple of four bytes.
inline constexpr usize kAlign = 4;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Precondition: all eight characters are hex digits.
uint32_t hex_field(const char (&field)[8]) {
  uint32_t value = 0;
  for (char c : field) value = value << 4 | static_cast<uint32_t>(hex_digit(c));
  return value;
}

// Checks that [from, to) lies in the archive and is zero. Precondition: from <= to.
Result<void> check_padding(ByteSpan archive, usize from, usize to, ParseDiagnostic* diag) {
  if (to > archive.size()) return fail(diag, "cpio: padding runs past the archive", from);
  for (usize i = from; i < to; ++i) {
    if (archive[i] != 0) return fail(diag, "cpio: non-zero padding", i);
  }
  return {};
}

const char* skip_dot_slash(const char* s) {
  while (s[0] == '.' && s[1] == '/') s += 2;
  return s;
}

bool names_equal_exact(const char* a, const char* b) {
  while (*a != 0 && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

bool names_equal(const char* a, const char* b) {
  return names_equal_exact(skip_dot_slash(a), skip_dot_slash(b));
}

}  // namespace

Result<bool> cpio_next(ByteSpan archive, usize* offset, CpioEntry* out, ParseDiagnostic* diag) {
  usize at = *offset;
  if (!is_aligned(at, kAlign)) return fail(diag, "cpio: entry offset is not 4-aligned", at);
  if (at == archive.size()) return fail(diag, "cpio: archive ends without TRAILER!!!", at);
  if (!archive.contains_range(at, sizeof(NewcHeader))) {
    return fail(diag, "cpio: header runs past the archive", at);
  }
  auto header = load_le<NewcHeader>(archive.data() + at);
  for (usize i = 0; i < 6; ++i) {
    if (header.magic[i] != kMagic[i]) return fail(diag, "cpio: bad magic (not newc 070701)", at);
  }
  // Every field is checked, used or not: a corrupt digit anywhere means a corrupt header.
  for (usize i = offsetof(NewcHeader, ino); i < sizeof(NewcHeader); ++i) {
    if (hex_digit(static_cast<char>(archive[at + i])) < 0) {
      return fail(diag, "cpio: header field is not 8 hex digits", at + i);
    }
  }
  uint32_t mode = hex_field(header.mode);
  uint32_t filesize = hex_field(header.filesize);
  uint32_t namesize = hex_field(header.namesize);

  usize name_at = at + sizeof(NewcHeader);
  if (namesize == 0) return fail(diag, "cpio: name size is 0", at);
  if (!archive.contains_range(name_at, namesize)) {
    return fail(diag, "cpio: name runs past the archive", at);
  }
  const char* name = reinterpret_cast<const char*>(archive.data() + name_at);
  for (usize i = 0; i + 1 < namesize; ++i) {
    if (name[i] == 0) return fail(diag, "cpio: NUL inside the name", name_at + i);
  }
  if (name[namesize - 1] != 0) return fail(diag, "cpio: name not NUL-terminated", name_at);
  // name_at + namesize <= archive.size(), so these cannot wrap.
  usize data_at = align_up(name_at + namesize, kAlign);
  EXO_TRY(check_padding(archive, name_at + namesize, data_at, diag));

  // Exactly "TRAILER!!!": unlike lookups, no "./" prefix is ignored here.
  if (namesize == sizeof(kTrailer) && names_equal_exact(name, kTrailer)) {
    if (filesize != 0) return fail(diag, "cpio: trailer carries data", at);
    return false;
  }
  if (!archive.contains_range(data_at, filesize)) {
    return fail(diag, "cpio: data runs past the archive", at);
  }
  usize next = align_up(data_at + filesize, kAlign);
  EXO_TRY(check_padding(archive, data_at + filesize, next, diag));
  *out = CpioEntry{name, namesize - 1, mode, archive.subspan(data_at, filesize)};
  *offset = next;
  return true;
}

Result<usize> cpio_validate(ByteSpan archive, ParseDiagnostic* diag) {
  usize offset = 0;
  usize count = 0;
  CpioEntry entry;
  while (EXO_TRY(cpio_next(archive, &offset, &entry, diag))) ++count;
  return count;
}

Result<CpioEntry> cpio_find(ByteSpan archive, const char* name, ParseDiagnostic* diag) {
  usize offset = 0;
  CpioEntry entry;
  CpioEntry found{};
  bool any = false;
  while (EXO_TRY(cpio_next(archive, &offset, &entry, diag))) {
    if (names_equal(entry.name, name)) {
      found = entry;
      any = true;
    }
  }
  if (!any) return fail(diag, "cpio: no entry with that name", 0, Error::kNotFound);
  return found;
}

}  // namespace exo::loader
