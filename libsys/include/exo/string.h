// The C string and memory functions libsys provides (ring 3 has no libc).
#pragma once

#include <stddef.h>

extern "C" {
void* memcpy(void* dest, const void* src, size_t n);
void* memmove(void* dest, const void* src, size_t n);
void* memset(void* dest, int value, size_t n);
int memcmp(const void* a, const void* b, size_t n);
void* memchr(const void* s, int c, size_t n);
size_t strlen(const char* s);
size_t strnlen(const char* s, size_t max);
int strcmp(const char* a, const char* b);
int strncmp(const char* a, const char* b, size_t n);
char* strchr(const char* s, int c);
char* strrchr(const char* s, int c);
// Copies at most size - 1 bytes and always terminates (size > 0); returns strlen(src).
size_t strlcpy(char* dest, const char* src, size_t size);
}
