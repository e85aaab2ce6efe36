// Word splitting and key lookup for the kernel command line.
#include "kernel/lib/cmdline.h"

namespace exo {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Length of the key part of a word (up to '=' or the word's end).
usize key_length(const char* word, usize length) {
  usize n = 0;
  while (n < length && word[n] != '=') ++n;
  return n;
}

bool key_equals(const char* word, usize key_len, const char* key) {
  usize i = 0;
  for (; i < key_len; ++i) {
    if (key[i] == '\0' || key[i] != word[i]) return false;
  }
  return key[i] == '\0';
}

}  // namespace

template <typename Visit>
bool Cmdline::for_each_word(Visit visit) const {
  const char* p = text_;
  while (*p != '\0') {
    while (is_space(*p)) ++p;
    const char* start = p;
    while (*p != '\0' && !is_space(*p)) ++p;
    if (p > start && visit(start, static_cast<usize>(p - start))) return true;
  }
  return false;
}

bool Cmdline::has(const char* flag) const {
  return for_each_word([flag](const char* word, usize length) {
    return key_equals(word, key_length(word, length), flag);
  });
}

bool Cmdline::get(const char* key, char* out, usize capacity) const {
  bool fits = false;
  bool found = for_each_word([&](const char* word, usize length) {
    usize key_len = key_length(word, length);
    if (key_len == length || !key_equals(word, key_len, key)) return false;
    usize value_len = length - key_len - 1;
    fits = value_len < capacity;
    if (fits) {
      for (usize i = 0; i < value_len; ++i) out[i] = word[key_len + 1 + i];
      out[value_len] = '\0';
    }
    return true;
  });
  return found && fits;
}

}  // namespace exo
